import codecs
import gzip

import pytest

from newsbeam.text import (
    FORMAT_FEED,
    FORMAT_HTML,
    FORMAT_JSONL,
    FORMAT_TEXT,
    DecodeError,
    clean_text,
    decode_bytes,
    gunzip_if_needed,
    sniff_format,
    split_sentences,
    stable_id,
    text_fingerprint,
    word_count,
)


def test_decode_prefers_declared_then_utf8_then_detection():
    html = '<html><head><meta charset="windows-1252"></head><body>caf\xe9 \u201cquoted\u201d</body></html>'
    text, enc = decode_bytes(html.encode("cp1252"))
    assert "café “quoted”" in text and enc == "cp1252"
    text, enc = decode_bytes("Grüße aus Köln".encode())
    assert text == "Grüße aus Köln" and enc == "utf-8"
    # the HTTP header wins over the document
    text, _ = decode_bytes("naïve".encode("latin-1"), http_charset="latin-1")
    assert text == "naïve"


def test_decode_skips_a_wrong_declaration():
    body = '<?xml version="1.0" encoding="utf-8"?><p>Ærøskøbing har en havn og en kirke.</p>'.encode("latin-1")
    text, enc = decode_bytes(body)
    assert "Ærøskøbing" in text
    assert enc != "utf-8"


def test_decode_undeclared_legacy_encoding_is_detected():
    body = ("Привет, это новости из долины. " * 20).encode("koi8-r")
    text, _ = decode_bytes(body)
    assert "новости" in text


def test_decode_utf16_with_bom():
    text, _ = decode_bytes(codecs.BOM_UTF16_LE + "hello world".encode("utf-16-le"))
    assert text.endswith("hello world")


def test_binary_is_refused():
    with pytest.raises(DecodeError):
        decode_bytes(bytes(range(256)) * 10)


@pytest.mark.parametrize(
    "head,name,expected",
    [
        (b"<!DOCTYPE html><html>", "page.html", FORMAT_HTML),
        (b"<?xml version='1.0'?><rss version='2.0'>", "feed.xml", FORMAT_FEED),
        (b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'>", "x.txt", FORMAT_FEED),
        (b"<rdf:RDF xmlns:rdf='...'>", "x.rdf", FORMAT_FEED),
        (b"<html><body>not a feed</body></html>", "wrong.xml", FORMAT_HTML),
        (b'{"text": "a"}\n', "rows.jsonl", FORMAT_JSONL),
        (b'{"text": "a"}\n', "rows.dat", FORMAT_JSONL),
        (b"Headline\n\nBody", "article.txt", FORMAT_TEXT),
        (b"Headline\n\nBody", "article", FORMAT_TEXT),
        (b"\xef\xbb\xbf  <!doctype html>", "bom.htm", FORMAT_HTML),
    ],
)
def test_sniff_format_by_content_then_name(head, name, expected):
    assert sniff_format(head, name) == expected


def test_gunzip_limits_expansion():
    bomb = gzip.compress(b"\0" * 5_000_000)
    with pytest.raises(ValueError):
        gunzip_if_needed(bomb, limit=1_000_000)
    assert gunzip_if_needed(gzip.compress(b"abc"), limit=10) == b"abc"
    assert gunzip_if_needed(b"plain", limit=10) == b"plain"


def test_clean_text_normalises():
    raw = "Cafe\u0301\u00a0 bar\r\n\r\n\r\n\tnext\x07 line  "
    assert clean_text(raw) == "Café bar\n\nnext line"


def test_fingerprint_ignores_layout_and_case():
    a = text_fingerprint("The talks resumed.\n\nBoth sides agreed!")
    b = text_fingerprint("the talks  resumed   both sides AGREED")
    c = text_fingerprint("The talks stalled. Both sides agreed!")
    assert a == b != c
    assert len(stable_id("url", "https://x.example/a")) == 32


def test_split_sentences_respects_abbreviations():
    text = "Mr. Brask met Gen. Kask in the U.S. embassy. They talked for 3 hours! Then they left.\nNew paragraph"
    assert split_sentences(text) == [
        "Mr. Brask met Gen. Kask in the U.S. embassy.",
        "They talked for 3 hours!",
        "Then they left.",
        "New paragraph",
    ]
    assert word_count("one, two three") == 3


def test_boilerplate_lines_are_recognised():
    from newsbeam.text import article_sentences, is_boilerplate

    for line in ("RELATED: Did the rebels take the pass?", "Skip to main content", "By Mara Quell",
                 "Soldiers at the gate REUTERS/Ann Smith", "Sign up for our newsletter", "NPR logo"):
        assert is_boilerplate(line), line
    for line in ("The rebels took the pass on Monday.", "By noon the talks had resumed in the capital of the province."):
        assert not is_boilerplate(line), line
    assert article_sentences("Talks resumed.\nRELATED: Older talks\nBoth sides met.") == ["Talks resumed.", "Both sides met."]


def test_text_file_headline_skips_page_furniture():
    from newsbeam.reading import _text_file_document

    doc = _text_file_document("a.txt", "Skip to main content\n\nVeloria talks resume\n\nVeloria talks resume\nDelegates met on Monday.", None)
    assert doc.title_hint == "Veloria talks resume"
    assert doc.body == "Delegates met on Monday."
