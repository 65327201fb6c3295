import gzip

import pytest

from newsbeam.feeds import FeedError, parse_feed
from newsbeam.reading import read_local_file
from newsbeam.records import Failure, FeedItem
from tests.conftest import FIXTURES, REPO

SAMPLES = REPO / "configs" / "samples"


def test_rss2_with_content_encoded():
    items = parse_feed((SAMPLES / "valley-wire.rss").read_bytes(), "valley-wire.rss")
    assert len(items) == 2
    first = items[0]
    assert first.feed_title == "Valley Wire"
    assert first.url.startswith("https://wire.example.com/2026/10/30/")
    assert first.author == "Jonas Reed"
    assert first.published_at.isoformat() == "2026-10-30T09:15:00+00:00"
    assert "Envoys for the government" in first.content_html
    assert first.language == "en"


def test_atom_with_html_content():
    (item,) = parse_feed((SAMPLES / "lakes-council.atom").read_bytes(), "x.atom")
    assert item.title == "Statement on the Tarn strike"
    assert "<p>" in item.content_html
    assert item.author == "Lakes Council Secretariat"


def test_rss1_rdf_and_relative_dates():
    items = parse_feed((FIXTURES / "rdf-feed.rdf").read_bytes(), "x.rdf")
    assert [i.title for i in items] == ["Old bridge at Tarn reopens after repairs", "Short teaser only"]
    assert items[0].published_at.isoformat() == "2026-11-05T06:00:00+00:00"
    assert items[1].content_html is None and items[1].summary_html


def test_relative_links_resolve_against_self_link():
    feed = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
    <link rel="self" href="https://blog.example.net/index.atom"/><link href="/blog/"/><title>B</title>
    <entry><title>T</title><link href="/blog/2026/post"/><id>1</id><content type="html">x</content></entry></feed>"""
    (item,) = parse_feed(feed, "local.atom")
    assert item.url == "https://blog.example.net/blog/2026/post"


@pytest.mark.parametrize("data", [b"", b"   ", b"<rss><channel><item><title>unterminated"])
def test_malformed_or_empty_feeds_raise(data):
    with pytest.raises(FeedError):
        parse_feed(data, "bad.xml")


def test_gzip_feed_file_is_read_as_feed(tmp_path):
    data = gzip.compress((SAMPLES / "valley-wire.rss").read_bytes())
    records = list(read_local_file(str(tmp_path / "feed.xml.gz"), data, None, 10_000_000))
    assert len(records) == 2 and all(isinstance(r, FeedItem) for r in records)


def test_malformed_feed_file_is_a_failure(tmp_path):
    records = list(read_local_file(str(tmp_path / "x.rss"), b"<?xml version='1.0'?><rss><channel><item>", None, 10**6))
    assert len(records) == 1 and isinstance(records[0], Failure)
    assert records[0].error_type == "MalformedFeed"
