"""From a RawDocument to an Article: clean text and metadata (trafilatura for HTML pages).

Pure functions plus a small ``Extractor`` that holds what is costly to make (the language
identifier), so a DoFn builds one in ``setup()`` and tests use it directly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import threading

from newsbeam import ids
from newsbeam.records import (
    KIND_FRAGMENT,
    KIND_HTML,
    UTC,
    Article,
    RawDocument,
)
from newsbeam.text import MAX_ARTICLE_CHARS, cap_text, clean_text, language_code, text_fingerprint, word_count
from newsbeam.urls import canonicalize_url, host_of

LOGGER = logging.getLogger(__name__)

# The extraction libraries log a page they cannot parse at ERROR ("empty HTML tree"), on
# every process that extracts, the local pool's workers included. A bad page is already
# an error row with its reason; their lines go through this module's logger at DEBUG.
LIBRARY_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext", "readability")


class _LibraryToDebug(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if LOGGER.isEnabledFor(logging.DEBUG):
            LOGGER.debug("%s: %s", record.name, record.getMessage())


def route_library_logging() -> None:
    """Send the extraction libraries' log records to LOGGER at DEBUG (idempotent)."""
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        if not any(isinstance(h, _LibraryToDebug) for h in library.handlers):
            library.addHandler(_LibraryToDebug())
        library.propagate = False


route_library_logging()

# Language identification on more text buys nothing and costs linearly; a thousand
# characters (two paragraphs) identify a news article's language reliably.
LANGID_CHARS = 1000
# Below this, language identification guesses; leave the language unknown instead.
LANGID_MIN_CHARS = 40

_BLOCK_TAGS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre tr table section article header "
    "footer aside figure figcaption dd dt dl hr address main nav".split()
)
_DROP_TAGS = ("script", "style", "noscript", "iframe", "form", "svg", "button", "object", "embed", "template")
# WordPress and FeedBurner append these to full-text feed entries.
_FEED_BOILERPLATE = re.compile(
    r"^(the post .{1,300} appeared first on .{1,200}|continue reading.{0,40}|read more.{0,40}|"
    r"submitted by .{1,100}|\[link\]\s*\[comments\])$",
    re.I,
)


class ExtractionError(Exception):
    """The document yielded no usable article; ``error_type`` names why."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


def fragment_text(html: str) -> str:
    """Text of an HTML fragment (a feed entry's body), one paragraph per block element."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return ""
    for bad in root.iter(*_DROP_TAGS):
        bad.drop_tree()
    parts: list[str] = []
    for event, el in lxml.etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if el.text and tag:
                parts.append(el.text)
        else:
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if el.tail and el is not root:
                parts.append(el.tail)
    lines = [ln for ln in clean_text("".join(parts)).split("\n")]
    while lines and (not lines[-1].strip() or _FEED_BOILERPLATE.match(lines[-1].strip())):
        lines.pop()
    return "\n".join(lines).replace("\n\n", "\n").strip()


def _page_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


# Full timestamps that pages publish beside the day trafilatura reports.
_META_TIMESTAMP = re.compile(
    r"""(?:article:published_time|og:published_time|"datePublished")["']?\s*(?:content=|:)\s*["']"""
    r"""(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))""",
    re.I,
)
HEAD_BYTES = 200_000


def page_timestamp(html: str) -> dt.datetime | None:
    """The publication timestamp in a page's meta tags or JSON-LD, if it gives a time zone."""
    # Meta tags and JSON-LD sit in the head; scanning a whole large page cost more than
    # the rest of the metadata work together (profiled).
    end = html.find("</head>", 0, HEAD_BYTES)
    match = _META_TIMESTAMP.search(html, 0, end if end > 0 else HEAD_BYTES // 4)
    if not match:
        return None
    try:
        return dt.datetime.fromisoformat(match.group(1).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


# Publication dates outside this range are typos, epoch zeros or clock errors, not news:
# they are treated as unknown. A day of slack in the future covers time zones.
EARLIEST_PUBLISHED = dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc)
FUTURE_SLACK = dt.timedelta(days=1)


def plausible_date(ts: dt.datetime | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """``ts`` if it can be a publication date (1900 to a day from now), else None."""
    if ts is None:
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    return ts if EARLIEST_PUBLISHED <= ts <= now + FUTURE_SLACK else None


def choose_published(page: dt.datetime | None, hint: dt.datetime | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """The page's date wins; the container's timestamp is kept when the page has none,
    or when it falls on the page's date (it is more precise than a day). A date that
    cannot be a publication date (``plausible_date``) counts as none."""
    page, hint = plausible_date(page, now), plausible_date(hint, now)
    if page is None:
        return hint
    if hint is not None and hint.date() == page.date():
        return hint
    return page


# trafilatura's fast path (no fallback extractors) gives the same text as its full path on
# all but one of the 80 fundus pages, in three quarters of the time; the exception came
# out of the fast path with 2 % of the page's paragraph text. So the fast path runs first,
# and the full one only when the fast text is below this share of the text in the page's
# <p> elements (benchmarks/NOTES.md).
FALLBACK_SHARE = 0.2
# trafilatura (2.3) ends its extraction with a recall escalation: when the text is short
# (under ESCALATION_MAX_LENGTH characters) it renders the whole page to text to see whether
# the text covers little of it, and if so extracts again. That page render is a fifth of
# the fast path's cost (fundus pages: 19.3 against 15.5 ms a page), and the fallback rule
# above asks the same question more cheaply. So the fast path runs without the escalation
# (the limit at 0) and the full path, where the rule sends a page, with it: it is what
# rescues the one fundus page the fast path cuts. The limit is a module constant, so both
# calls hold one lock; with the GIL, threads of a worker do not run trafilatura in
# parallel anyway. Without that constant (another trafilatura), both paths run as shipped.
_ESCALATION_LOCK = threading.Lock()


@contextlib.contextmanager
def _without_escalation(core):
    saved = getattr(core, "ESCALATION_MAX_LENGTH", None)
    if not isinstance(saved, int):
        yield
        return
    core.ESCALATION_MAX_LENGTH = 0
    try:
        yield
    finally:
        core.ESCALATION_MAX_LENGTH = saved


def paragraph_chars(tree) -> int:
    """Characters of text inside the page's <p> elements: what a reader would call the page's prose."""
    return sum(len(t.strip()) for t in tree.xpath("//p//text()"))


def declared_language(tree) -> str | None:
    """The ISO 639 code a page declares on its <html> element (``lang="en-US"``: en)."""
    return language_code(tree.getroottree().getroot().get("lang"))


def page_metadata(tree, url: str | None):
    """trafilatura's metadata of a page (its ``extract_metadata``, same steps and order)
    without the categories, tags and licence, which newsbeam does not keep and which cost
    more than the rest together: 1.35 against 3.4 ms a page, the same title, author,
    date, site name and URL on 160 bench pages (benchmarks/NOTES.md)."""
    from trafilatura.metadata import (
        META_URL,
        examine_meta,
        extract_author,
        extract_meta_json,
        extract_sitename,
        extract_title,
        extract_url,
        find_date,
        set_date_params,
    )

    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception as exc:  # noqa: BLE001 - trafilatura guards its JSON-LD parser the same way
        LOGGER.debug("JSON-LD metadata of %s: %s", url, exc)
    metadata.title = metadata.title or extract_title(tree)
    metadata.author = metadata.author or extract_author(tree)
    metadata.url = metadata.url or extract_url(tree, url)
    # trafilatura's fast path searches dates extensively (bare_extraction passes fast as
    # the extensive flag): the same date whichever path the text comes from.
    metadata.date = find_date(tree, **{**set_date_params(True), "url": metadata.url})
    metadata.sitename = metadata.sitename or extract_sitename(tree)
    if metadata.sitename:
        metadata.sitename = metadata.sitename.lstrip("@")
        if metadata.sitename and "." not in metadata.sitename and not metadata.sitename[0].isupper():
            metadata.sitename = metadata.sitename.title()
    elif metadata.url and (match := META_URL.match(metadata.url)):
        metadata.sitename = match[1]
    metadata.clean_and_trim()
    return metadata


def extract_page(html: str, url: str | None):
    """trafilatura's text of a page, its metadata, and the language the page declares.

    The fast path runs first, the full one where the fast text looks cut. The page is
    parsed once; trafilatura works on a copy of the tree, so the fallback reuses it, and
    the metadata is read once from it whichever path gives the text.
    """
    import trafilatura
    import trafilatura.core

    tree = trafilatura.load_html(html)
    if tree is None:
        return None, None, None
    options = dict(url=url, with_metadata=False, include_comments=False, include_tables=True, deduplicate=False)
    with _ESCALATION_LOCK, _without_escalation(trafilatura.core):
        result = trafilatura.bare_extraction(tree, fast=True, **options)
    got = len((result.text or "").strip()) if result is not None else 0
    if got < FALLBACK_SHARE * paragraph_chars(tree):
        with _ESCALATION_LOCK:
            full = trafilatura.bare_extraction(tree, fast=False, **options)
        if full is not None and len((full.text or "").strip()) > got:
            result = full
    if result is None:
        return None, None, None
    return result, page_metadata(tree, url), declared_language(tree)


def _strip_leading_title(text: str, title: str | None) -> str:
    if not title:
        return text
    first, _, rest = text.partition("\n")
    return rest.strip() if first.strip() == title.strip() else text


def _local_source(path: str) -> str | None:
    if "://" in path:
        return None
    # A local file without a URL is labelled by its folder ("seeds", "exports", ...).
    return os.path.basename(os.path.dirname(path.split("#")[0])) or None


class Extractor:
    """Extract Articles from RawDocuments. Build once per worker: it loads a language model."""

    def __init__(self, min_words: int, max_chars: int = MAX_ARTICLE_CHARS):
        self.min_words = min_words
        self.max_chars = max_chars
        # The language identifier (a 75 MB model, about 0.7 s to load) is loaded on first
        # use: feeds and pages that declare their language never need it, and every worker
        # process of a run would otherwise pay for it at start-up.
        self._langid = None
        self._langid_lock = threading.Lock()

    def _identifier(self):
        with self._langid_lock:
            if self._langid is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                self._langid = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
        return self._langid

    def language(self, text: str) -> str | None:
        sample = text[:LANGID_CHARS]
        if len(sample) < LANGID_MIN_CHARS:
            return None
        return self._identifier().classify(sample)[0]

    def extract(self, doc: RawDocument) -> Article:
        """Raises ``ExtractionError`` when no article comes out of the document."""
        meta_title = meta_author = meta_site = meta_url = meta_lang = None
        page_date = None
        if doc.kind == KIND_HTML:
            result, meta, declared = extract_page(doc.body, doc.final_url or doc.url)
            if result is None or not (result.text or "").strip():
                raise ExtractionError("EmptyExtraction", "trafilatura found no article text in the page")
            text = clean_text(result.text)
            meta_title, meta_author, meta_site = meta.title, meta.author, meta.sitename
            # A language the page declares (<html lang>) is taken as given, like a feed's:
            # language identification then does not run (about 1 ms a page).
            meta_url, meta_lang = meta.url, declared
            page_date = _page_date(meta.date)
            stamp = page_timestamp(doc.body) if page_date else None
            if stamp is not None and stamp.date() == page_date.date():
                page_date = stamp
        elif doc.kind == KIND_FRAGMENT:
            text = fragment_text(doc.body)
        else:
            text = clean_text(doc.body)

        title = clean_text(meta_title or doc.title_hint or "") or None
        text = cap_text(_strip_leading_title(text, title), self.max_chars)
        words = word_count(text)
        if words == 0:
            raise ExtractionError("EmptyExtraction", "the document holds no text")
        if words < self.min_words:
            raise ExtractionError(
                "TooShort", f"{words} words is below read.min_words={self.min_words}"
            )
        url = doc.url or doc.final_url or meta_url
        canonical = doc.canonical_url or canonicalize_url(doc.final_url or url)
        fingerprint = text_fingerprint(text)
        article_id = ids.article_id(canonical, fingerprint)
        source = doc.source or meta_site or host_of(canonical) or _local_source(doc.input)
        return Article(
            article_id=article_id,
            url=url,
            canonical_url=canonical,
            source=clean_text(source) if source else None,
            title=title,
            author=clean_text(meta_author or doc.author_hint or "") or None,
            published_at=choose_published(page_date, doc.published_hint, doc.fetched_at),
            fetched_at=doc.fetched_at,
            language=language_code(doc.language_hint) or meta_lang or self.language(text),
            text=text,
            word_count=words,
            text_fingerprint=fingerprint,
            input=doc.input,
            final_url=doc.final_url,
        )
