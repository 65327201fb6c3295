"""Pure text helpers: decoding bytes, sniffing formats, normalising and fingerprinting text."""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
import unicodedata
import zlib

LOGGER = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"

# How far into a document to look for a declared charset or a format marker: declarations
# must appear early (HTML5 requires the meta charset in the first 1024 bytes).
SNIFF_BYTES = 4096

# An article's text is cut at this many characters by default (read.max_article_chars):
# the longest news features run to some 100,000; past that is a dump, not an article.
MAX_ARTICLE_CHARS = 500_000

# Below this many non-ASCII bytes, statistical charset detection is a guess.
MIN_DETECTION_BYTES = 40

FORMAT_HTML = "html"
FORMAT_FEED = "feed"
FORMAT_JSONL = "jsonl"
FORMAT_TEXT = "text"

_EXTENSION_FORMATS = {
    ".html": FORMAT_HTML,
    ".htm": FORMAT_HTML,
    ".xhtml": FORMAT_HTML,
    ".txt": FORMAT_TEXT,
    ".text": FORMAT_TEXT,
    ".jsonl": FORMAT_JSONL,
    ".ndjson": FORMAT_JSONL,
    ".xml": FORMAT_FEED,
    ".rss": FORMAT_FEED,
    ".atom": FORMAT_FEED,
    ".rdf": FORMAT_FEED,
}

_FEED_ROOT = re.compile(rb"<(?:[\w-]+:)?(rss|feed|rdf|channel)\b", re.I)
_HTML_ROOT = re.compile(rb"<(!doctype\s+html|html\b|head\b|body\b|article\b|div\b|p\b)", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w:.-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([\w:.-]+)["']""", re.I)


class DecodeError(ValueError):
    """Bytes that are not text in any encoding we can trust."""


def gunzip_if_needed(data: bytes, limit: int) -> bytes:
    """Decompress gzip data (by magic number, not by name), refusing more than ``limit`` bytes.

    The limit is enforced while decompressing, so a small "zip bomb" cannot expand into
    memory whole.
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decomp.decompress(data, limit + 1)
    if len(out) > limit:
        raise ValueError(f"decompressed size exceeds {limit} bytes")
    return out




def sniff_format(head: bytes, name: str) -> str:
    """The format of a document from its first bytes, falling back on its file name.

    Content wins over the extension when it is unambiguous: an ``.xml`` file holding an
    HTML page is HTML, and a ``.html`` file holding an RSS document is a feed.
    """
    lowered = name.lower()
    for suffix in (".gz", ".gzip"):
        if lowered.endswith(suffix):
            lowered = lowered[: -len(suffix)]
    by_ext = next(
        (fmt for ext, fmt in _EXTENSION_FORMATS.items() if lowered.endswith(ext)), None
    )
    start = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")[:SNIFF_BYTES]
    if start.startswith(b"{") and by_ext in (None, FORMAT_JSONL, FORMAT_TEXT):
        return FORMAT_JSONL
    if start.startswith(b"<"):
        feed = _FEED_ROOT.search(start)
        html = _HTML_ROOT.search(start)
        if feed and (not html or feed.start() < html.start()):
            return FORMAT_FEED
        if html:
            return FORMAT_HTML
        if start.startswith(b"<?xml"):
            return FORMAT_FEED
    return by_ext or FORMAT_TEXT


def looks_binary(data: bytes) -> bool:
    """True for data that is not text: NUL bytes or many control characters up front.

    UTF-16 text has NULs too, so a BOM exempts it.
    """
    sample = data[:SNIFF_BYTES]
    if not sample or sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return controls > len(sample) * 0.05


def declared_encoding(data: bytes) -> str | None:
    """Encoding declared by a BOM, an XML declaration or an HTML meta tag, if valid."""
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return name
    head = data[:SNIFF_BYTES]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    if not match:
        return None
    return _known_codec(match.group(1).decode("ascii", "ignore"))


def _known_codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def decode_bytes(data: bytes, http_charset: str | None = None) -> tuple[str, str]:
    """Decode document bytes to text; returns ``(text, encoding)``.

    Order: the transport's charset (HTTP header), the document's own declaration, strict
    UTF-8, then statistical detection. A declaration that fails to decode is skipped
    rather than trusted (mislabelled pages are common). Raises ``DecodeError`` when the
    bytes are not text.
    """
    if looks_binary(data):
        raise DecodeError("binary content (NUL or control bytes), not a text document")
    candidates = [_known_codec(http_charset), declared_encoding(data), "utf-8"]
    seen = set()
    for enc in candidates:
        if not enc or enc in seen:
            continue
        seen.add(enc)
        try:
            return data.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    non_ascii = sum(1 for b in data[:200_000] if b > 0x7F)
    if non_ascii < MIN_DETECTION_BYTES:
        # Too little evidence for statistics (a short sample looks like anything, often
        # CJK); windows-1252 is what browsers assume for undeclared Western pages.
        return data.decode("cp1252", errors="replace"), "cp1252"
    from charset_normalizer import from_bytes  # imported lazily: only mislabelled input

    best = from_bytes(data[:200_000]).best()
    if best is None or best.encoding is None:
        raise DecodeError("undecodable bytes: no declared or detectable text encoding")
    return data.decode(best.encoding, errors="replace"), best.encoding


_WS = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANKS = re.compile(r"\n\s*\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_LANGUAGE = re.compile(r"^\s*([a-z]{2,3})(?:[-_][a-z0-9]+)*\s*$", re.I)
# Lone UTF-16 surrogates: valid in a JSON escape ("\udfff"), not in UTF-8 (nor Parquet).
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def plural(n: int, word: str) -> str:
    """``1 partition``, ``2 partitions``: counts in messages and the report read right."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def language_code(value: str | None) -> str | None:
    """One language rule for every input (a JSON line's ``language``, a feed's, an HTML
    ``lang``, an API argument): the ISO 639 code in lower case, without region or script
    (``en-US``, ``EN``, ``en_GB`` -> ``en``); None for a value that is not a language tag."""
    if not value or not isinstance(value, str):
        return None
    match = _LANGUAGE.match(value)
    return match.group(1).lower() if match else None


def without_surrogates(text: str) -> tuple[str, bool]:
    """The text with every lone surrogate replaced by U+FFFD, and whether there was one."""
    if _SURROGATE.search(text) is None:
        return text, False
    return _SURROGATE.sub("\ufffd", text), True


def clean_text(text: str) -> str:
    """NFC-normalise, drop control characters, collapse runs of spaces and blank lines."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_WS.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


_WORD = re.compile(r"\w+", re.UNICODE)


def word_count(text: str) -> int:
    return sum(1 for _ in _WORD.finditer(text))


def text_fingerprint(text: str) -> str:
    """Hash of the text with case, punctuation and whitespace removed.

    Two copies of one article that differ only in layout or typography get the same
    fingerprint; that is what "the same normalised text" means for deduplication.
    """
    norm = unicodedata.normalize("NFKC", text).casefold()
    tokens = _WORD.findall(norm)
    return hashlib.blake2b(" ".join(tokens).encode("utf-8"), digest_size=16).hexdigest()


def stable_id(kind: str, value: str) -> str:
    """A 32-hex-digit id, stable across runs and machines."""
    return hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=16).hexdigest()


# Sentence boundaries: end punctuation followed by space and an upper-case letter, digit
# or opening quote, unless the word before is a common abbreviation.
_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gen", "col", "lt", "sgt", "capt",
    "gov", "st", "jr", "sr", "inc", "ltd", "co", "corp", "vs", "no", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.n", "e.g",
    "i.e", "etc", "approx", "dept", "est", "fig", "maj", "adm", "pres", "rev",
}
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-Ý])")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; paragraphs always end a sentence."""
    out: list[str] = []
    for para in text.split("\n"):
        para = para.strip()
        if not para:
            continue
        start = 0
        for m in _BOUNDARY.finditer(para):
            candidate = para[start : m.start()].strip()
            last = candidate.rsplit(None, 1)[-1].rstrip(".").lower() if candidate else ""
            if last in _ABBREV or (len(last) == 1 and last.isalpha()):
                continue
            if candidate:
                out.append(candidate)
            start = m.end()
        tail = para[start:].strip()
        if tail:
            out.append(tail)
    return out


# Lines that a page carries around an article but that are not the article: navigation,
# cross-links, sharing prompts, bylines, photo captions and credits. They are kept in the
# text (the reader may want them) but never tagged nor quoted as evidence.
_BOILERPLATE_START = re.compile(
    r"^\W*(related( stories| articles| coverage)?|read more|read also|also read|see also|more from|recommended|"
    r"watch|listen|video|photo|image|picture|caption|credit|file photo|skip to|jump to|sign up|subscribe|"
    r"follow us|follow @|share (this|on)|click here|advertisement|sponsored|copyright|all rights reserved|"
    r"updated|published|posted|last modified|this article|this story|editor's note|correction|©)\b\s*[:|\-–—]?",
    re.I,
)
_BYLINE = re.compile(r"^(by|story by|written by|reporting by|editing by|additional reporting by)\s+[A-Z][\w.'-]*(\s+[\w.'-]+){0,5}$", re.I)
_PHOTO_CREDIT = re.compile(
    r"(\b(REUTERS|AFP|AP|EPA|Getty Images|Xinhua|Anadolu|ANADOLU)\b\s*/\s*\w|\((AP|AFP|Reuters|EPA) Photo\b|"
    r"\bPhoto(graph)?:\s|\bImage:\s|\bCredit:\s|/ Getty Images\b|\bvia Getty Images\b)"
)
_LOGO = re.compile(r"\blogo\b", re.I)


def is_boilerplate(sentence: str) -> bool:
    """Whether a line or sentence is page furniture rather than article text."""
    s = sentence.strip()
    if not s:
        return True
    if _BOILERPLATE_START.match(s) or _BYLINE.match(s):
        return True
    # Every photo credit has one of these; most sentences have none (the search is the cost).
    if ("/" in s or ":" in s or "Photo" in s or "Getty" in s) and _PHOTO_CREDIT.search(s):
        return True
    # A logo's alt text or a menu label: a few words with no sentence punctuation.
    return "logo" in s.lower() and bool(_LOGO.search(s)) and len(s.split()) <= 4


def article_sentences(text: str) -> list[str]:
    """The sentences of an article's text that are article, not page furniture."""
    return [s for s in split_sentences(text) if not is_boilerplate(s)]


def cap_text(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at the last white space before it."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip()
