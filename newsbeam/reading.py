"""Reading local (or object-store) inputs, without Beam: globs to files, files to
documents, feed entries and error rows.

The format of each file is chosen by its content as well as its name (see
``newsbeam.text.sniff_format``); gzip is recognised by its magic number. The batch
pipeline's ``MatchInputs`` and ``ReadLocalInputs`` (``newsbeam.transforms.read``) run
``match_input`` and ``read_file`` and route what they give.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator

from newsbeam import storage
from newsbeam.feeds import FeedError, parse_feed
from newsbeam.fields import BAD_FIELD, parse_date, text_field
from newsbeam.records import KIND_HTML, KIND_TEXT, STAGE_READ, Failure, FeedItem, RawDocument
from newsbeam.text import (
    FORMAT_FEED,
    FORMAT_HTML,
    FORMAT_JSONL,
    MAX_ARTICLE_CHARS,
    DecodeError,
    cap_text,
    clean_text,
    decode_bytes,
    gunzip_if_needed,
    is_boilerplate,
    language_code,
    sniff_format,
    without_surrogates,
)

LOGGER = logging.getLogger(__name__)


def printable_path(path: str) -> str:
    """A path as text that can be stored: bytes that are not UTF-8 become U+FFFD."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def unreadable_local_file(path: str) -> tuple[str, str] | None:
    """Why a matched local path must not be opened, as (error type, message), or None.

    A name that is not valid UTF-8 cannot travel through the pipeline as text; a FIFO,
    socket or device would block the reader for ever (while the run holds the output
    lock); a link to nothing cannot be read. Each becomes an error row, never a crash.
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "UndecodableFileName", "the file name is not valid UTF-8"
    try:
        mode = os.stat(path).st_mode  # follows links: the target is what would be opened
    except FileNotFoundError:
        return "BrokenLink", "the path is a link to nothing" if os.path.islink(path) else "the file vanished"
    except OSError as exc:
        return type(exc).__name__, str(exc)
    if not stat.S_ISREG(mode):
        kind = "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device or other special file"
        return "NotARegularFile", f"a {kind}, not a regular file: never opened"
    return None


_GLOB_CHARS = frozenset("*?[")


def _glob_root(pattern: str) -> str:
    """The directory a local glob (or a directory) cannot leave: its part before the first wildcard."""
    if os.path.isdir(pattern):
        return os.path.realpath(pattern)
    parts = pattern.split(os.sep)
    first_wild = next((i for i, part in enumerate(parts) if _GLOB_CHARS & set(part)), len(parts) - 1)
    return os.path.realpath(os.sep.join(parts[:first_wild]) or ".")


def expand_local(pattern: str, follow_links: bool = False):
    """Yield ``(path, size)`` for each regular file a local glob or directory names, and
    ``(path, (error type, message))`` for each thing it names but must not read.

    Nothing is skipped silently: a link to nothing (``BrokenLink``), a link out of the
    input's tree (``LinkOutsideInput``, unless ``follow_links``: a link to /etc/passwd is
    not an article), a subdirectory that cannot be listed (``UnreadableDirectory``), a
    FIFO, socket or device, or a name that is not UTF-8 (``unreadable_local_file``).
    Links inside the tree are followed; linked directories are not descended into.
    """
    import glob as globlib

    root = _glob_root(pattern)
    problems: list[tuple[str, tuple[str, str]]] = []
    if os.path.isdir(pattern):
        def unreadable(err: OSError):
            problems.append((err.filename or pattern, ("UnreadableDirectory", err.strerror or str(err))))

        candidates = []
        for dirpath, dirnames, filenames in os.walk(pattern, onerror=unreadable):
            candidates += [os.path.join(dirpath, name) for name in sorted(filenames)]
            candidates += [os.path.join(dirpath, name) for name in sorted(dirnames) if os.path.islink(os.path.join(dirpath, name))]
    else:
        candidates = sorted(globlib.glob(pattern, recursive=True))
    yield from problems
    for path in candidates:
        if os.path.islink(path):
            target = os.path.realpath(path)
            if not os.path.exists(target):
                yield path, ("BrokenLink", "the path is a link to nothing")
                continue
            if not follow_links and os.path.commonpath([root, target]) != root:
                yield path, ("LinkOutsideInput", f"a link out of the input tree (to {target}); read.follow_links allows it")
                continue
            if os.path.isdir(target):
                yield path, ("LinkedDirectory", "a link to a directory: not descended into (name the directory itself)")
                continue
        elif os.path.isdir(path):
            continue  # a glob matched a directory: its files are matched by their own names
        problem = unreadable_local_file(path)
        if problem:
            yield path, problem
            continue
        try:
            yield path, os.stat(path).st_size
        except OSError as exc:
            yield path, (type(exc).__name__, str(exc))


def match_input(pattern: str, source: str | None, follow_links: bool = False) -> Iterator[tuple[str, int | None, str | None] | Failure]:
    """One input glob (or directory) as ``(path, size, source)`` per file, or error rows
    (a glob that matches nothing is a warning and a ``NoMatch`` row)."""
    found = False
    if storage.is_local(pattern):
        for path, outcome in expand_local(pattern, follow_links):
            found = True
            yield Failure(STAGE_READ, printable_path(path), *outcome) if isinstance(outcome, tuple) else (path, outcome, source)
    else:
        try:
            matched = storage.match(pattern)
        except Exception as exc:  # noqa: BLE001 - an unreadable glob is an error row
            yield Failure(STAGE_READ, pattern, type(exc).__name__, str(exc))
            return
        for path, size in matched:
            found = True
            yield path, size, source
    if not found:
        LOGGER.warning("input %s matched no file", pattern)
        yield Failure(STAGE_READ, pattern, "NoMatch", "the input glob matched no file")


def _text_file_document(path: str, text: str, source: str | None) -> RawDocument:
    """A ``.txt`` article: the first non-empty line is the headline, the rest the body."""
    text = clean_text(text)
    # A saved page can open with its navigation ("Skip to main content"): the headline
    # is the first line that is not page furniture.
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip() and not is_boilerplate(line)), 0)
    title, body = lines[first].strip(), "\n".join(lines[first + 1 :]).strip()
    # Many exports repeat the headline as the first line of the body.
    first, _, rest = body.partition("\n")
    if first.strip() == title.strip():
        body = rest.strip()
    return RawDocument(input=path, kind=KIND_TEXT, body=body, title_hint=title or None, source=source)


def jsonl_documents(path: str, text: str, source: str | None, max_article_chars: int = MAX_ARTICLE_CHARS):
    """Yield a RawDocument or a Failure for every non-blank line of a JSON Lines file.

    A line longer than four times ``max_article_chars`` is an error row before it is
    parsed (parsing and normalising a 100 MB line takes gigabytes); a text longer than
    ``max_article_chars`` is cut there, at a word boundary.
    """
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        ident = f"{path}:{lineno}"
        if len(line) > 4 * max_article_chars:
            yield Failure(STAGE_READ, ident, "TooLarge",
                          f"a line of {len(line)} characters exceeds 4 x read.max_article_chars={max_article_chars}")
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("a line must hold a JSON object")
            body = row.get("text")
            if not isinstance(body, str) or not body.strip():
                raise ValueError("missing or empty 'text'")
        except (ValueError, OverflowError, TypeError, RecursionError) as exc:
            yield Failure(STAGE_READ, ident, "BadJsonLine", str(exc) if not isinstance(exc, RecursionError) else "JSON nested too deeply")
            continue
        doc, problems = _jsonl_document(row, body, ident, path, source, max_article_chars)
        yield doc
        for problem in problems:
            yield Failure(STAGE_READ, doc.input, BAD_FIELD, problem)


def _jsonl_document(row: dict, body: str, ident: str, path: str, source: str | None,
                    max_article_chars: int) -> tuple[RawDocument, list[str]]:
    """A JSON line's document, with each field of the wrong type or value dropped to null
    and named in the problems (``newsbeam.fields``: one rule for every input kind)."""
    problems: list[str] = []
    body, replaced = without_surrogates(body)
    if replaced:
        problems.append("text: lone surrogate code points replaced by U+FFFD")
    published, why = parse_date(row.get("published_at"))
    if why:
        problems.append(f"published_at: {why}")
    row_id = row.get("id")
    if isinstance(row_id, bool) or not isinstance(row_id, (str, int, float, type(None))):
        problems.append(f"id: expected a string or a number, got {type(row_id).__name__}")
        row_id = None
    if isinstance(row_id, str):
        row_id, replaced = without_surrogates(row_id)
        if replaced:
            problems.append("id: lone surrogate code points replaced by U+FFFD")
    doc = RawDocument(
        input=f"{path}#{row_id}" if row_id is not None else ident,
        kind=KIND_TEXT,
        body=cap_text(clean_text(body), max_article_chars),
        url=text_field(row, "url", problems),
        title_hint=text_field(row, "title", problems),
        author_hint=text_field(row, "author", problems),
        published_hint=published,
        language_hint=language_code(text_field(row, "language", problems)),
        id_hint=str(row_id) if row_id is not None else None,
        source=text_field(row, "source", problems) or source,
    )
    return doc, problems


def read_local_file(path: str, data: bytes, source: str | None, max_bytes: int, max_article_chars: int = MAX_ARTICLE_CHARS):
    """Turn one file's bytes into RawDocuments, FeedItems or Failures (a generator)."""
    data = gunzip_if_needed(data, max_bytes)
    fmt = sniff_format(data[:4096], path)
    if fmt == FORMAT_FEED:
        try:
            items = parse_feed(data, path, source)
        except FeedError as exc:
            yield Failure(STAGE_READ, path, "MalformedFeed", str(exc))
            return
        for item in items:
            yield item
            for problem in item.bad_fields:
                yield Failure(STAGE_READ, item.identity, BAD_FIELD, problem)
        return
    text, _ = decode_bytes(data)
    if not text.strip():
        yield Failure(STAGE_READ, path, "EmptyFile", "the file holds no text")
    elif fmt == FORMAT_HTML:
        yield RawDocument(input=path, kind=KIND_HTML, body=text, source=source)
    elif fmt == FORMAT_JSONL:
        yield from jsonl_documents(path, text, source, max_article_chars)
    else:
        yield _text_file_document(path, text, source)


def read_file(path: str, size: int | None, source: str | None, max_bytes: int,
              max_article_chars: int = MAX_ARTICLE_CHARS) -> list[RawDocument | FeedItem | Failure]:
    """One matched file's documents, feed entries and error rows; one bad file is an error row."""
    if size is not None and size > max_bytes:
        return [Failure(STAGE_READ, path, "TooLarge", f"{size} bytes exceeds read.max_file_bytes={max_bytes}")]
    try:
        data = storage.read_bytes(path, limit=max_bytes)
        return list(read_local_file(path, data, source, max_bytes, max_article_chars))
    except DecodeError as exc:
        return [Failure(STAGE_READ, path, "Undecodable", str(exc))]
    except Exception as exc:  # noqa: BLE001 - one bad file never stops the run
        return [Failure(STAGE_READ, path, type(exc).__name__, str(exc))]
