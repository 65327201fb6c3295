import datetime as dt

import pytest

from newsbeam.extraction import ExtractionError, Extractor, choose_published, fragment_text, page_timestamp
from newsbeam.records import KIND_FRAGMENT, KIND_HTML, KIND_TEXT, UTC, RawDocument
from newsbeam.text import stable_id
from newsbeam.urls import canonicalize_url
from tests.conftest import REPO

SAMPLES = REPO / "configs" / "samples"


@pytest.fixture(scope="module")
def extractor():
    return Extractor(min_words=20)


def test_html_page_gives_text_and_metadata(extractor):
    html = (SAMPLES / "veloria-talks-resume.html").read_text()
    art = extractor.extract(RawDocument(input="p.html", kind=KIND_HTML, body=html))
    assert art.title == "Veloria and Northern Front resume Marrow Valley talks"
    assert art.source == "The Kestrel Courier"
    assert art.author == "Ilsa Varga"
    assert art.published_at == dt.datetime(2026, 10, 14, 8, 30, tzinfo=UTC)
    assert art.language == "en"
    assert "Kestrel Ford" in art.text and "Most read" not in art.text and "All rights reserved" not in art.text
    assert art.canonical_url == "https://courier.example.org/world/2026/10/14/marrow-valley-talks-resume"
    assert art.article_id == stable_id("url", art.canonical_url)


def test_feed_hints_fill_what_the_page_lacks(extractor):
    paras = [
        "The council met on Monday and talked for a long time about roads in the valley.",
        "Members said the bridge at Tarn needed new railings before the winter storms.",
        "A decision on the budget for the repairs is expected at the next session.",
    ]
    html = "<html><body><article>" + "".join(f"<p>{p}</p>" for p in paras) + "</article></body></html>"
    hint = dt.datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    art = extractor.extract(
        RawDocument(input="u", kind=KIND_HTML, body=html, url="https://x.example/a?utm_source=z", title_hint="Feed title", published_hint=hint)
    )
    assert art.title == "Feed title"
    assert art.published_at == hint
    assert art.canonical_url == canonicalize_url("https://x.example/a")


@pytest.mark.parametrize(
    "body,error_type",
    [("<html><body></body></html>", "EmptyExtraction"), ("<html><body><nav>Home</nav></body></html>", "TooShort")],
)
def test_empty_page_is_an_error(extractor, body, error_type):
    with pytest.raises(ExtractionError) as err:
        extractor.extract(RawDocument(input="e", kind=KIND_HTML, body=body))
    assert err.value.error_type == error_type


def test_short_text_is_an_error(extractor):
    with pytest.raises(ExtractionError) as err:
        extractor.extract(RawDocument(input="s", kind=KIND_TEXT, body="Too short to be news."))
    assert err.value.error_type == "TooShort"


def test_text_without_url_gets_content_id(extractor):
    body = "Word " * 30
    a = extractor.extract(RawDocument(input="/data/exports/a.txt", kind=KIND_TEXT, body=body, title_hint="T"))
    assert a.url is None and a.article_id == stable_id("text", a.text_fingerprint)
    assert a.source == "exports"


def test_fragment_text_keeps_paragraphs_and_drops_feed_boilerplate():
    html = "<p>First para <b>bold</b>.</p><script>x()</script><p>Second<br>line</p><p>The post X appeared first on Y.</p>"
    assert fragment_text(html) == "First para bold.\nSecond\nline"
    assert fragment_text("") == ""


def test_choose_published():
    day = dt.datetime(2026, 1, 2, tzinfo=UTC)
    same = dt.datetime(2026, 1, 2, 15, 30, tzinfo=UTC)
    other = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert choose_published(day, same) == same
    assert choose_published(day, other) == day
    assert choose_published(None, other) == other


def test_page_timestamp_from_meta_and_jsonld():
    assert page_timestamp('<meta property="article:published_time" content="2026-10-22T15:05:00+02:00">') == dt.datetime(2026, 10, 22, 13, 5, tzinfo=UTC)
    assert page_timestamp('{"datePublished": "2026-10-22T01:00:00Z"}').hour == 1
    assert page_timestamp("<p>no date</p>") is None


def test_fragment_document(extractor):
    body = "<p>" + "The ceasefire in the valley held for another week, monitors said. " * 3 + "</p>"
    art = extractor.extract(RawDocument(input="f#1", kind=KIND_FRAGMENT, body=body, url="https://w.example/x", source="Valley Wire"))
    assert art.source == "Valley Wire" and art.word_count > 20


_PARAS = [
    "The council met on Monday and talked for a long time about roads in the valley.",
    "Members said the bridge at Tarn needed new railings before the winter storms.",
    "A decision on the budget for the repairs is expected at the next session.",
]


def _page(lang: str | None = None) -> str:
    attr = f' lang="{lang}"' if lang else ""
    return f"<html{attr}><body><article>" + "".join(f"<p>{p}</p>" for p in _PARAS) + "</article></body></html>"


def test_the_full_path_runs_only_where_the_fast_text_looks_cut(monkeypatch):
    """trafilatura's fast path first; its full path when the fast text is a small share of the page's prose."""
    import trafilatura

    from newsbeam import extraction

    calls = []
    real = trafilatura.bare_extraction

    def spy(tree, fast=False, **kw):
        calls.append(fast)
        return real(tree, fast=fast, **kw)

    monkeypatch.setattr(trafilatura, "bare_extraction", spy)
    result, _meta, lang = extraction.extract_page(_page("en"), None)
    assert calls == [True] and "bridge at Tarn" in result.text and lang == "en"

    calls.clear()

    def cut(tree, fast=False, **kw):  # a fast path that keeps a few words of the article
        calls.append(fast)
        doc = real(tree, fast=fast, **kw)
        if fast:
            doc.text = "The council met."
        return doc

    monkeypatch.setattr(trafilatura, "bare_extraction", cut)
    result, _meta, _ = extraction.extract_page(_page(), None)
    assert calls == [True, False] and "next session" in result.text


def test_the_fast_path_skips_trafilaturas_page_render_and_the_full_path_keeps_it(monkeypatch):
    """trafilatura's recall escalation renders the whole page to text for every short
    extraction; the fast path leaves that to newsbeam's own fallback rule, the full path
    (where the rule sends a cut page) keeps it, and the setting is always restored."""
    import trafilatura
    import trafilatura.core as core

    from newsbeam import extraction

    original = getattr(core, "ESCALATION_MAX_LENGTH", None)
    if not isinstance(original, int) or not hasattr(core, "html2txt"):
        pytest.skip("this trafilatura has no recall escalation")
    seen, renders = [], []
    real, real_render = trafilatura.bare_extraction, core.html2txt

    def spy(tree, fast=False, **kw):
        seen.append((fast, core.ESCALATION_MAX_LENGTH))
        doc = real(tree, fast=fast, **kw)
        if fast and cut_fast:
            doc.text = "The council met."
        return doc

    monkeypatch.setattr(trafilatura, "bare_extraction", spy)
    monkeypatch.setattr(core, "html2txt", lambda *a, **k: renders.append(1) or real_render(*a, **k))
    cut_fast = False
    result, _meta, _ = extraction.extract_page(_page(), None)  # a short article: under the escalation's length
    assert len(result.text) < original and "next session" in result.text
    assert seen == [(True, 0)] and renders == []
    assert core.ESCALATION_MAX_LENGTH == original
    seen.clear()
    cut_fast = True
    extraction.extract_page(_page(), None)
    assert seen == [(True, 0), (False, original)]
    assert core.ESCALATION_MAX_LENGTH == original


def test_a_declared_page_language_is_taken_as_given():
    extractor = Extractor(min_words=5)
    declared = extractor.extract(RawDocument(input="p.html", kind=KIND_HTML, body=_page("de-DE")))
    assert declared.language == "de"  # as the page says; identification does not run
    assert extractor._langid is None  # nor is its model loaded (0.7 s a worker)
    undeclared = extractor.extract(RawDocument(input="p.html", kind=KIND_HTML, body=_page()))
    assert undeclared.language == "en"  # identified from the text
    assert extractor._langid is not None
    garbage = extractor.extract(RawDocument(input="p.html", kind=KIND_HTML, body=_page("x-klingon-yes")))
    assert garbage.language == "en"


def test_page_metadata_is_trafilaturas_without_categories_tags_and_licence():
    """newsbeam reads a page's metadata once, with trafilatura's own steps minus the parts it
    does not keep: the fields it keeps are trafilatura's, whichever path gives the text."""
    from trafilatura.metadata import extract_metadata

    page = (
        '<html lang="en"><head><title>Tarn bridge reopens | The Lakes Courier</title>'
        '<meta property="og:site_name" content="The Lakes Courier">'
        '<meta name="author" content="Mira Okonkwo-Lind">'
        '<meta property="article:published_time" content="2026-10-14T08:30:00+02:00">'
        '<link rel="canonical" href="https://courier.example.org/tarn-bridge"></head>'
        "<body><article><h1>Tarn bridge reopens</h1>"
        + "".join(f"<p>The bridge at Tarn reopened to traffic on day {i} after repairs.</p>" for i in range(12))
        + '</article><footer><a rel="license" href="https://creativecommons.org/licenses/by/4.0/">CC BY</a></footer>'
        "</body></html>"
    )
    import trafilatura

    from newsbeam import extraction

    ours = extraction.page_metadata(trafilatura.load_html(page), None)
    theirs = extract_metadata(trafilatura.load_html(page), None, None, True)
    fields = ("title", "author", "date", "sitename", "url")
    assert [getattr(ours, f) for f in fields] == [getattr(theirs, f) for f in fields]
    assert ours.title == "Tarn bridge reopens" and ours.author == "Mira Okonkwo-Lind" and ours.date == "2026-10-14"
    assert ours.license is None and theirs.license  # the part left out
