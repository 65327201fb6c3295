"""The whole pipeline against feeds and pages served on 127.0.0.1 (issue: fetching)."""

import json

import duckdb
import pytest

from tests.conftest import run_cli
from tests.httpserver import Reply, Server

PARA = (
    "Delegates from the Republic of Veloria and the Northern Front met in Kestrel Ford on {day} "
    "to discuss the ceasefire, the exchange of prisoners and the reopening of the mountain roads. "
    "Mediators from the Lakes Council said article number {n} of the draft had been agreed."
)


def page(n: int, canonical: str | None = None) -> str:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    paras = "".join(f"<p>{PARA.format(day=d, n=n)} Paragraph {d} of story {n}.</p>" for d in ("Monday", "Tuesday", "Wednesday"))
    return f"<html><head><title>Story {n}</title>{link}</head><body><nav>Home | World</nav><article><h1>Story {n}</h1>{paras}</article></body></html>"


def rss(srv, items):
    body = "".join(
        f"<item><title>Story {n}</title><link>{srv.url(path)}</link><pubDate>Mon, 0{1 + n % 8} Nov 2026 10:00:00 GMT</pubDate></item>"
        for n, path in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><link>{srv.url("/")}</link>{body}</channel></rss>'


def atom(srv, items):
    body = "".join(
        f'<entry><title>Story {n}</title><link href="{srv.url(path)}"/><id>urn:{n}</id><updated>2026-11-0{1 + n % 8}T10:00:00Z</updated></entry>'
        for n, path in items
    )
    return f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Council</title>{body}</feed>'


def conditional(body: str, etag: str):
    def handler(req):
        if req.headers.get("If-None-Match") == etag:
            return Reply(304, headers={"ETag": etag})
        return Reply(body=body.encode(), headers={"ETag": etag, "Content-Type": "application/rss+xml"})

    return handler


@pytest.fixture
def site():
    with Server() as srv:
        for n in range(1, 7):
            srv.static(f"/news/{n}", page(n))
        srv.static("/robots.txt", "User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"})
        srv.static("/private/9", page(9))
        srv.static("/report.pdf", b"%PDF-1.7", headers={"Content-Type": "application/pdf"})
        srv.route("/broken", lambda req: Reply(500))
        srv.route("/gone", lambda req: Reply(404))
        srv.static("/news/7", page(7, canonical="/stories/seven"))
        yield srv


def _run(srv, out, *extra):
    return run_cli(
        "run", "--feed", srv.url("/rss.xml"), "--feed", srv.url("/atom.xml"), "--output", str(out),
        "--allow-private-network", *extra,
    )


def _articles(out):
    return duckdb.execute(f"SELECT url, canonical_url, title, text FROM read_parquet('{out}/articles/**/*.parquet')").fetchall()


def _errors(out):
    return duckdb.execute(f"SELECT input, stage, error_type FROM read_parquet('{out}/errors/*.parquet')").fetchall()


def test_feeds_over_http_store_each_article_once_and_rerun_is_a_no_op(site, tmp_path):
    rss_items = [(1, "/news/1"), (2, "/news/2"), (3, "/news/3?utm_source=rss"), (4, "/report.pdf"), (5, "/gone"), (6, "/private/9"), (7, "/news/7")]
    atom_items = [(3, "/news/3"), (4, "/news/4"), (6, "/news/6")]
    site.route("/rss.xml", conditional(rss(site, rss_items), '"r1"'))
    site.route("/atom.xml", conditional(atom(site, atom_items), '"a1"'))
    out = tmp_path / "out"
    proc = _run(site, out)
    assert proc.returncode == 0, proc.stderr
    arts = _articles(out)
    titles = sorted(a[2] for a in arts)
    assert titles == ["Story 1", "Story 2", "Story 3", "Story 4", "Story 6", "Story 7"]
    assert site.hits("/news/3") == 1  # listed twice (once with utm_), fetched once
    assert all("Home | World" not in a[3] for a in arts)
    seven = next(a for a in arts if a[2] == "Story 7")
    assert seven[1] == site.url("/stories/seven")  # the page's canonical link gives the id
    errors = {(e[0].split(str(site.port))[-1], e[2]) for e in _errors(out)}
    assert errors == {("/report.pdf", "UnsupportedContentType"), ("/gone", "HTTP404"), ("/private/9", "RobotsDisallowed")}
    assert site.hits("/robots.txt") == 1  # cached per host per run
    state = json.loads((out / "_state" / "feeds.json").read_text())
    assert state[site.url("/rss.xml")]["etag"] == '"r1"'

    # second run: conditional requests, 304s, no page fetched, no row written
    before = len(site.requests)
    proc = _run(site, out)
    assert proc.returncode == 0, proc.stderr
    later = site.requests[before:]
    assert [r.path for r in later] == ["/rss.xml", "/atom.xml"] or sorted(r.path for r in later) == ["/atom.xml", "/rss.xml"]
    assert all(r.headers.get("If-None-Match") for r in later)
    manifest = json.loads(sorted((out / "_runs").glob("*.json"))[-1].read_text())
    assert manifest["written"] == {"articles": 0, "errors": 0, "stories": 0, "files": 0}
    assert "2 not modified" in proc.stdout

    # a new entry appears: only it is fetched
    site.static("/news/8", page(8))
    site.route("/rss.xml", conditional(rss(site, rss_items + [(8, "/news/8")]), '"r2"'))
    before = len(site.requests)
    proc = _run(site, out)
    assert proc.returncode == 0, proc.stderr
    fetched = sorted(r.path for r in site.requests[before:] if r.path.startswith("/news/"))
    assert fetched == ["/news/8"]
    assert sorted(a[2] for a in _articles(out)).count("Story 8") == 1
    assert len(_articles(out)) == 7


def test_transient_failure_keeps_the_feed_unvalidated_so_the_article_is_retried(site, tmp_path):
    calls = []

    def flaky(req):
        calls.append(1)
        return Reply(503) if len(calls) <= 4 else Reply(body=page(5).encode())

    site.route("/news/5", flaky)
    site.route("/rss.xml", conditional(rss(site, [(1, "/news/1"), (5, "/news/5")]), '"x"'))
    site.route("/atom.xml", conditional(atom(site, []), '"y"'))
    out = tmp_path / "out"
    assert _run(site, out).returncode == 0
    assert sorted(a[2] for a in _articles(out)) == ["Story 1"]
    state = json.loads((out / "_state" / "feeds.json").read_text())
    assert site.url("/rss.xml") not in state  # not validated: next run lists it again
    assert _run(site, out).returncode == 0
    assert sorted(a[2] for a in _articles(out)) == ["Story 1", "Story 5"]
    assert site.hits("/news/1") == 1


def test_private_addresses_refused_without_the_flag(site, tmp_path):
    site.route("/rss.xml", conditional(rss(site, [(1, "/news/1")]), '"r"'))
    out = tmp_path / "out"
    proc = run_cli("run", "--feed", site.url("/rss.xml"), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert [e[2] for e in _errors(out)] == ["ForbiddenAddress"]
    assert site.hits("/news/1") == 0


def test_every_feed_failing_exits_non_zero(site, tmp_path):
    proc = run_cli("run", "--feed", site.url("/broken"), "--feed", site.url("/gone"), "--output", str(tmp_path / "o"), "--allow-private-network")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("newsbeam: every feed failed (2 of 2)")


def test_a_cross_site_canonical_never_suppresses_the_real_article(site, tmp_path):
    """A page naming another site's article as its canonical keeps its own id; the victim is still fetched."""
    victim = f"http://localhost:{site.port}/news/1"
    site.static("/evil", page(66, canonical=victim))
    site.route("/rss.xml", conditional(rss(site, [(66, "/evil")]), '"e1"'))
    site.route("/atom.xml", conditional(atom(site, []), '"e2"'))
    out = tmp_path / "out"
    assert _run(site, out).returncode == 0
    evil = _articles(out)
    assert [(a[1], a[2]) for a in evil] == [(site.url("/evil"), "Story 66")]
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><item><title>Story 1</title><link>{victim}</link></item></channel></rss>'
    site.route("/rss.xml", conditional(feed, '"e3"'))
    assert _run(site, out).returncode == 0
    stored = {a[2]: a[1] for a in _articles(out)}
    assert stored == {"Story 66": site.url("/evil"), "Story 1": victim}
