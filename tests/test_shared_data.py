"""Checks on the real development data in ../shared/data; skipped when it is absent."""

import duckdb
import pytest

from newsbeam.reading import read_local_file
from newsbeam.records import Failure, FeedItem
from tests.conftest import SHARED_DATA, SHARED_SEEDS, needs_shared_data, needs_shared_seeds, run_cli


@needs_shared_seeds
def test_seeds_give_five_tagged_articles(tmp_path):
    proc = run_cli("run", "--input", str(SHARED_SEEDS / "*.txt"), "--output", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    rows = duckdb.execute(
        f"SELECT event_type, len(stances), tone FROM read_parquet('{tmp_path}/articles/**/*.parquet')"
    ).fetchall()
    assert len(rows) == 5
    assert all(r[1] == 3 for r in rows)


@needs_shared_data
@pytest.mark.parametrize(
    "path",
    sorted(p for p in (SHARED_DATA / "feeds").rglob("*") if p.is_file() and p.suffix != ".tsv") if SHARED_DATA.is_dir() else [],
    ids=lambda p: p.name,
)
def test_every_real_feed_reads_without_crashing(path):
    records = list(read_local_file(str(path), path.read_bytes(), None, 10_000_000))
    assert records
    assert all(isinstance(r, (FeedItem, Failure)) or r.kind for r in records)
    if "malformed" not in str(path):
        assert any(isinstance(r, FeedItem) for r in records), records[:1]


@needs_shared_data
def test_real_news_pages_over_http_are_stored_once_with_trafilatura_quality(tmp_path):
    """The fundus pages served on loopback behind an RSS and an Atom feed (issue: fetching)."""
    import gzip
    import json

    import trafilatura

    from newsbeam.text import decode_bytes
    from tests.httpserver import Server

    pages = sorted((SHARED_DATA / "extraction" / "fundus_eval" / "html").glob("*.html.gz"))
    with Server() as a, Server() as b:
        listed = []
        for i, path in enumerate(pages):
            srv = a if i % 2 else b
            srv.static(f"/p/{path.name[:-8]}", gzip.decompress(path.read_bytes()))
            listed.append(srv.url(f"/p/{path.name[:-8]}"))
        rss = "".join(f"<item><title>{u}</title><link>{u}</link></item>" for u in listed[:50])
        atom = "".join(f'<entry><title>{u}</title><id>{u}</id><link href="{u}?utm_medium=atom"/></entry>' for u in listed[40:])
        a.static("/rss", f'<?xml version="1.0"?><rss version="2.0"><channel><title>r</title>{rss}</channel></rss>', headers={"ETag": '"1"'})
        b.static("/atom", f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>{atom}</feed>', headers={"ETag": '"2"'})
        args = ("run", "--feed", a.url("/rss"), "--feed", b.url("/atom"), "--output", str(tmp_path), "--allow-private-network")
        proc = run_cli(*args)
        assert proc.returncode == 0, proc.stderr
        rows = duckdb.execute(f"SELECT url, text FROM read_parquet('{tmp_path}/articles/**/*.parquet')").fetchall()
        fetched = sum(1 for r in a.requests + b.requests if r.path.startswith("/p/"))
        manifest = json.loads(sorted((tmp_path / "_runs").glob("*.json"))[-1].read_text())
    assert fetched == len(pages)  # 10 pages are listed in both feeds: fetched once
    stored = manifest["written"]["articles"] + sum(manifest["failed"].get("extract", {}).values())
    assert stored == len(pages)
    assert len({r[0].split("?")[0] for r in rows}) == len(rows)
    # text as good as trafilatura gives on the same page: compare word overlap
    by_url = {r[0].split("?")[0]: r[1] for r in rows}
    worse = 0
    for path, url in zip(pages, listed, strict=True):
        if url not in by_url:
            continue
        html, _ = decode_bytes(gzip.decompress(path.read_bytes()))
        reference = set((trafilatura.extract(html) or "").lower().split())
        ours = set(by_url[url].lower().split())
        if reference and len(reference & ours) / len(reference) < 0.9:
            worse += 1
    assert worse <= 2


@needs_shared_seeds
def test_the_seed_articles_get_the_tags_their_readers_would_give():
    """The three talks articles are CONSULT or AGREE; "Looking For Peace Deal" agrees and
    "Talks in Tatters" disagrees with the claim that the talks are making progress."""
    import newsbeam

    def tags(name):
        lines = (SHARED_SEEDS / name).read_text().strip().splitlines()
        title = next(line for line in lines if line.strip() and line.strip() != "Skip to main content")
        return newsbeam.tag("\n".join(lines), title=title, config=None)

    for name in ("000_c53643c2fbb5b49a.txt", "001_07bd1c686537eff7.txt", "002_df2f1c781ba8214f.txt"):
        assert tags(name)["event_type"] in ("CONSULT", "AGREE"), name
    stance = {s["claim_id"]: s["label"] for s in tags("001_07bd1c686537eff7.txt")["stances"]}
    assert stance["talks_progress"] == "agree"
    stance = {s["claim_id"]: s["label"] for s in tags("003_45cff792a01154fc.txt")["stances"]}
    assert stance["talks_progress"] == "disagree"
