"""One core, several drivers: the batch pipeline and the stream store the same rows.

Fixture feeds and pages are served over loopback; ``newsbeam run`` writes one output and
``newsbeam stream`` another, until its backlog is stored, then it is stopped with SIGTERM.
Every column must match (run ids and fetch times aside), and so must the error rows: a
decision made twice (dedup, ids, retries, limits) would show here as a difference.
"""

import os
import signal
import subprocess
import sys
import time

import duckdb

from tests.conftest import REPO, SAMPLE_CONFIG, run_cli
from tests.httpserver import Reply, Server
from tests.test_fetch_e2e import PARA, conditional, page

# Columns a second run may fill differently: when it ran and when it fetched.
VOLATILE = ("run_id", "fetched_at")
FULL_TEXT = "".join(f"<p>{PARA.format(day=d, n=40)} Paragraph {d} of the full story.</p>" for d in ("Monday", "Tuesday", "Friday"))


def _item(srv, n: int, path: str, date: str = "Mon, 02 Nov 2026 10:00:00 GMT", content: str = "") -> str:
    encoded = f"<content:encoded><![CDATA[{content}]]></content:encoded>" if content else ""
    return f"<item><title>Story {n}</title><link>{srv.url(path)}</link><pubDate>{date}</pubDate>{encoded}</item>"


def _rss(srv, title: str, items: list[str]) -> str:
    return ('<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f'<channel><title>{title}</title><link>{srv.url("/")}</link>{"".join(items)}</channel></rss>')


def _site(srv) -> list[str]:
    """Two feeds: pages to fetch, a full-text entry, an entry both list, a page whose
    canonical link names it, one impossible date, a 404, a PDF, a page too short, the
    same text under two URLs."""
    for n in range(1, 6):
        srv.static(f"/news/{n}", page(n))
    srv.static("/news/6", page(6, canonical="/stories/six"))
    srv.static("/copy/1", page(1))  # the text of /news/1 again: one of them is a duplicate
    srv.static("/short", "<html><body><article><p>Too short to keep.</p></article></body></html>")
    srv.static("/report.pdf", b"%PDF-1.7", headers={"Content-Type": "application/pdf"})
    srv.route("/gone", lambda req: Reply(404))
    wire = _rss(srv, "Valley Wire", [
        _item(srv, 1, "/news/1"), _item(srv, 2, "/news/2", "Tue, 03 Nov 2026 09:00:00 GMT"), _item(srv, 3, "/news/3"),
        _item(srv, 40, "/full/40", content=FULL_TEXT), _item(srv, 6, "/news/6"), _item(srv, 8, "/gone"),
        _item(srv, 9, "/report.pdf"),
    ])
    council = _rss(srv, "Lakes Council", [
        _item(srv, 3, "/news/3"), _item(srv, 4, "/news/4", "2026-02-30T10:00:00Z"), _item(srv, 5, "/news/5"),
        _item(srv, 11, "/copy/1"), _item(srv, 12, "/short"),
    ])
    srv.route("/wire.rss", conditional(wire, '"w1"'))
    srv.route("/council.rss", conditional(council, '"c1"'))
    return [srv.url("/wire.rss"), srv.url("/council.rss")]


def _articles(out) -> list[tuple]:
    query = (f"SELECT * EXCLUDE ({', '.join(VOLATILE)}) FROM read_parquet('{out}/articles/**/*.parquet', "
             "hive_partitioning = true) ORDER BY article_id")
    return duckdb.sql(query).fetchall()


def _errors(out) -> list[tuple]:
    query = f"SELECT stage, input, error_type, message FROM read_parquet('{out}/errors/**/*.parquet') ORDER BY ALL"
    return duckdb.sql(query).fetchall()


def _columns(out) -> list[str]:
    return [d[0] for d in duckdb.sql(f"DESCRIBE SELECT * EXCLUDE ({', '.join(VOLATILE)}) FROM "
                                     f"read_parquet('{out}/articles/**/*.parquet', hive_partitioning = true)").fetchall()]


def _stream_until(cmd: list[str], out, articles: int, errors: int, timeout: float = 120) -> str:
    """Run the stream until it has stored ``articles`` and ``errors`` rows and one more
    poll has passed, then stop it with SIGTERM; its stderr."""
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"), start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if list(out.glob("articles/**/*.parquet")) and len(_articles(out)) >= articles and len(_errors(out)) >= errors:
                break
            time.sleep(0.5)
        time.sleep(3)  # another poll: it must add nothing
        os.killpg(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, stderr
    return stderr


def test_batch_and_stream_store_the_same_rows(tmp_path):
    batch_out, stream_out = tmp_path / "batch", tmp_path / "stream"
    with Server() as srv:
        feeds = [arg for url in _site(srv) for arg in ("--feed", url)]
        common = ["--config", str(SAMPLE_CONFIG), *feeds, "--allow-private-network"]
        ran = run_cli("run", *common, "--output", str(batch_out))
        assert ran.returncode == 0, ran.stderr
        batch, batch_errors = _articles(batch_out), _errors(batch_out)
        stderr = _stream_until([sys.executable, "-m", "newsbeam", "stream", *common, "--output", str(stream_out),
                                "--poll-interval", "1"], stream_out, len(batch), len(batch_errors))
    # The fixture covers what it claims: fetched pages, the full-text entry, the canonical
    # link, a duplicate left out, a bad date, and failures of fetch and extraction.
    inputs = {row[_columns(batch_out).index("input")] for row in batch}
    assert len(batch) == 7 and any(i.endswith("/full/40") for i in inputs), inputs
    assert {e[2] for e in batch_errors} >= {"HTTP404", "UnsupportedContentType", "TooShort", "BadField"}, batch_errors
    assert _columns(stream_out) == _columns(batch_out)
    for got, want in zip(_articles(stream_out), batch, strict=True):
        for name, a, b in zip(_columns(batch_out), got, want, strict=True):
            assert a == b, f"{name} differs for {want[0]}: stream {a!r}, batch {b!r}"
    assert _errors(stream_out) == batch_errors, stderr
