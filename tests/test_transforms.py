"""One TestPipeline test per transform, dead-letter outputs included."""

import datetime as dt

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from newsbeam.layout import ARTICLES, ERRORS
from newsbeam.records import FAILED, KIND_HTML, KIND_TEXT, UTC, Article, FeedItem, RawDocument, RowKey
from newsbeam.settings import ExtractSettings, TagSettings
from newsbeam.transforms.dedup import LOSERS, Dedup
from newsbeam.transforms.extract import ExtractArticles
from newsbeam.transforms.fetch import FetchArticles
from newsbeam.transforms.read import MatchInputs, ReadLocalInputs
from newsbeam.transforms.tag import TagArticles
from newsbeam.transforms.write import WriteShards
from tests.conftest import REPO

SAMPLES = REPO / "configs" / "samples"


def _types(elements):
    return sorted(type(e).__name__ for e in elements)


def test_match_inputs_expands_globs_and_reports_empty_ones(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "b.txt").write_text("y")
    with TestPipeline() as p:
        out = p | beam.Create([(str(tmp_path / "*.txt"), "src"), (str(tmp_path / "*.none"), None)]) | MatchInputs()
        assert_that(out.files | beam.Map(lambda f: (f[0].rsplit("/", 1)[1], f[2])), equal_to([("a.txt", "src"), ("b.txt", "src")]))
        assert_that(out[FAILED] | beam.Map(lambda f: f.error_type), equal_to(["NoMatch"]), label="failed")


def test_read_local_inputs_routes_documents_items_and_failures(tmp_path):
    files = {
        "page.html": (SAMPLES / "veloria-talks-resume.html").read_bytes(),
        "feed.rss": (SAMPLES / "valley-wire.rss").read_bytes(),
        "rows.jsonl": b'{"text": "one two three"}\nnot json\n',
        "junk.bin": bytes(range(256)) * 10,
        "empty.txt": b"",
        "huge.html": b"<html>" + b"a" * 5000,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    specs = [(str(tmp_path / n), len(d), None) for n, d in files.items()]
    with TestPipeline() as p:
        out = p | beam.Create(specs) | ReadLocalInputs(max_bytes=4096)
        assert_that(out.documents | beam.Map(lambda d: d.kind), equal_to([KIND_HTML, KIND_TEXT]))
        assert_that(out.feed_items | beam.Map(lambda i: i.title), equal_to(["Envoys meet in Kestrel Ford to prepare November round", "Drone strike reported in upper valley"]), label="items")
        assert_that(
            out[FAILED] | beam.Map(lambda f: f.error_type),
            equal_to(["BadJsonLine", "EmptyFile", "TooLarge", "Undecodable"]),
            label="failed",
        )


def test_a_file_that_cannot_be_read_is_an_error_row(tmp_path):
    gone = tmp_path / "vanished.html"  # matched, then deleted before it was read
    with TestPipeline() as p:
        out = p | beam.Create([(str(gone), 100, None)]) | ReadLocalInputs(max_bytes=4096)
        assert_that(out.documents, equal_to([]))
        assert_that(out[FAILED] | beam.Map(lambda f: (f.stage, f.input.endswith("vanished.html"))), equal_to([("read", True)]), label="failed")


def test_fetch_articles_uses_full_text_or_reports_links():
    full = FeedItem(feed="f", url="https://a.example/1", title="T", content_html="<p>" + "word " * 40 + "</p>")
    teaser = FeedItem(feed="f", url="https://a.example/2", title="T2", summary_html="short")
    nolink = FeedItem(feed="f", url=None, title="T3", summary_html="short", entry_index=2)
    with TestPipeline() as p:
        out = p | beam.Create([full, teaser, nolink]) | FetchArticles(min_words=20, policy=None)
        assert_that(out["full_text"] | beam.Map(lambda d: (d.input, d.kind)), equal_to([("https://a.example/1", "fragment")]))
        assert_that(out[FAILED] | beam.Map(lambda f: (f.input, f.error_type)), equal_to([("https://a.example/2", "FetchDisabled"), ("f#entry2", "NoLink")]), label="failed")


def test_extract_articles_with_dead_letters():
    good = RawDocument(input="g", kind=KIND_HTML, body=(SAMPLES / "orrin-pass-attack.html").read_text())
    empty = RawDocument(input="e", kind=KIND_HTML, body="<html><body></body></html>")
    short = RawDocument(input="s", kind=KIND_TEXT, body="too short")
    with TestPipeline() as p:
        out = p | beam.Create([good, empty, short]) | ExtractArticles(ExtractSettings(min_words=20))
        assert_that(out.articles | beam.Map(lambda a: a.title), equal_to(["Attack near Orrin Pass kills six as talks falter"]))
        assert_that(out[FAILED] | beam.Map(lambda f: (f.input, f.stage, f.error_type)), equal_to([("e", "extract", "EmptyExtraction"), ("s", "extract", "TooShort")]), label="failed")


def _article(i, text="Gunmen attacked the checkpoint and killed six officers on Monday.", url=None):
    return Article(
        article_id=f"id{i}", url=url, canonical_url=url, source="s", title=f"T{i}", author=None,
        published_at=dt.datetime(2026, 10, 1 + i, tzinfo=UTC), fetched_at=dt.datetime(2026, 11, 1, tzinfo=UTC),
        language="en", text=text, word_count=len(text.split()), text_fingerprint=f"fp{i}", input=f"in{i}",
    )


def test_tag_articles_and_its_dead_letter(sample_config):
    import dataclasses

    broken = dataclasses.replace(_article(2), text=None)  # a tagger crash on this article
    with TestPipeline() as p:
        out = p | beam.Create([_article(1), broken]) | TagArticles(TagSettings(
            sample_config.taxonomy, sample_config.tone_lexicon, tuple((c.id, c.text) for c in sample_config.claims)
        ))
        assert_that(out.tagged | beam.Map(lambda t: (t.event_type, len(t.stances))), equal_to([("ASSAULT", len(sample_config.claims))]))
        assert_that(out[FAILED] | beam.Map(lambda f: (f.stage, f.input)), equal_to([("tag", "in2")]), label="failed")


def test_write_shards_partitions_and_keys(tmp_path, sample_config):
    from newsbeam.documents import tag_article
    from newsbeam.tagging import Tagger

    tagger = Tagger(sample_config.taxonomy, sample_config.tone_lexicon, [])
    tagged = [tag_article(tagger, _article(i)) for i in range(3)]
    with TestPipeline() as p:
        out = p | beam.Create(tagged) | WriteShards(ARTICLES, str(tmp_path), "run1", ["published_date"], max_rows=1)
        assert_that(out.keys | beam.Map(lambda k: (k.article_id, k.index)), equal_to([("id0", 0), ("id1", 0), ("id2", 0)]))
        assert_that(
            out.shards | beam.Map(lambda s: (s.relative_path.split("/")[1], s.rows)),
            equal_to([("published_date=2026-10-01", 1), ("published_date=2026-10-02", 1), ("published_date=2026-10-03", 1)]),
            label="shards",
        )
    assert len(list((tmp_path / "_tmp" / "run1" / "articles").rglob("part-run1-*.parquet"))) == 3


def test_write_errors(tmp_path):
    from newsbeam.records import Failure

    with TestPipeline() as p:
        out = p | beam.Create([Failure("read", "a", "X", "m"), Failure("read", "b", "X", "m")]) | WriteShards(ERRORS, str(tmp_path), "r", [])
        assert_that(out.shards | beam.Map(lambda s: (s.rows, s.failures)), equal_to([(2, (("read", "X", 2),))]))


def test_dedup_by_id_by_text_and_against_state():
    keys = [
        RowKey("a", "fa", "2-second", "s1", 0),
        RowKey("a", "fa", "1-first", "s1", 1),  # same id: the lower rank wins
        RowKey("b", "fa", "3", "s2", 0),  # same text as a: dropped
        RowKey("c", "fc", "4", "s2", 1),  # stored by an earlier run
        RowKey("d", "fd", "5", "s2", 2),
    ]
    with TestPipeline() as p:
        seen = p | "Seen" >> beam.Create([("c", "old")])
        out = p | beam.Create(keys) | Dedup(seen)
        assert_that(out["winners"] | beam.Map(lambda k: (k.article_id, k.rank)), equal_to([("a", "1-first"), ("d", "5")]))
        assert_that(
            out[LOSERS] | beam.Map(lambda lr: (lr[0].article_id, lr[0].rank, lr[1])),
            equal_to([("a", "2-second", "duplicate"), ("b", "3", "duplicate"), ("c", "4", "seen")]),
            label="losers",
        )
