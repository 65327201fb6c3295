"""Hardening, round 3 (issue 30): the last footguns a hostile probe found, one test each."""

import json
import os

import duckdb
import pytest

from newsbeam.feeds import parse_feed
from newsbeam.fields import BAD_FIELD, impossible_date, parse_date
from newsbeam.http import FetchError, FetchPolicy, check_url, forbidden_address
from newsbeam.reading import jsonl_documents, read_local_file
from newsbeam.records import Failure, FeedItem, RawDocument
from tests.conftest import run_cli
from tests.httpserver import Reply, Server

STORY = ("Envoys of the Carrow Isles and the Dunmere League met in Port Sable on Tuesday to settle the fishing "
         "boundary, and agreed to reopen the northern ferry line. Mediators said the talks would go on in May.")


def _one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# -- 1. an output at /, at home or in a system directory is refused ------------------------


@pytest.mark.parametrize("where", ["/", "//", "HOME", "/usr"])
def test_an_output_at_the_root_home_or_a_system_directory_is_refused(tmp_path, where):
    home = tmp_path / "home"
    home.mkdir()
    output = str(home) if where == "HOME" else where
    proc = run_cli("run", "--input", str(tmp_path / "none.txt"), "--output", output, env={"HOME": str(home)}, timeout=60)
    assert proc.returncode == 2
    assert "refusing to write" in _one_line(proc.stderr)
    assert not (home / "_state").exists() and not os.path.exists("/_state") and not os.path.exists("/articles")


def test_output_path_in_the_config_is_refused_too(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("inputs: [x.txt]\noutput:\n  path: /\n")
    proc = run_cli("run", "--config", str(cfg), timeout=60)
    assert proc.returncode == 2 and "output.path" in _one_line(proc.stderr)


# -- 2. `newsbeam tag` with a missing input, a directory, an output that is a directory ----


def test_tag_on_bad_paths_is_one_line_not_a_traceback(tmp_path):
    good = tmp_path / "in.jsonl"
    good.write_text(json.dumps({"id": "a", "text": STORY}) + "\n")
    cases = [(str(tmp_path / "missing.jsonl"), str(tmp_path / "o.jsonl"), "does not exist"),
             (str(tmp_path), str(tmp_path / "o.jsonl"), "is a directory"),
             (str(good), str(tmp_path), "is a directory"),
             (str(good), str(tmp_path / "no" / "such" / "o.jsonl"), "does not exist")]
    for source, target, said in cases:
        proc = run_cli("tag", source, target, timeout=120)
        assert proc.returncode in (1, 2), (source, target)
        assert said in _one_line(proc.stderr)


# -- 5. `newsbeam tag` keeps an id of any JSON type ------------------------------------------


def test_tag_keeps_ids_of_any_json_type(tmp_path):
    ids = [{"doc": 7, "part": "a"}, ["x", 1], True, None, "plain", 12]
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"id": i, "text": STORY}) + "\n" for i in ids))
    out = tmp_path / "out.jsonl"
    assert run_cli("tag", str(inp), str(out), timeout=120).returncode == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ids and all(r.get("event_type") for r in rows)


# -- 3. report and compact on a truncated or corrupt committed file -------------------------


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """An output of two runs, so each partition has two files."""
    base = tmp_path_factory.mktemp("corrupt")
    out = base / "out"
    for n in range(2):
        src = base / f"in{n}"
        src.mkdir()
        (src / "a.jsonl").write_text(json.dumps({"id": f"r{n}", "title": f"Talks {n}", "text": STORY.replace("Tuesday", f"day {n}"),
                                                 "published_at": f"2026-03-0{n + 1}T10:00:00Z"}) + "\n")
        assert run_cli("run", "--input", str(src / "a.jsonl"), "--output", str(out), timeout=180).returncode == 0
    return out


def _article_files(out):
    return sorted(str(p) for p in (out / "articles").rglob("*.parquet"))


def test_report_skips_a_truncated_file_and_names_it(two_runs, tmp_path):
    out = tmp_path / "out"
    import shutil

    shutil.copytree(two_runs, out)
    bad = _article_files(out)[0]
    data = open(bad, "rb").read()
    open(bad, "wb").write(data[: len(data) // 2])
    proc = run_cli("report", "--output", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert bad in _one_line(proc.stderr) and "Traceback" not in proc.stderr
    assert "1 articles" in proc.stdout and "1 unreadable file" in proc.stdout


def test_compact_leaves_a_partition_with_a_corrupt_file_untouched(two_runs, tmp_path):
    out = tmp_path / "out"
    import shutil

    shutil.copytree(two_runs, out)
    # A second file in a partition, and it is not Parquet inside.
    partition = os.path.dirname(_article_files(out)[0])
    bad = os.path.join(partition, "part-corrupt.parquet")
    open(bad, "wb").write(b"PAR1" + b"\0" * 200 + b"PAR1")
    before = sorted(os.listdir(partition))
    proc = run_cli("compact", "--output", str(out), "--min-files", "2", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert bad in _one_line(proc.stderr) and "Traceback" not in proc.stderr
    assert sorted(os.listdir(partition)) == before


# -- 4. one rule for bad values: dropped to null, the article kept, a BadField row ---------


@pytest.mark.parametrize("value", [True, ["2026-01-01"], {"d": 1}, "2026-02-30", "2026-01-01T10:00:00+2400",
                                   "Mon, 30 Feb 2026 10:00:00 GMT", "2026-01-01T25:00:00Z", "not a date at all"])
def test_bad_dates_are_null_with_a_reason(value):
    parsed, why = parse_date(value)
    assert parsed is None and why


@pytest.mark.parametrize("value", ["2026-02-28", "2026-01-01T10:00:00+05:30", "Mon, 02 Mar 2026 10:00:00 GMT", 1767225600])
def test_good_dates_parse(value):
    parsed, why = parse_date(value)
    assert parsed is not None and why is None and parsed.tzinfo is not None


def test_impossible_date_leaves_readable_dates_alone():
    assert impossible_date("2024-02-29") is None and impossible_date("Tue, 10 Jun 2003 04:00:00 -0400") is None
    assert impossible_date("2023-02-29") and impossible_date("Tue, 10 Jun 2003 04:00:00 +2400")


def test_jsonl_bad_fields_are_dropped_and_named_and_the_article_kept():
    rows = [{"id": "t", "text": STORY, "published_at": True},
            {"id": "l", "text": STORY, "title": ["a", "b"]},
            {"id": "d", "text": STORY, "published_at": "2026-02-30"}]
    out = list(jsonl_documents("w.jsonl", "\n".join(json.dumps(r) for r in rows), None))
    docs = {d.id_hint: d for d in out if isinstance(d, RawDocument)}
    bad = [(f.input, f.error_type, f.message.split(":")[0]) for f in out if isinstance(f, Failure)]
    assert set(docs) == {"t", "l", "d"}
    assert docs["t"].published_hint is None and docs["d"].published_hint is None and docs["l"].title_hint is None
    assert bad == [("w.jsonl#t", BAD_FIELD, "published_at"), ("w.jsonl#l", BAD_FIELD, "title"),
                   ("w.jsonl#d", BAD_FIELD, "published_at")]


FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Isles Wire</title>
<item><title>A</title><link>https://isles.example/a</link><pubDate>2026-02-30T10:00:00Z</pubDate></item>
<item><title>B</title><link>https://isles.example/b</link><pubDate>Mon, 02 Mar 2026 10:00:00 +2400</pubDate></item>
<item><title>C</title><link>https://isles.example/c</link><pubDate>whenever it suits</pubDate></item>
<item><title>D</title><link>https://isles.example/d</link><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""


def test_feed_dates_that_cannot_exist_are_null_and_named():
    items = {i.title: i for i in parse_feed(FEED.encode(), "isles.rss")}
    assert [items[t].published_at for t in "ABC"] == [None, None, None]
    assert items["D"].published_at.isoformat() == "2026-03-02T10:00:00+00:00" and items["D"].bad_fields == ()
    assert all(items[t].bad_fields and items[t].bad_fields[0].startswith("published:") for t in "ABC")
    records = list(read_local_file("isles.rss", FEED.encode(), None, 10**6))
    assert sum(isinstance(r, FeedItem) for r in records) == 4
    assert sorted(r.input for r in records if isinstance(r, Failure) and r.error_type == BAD_FIELD) == [
        "https://isles.example/a", "https://isles.example/b", "https://isles.example/c"]


# -- 6. link-local and cloud metadata stay refused when private networks are allowed -------


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.1.1", "fe80::1", "fd00:ec2::254", "::ffff:169.254.169.254"])
def test_link_local_needs_its_own_option(address):
    assert forbidden_address(address, allow_private=True)
    assert not forbidden_address(address, allow_private=True, allow_link_local=True)
    assert not forbidden_address("10.0.0.7", allow_private=True)
    with pytest.raises(FetchError):
        check_url(f"http://[{address}]/" if ":" in address else f"http://{address}/", allow_private=True)


def test_a_redirect_to_the_metadata_service_is_refused_with_private_networks_allowed():
    from newsbeam.http import BackgroundLoop, Fetcher

    loop = BackgroundLoop()
    try:
        with Server() as srv:
            srv.route("/feed", lambda req: Reply(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
            for guarded in (True, False):
                fetcher = Fetcher(FetchPolicy(allow_private_network=True, backoff=0.01, retries=0, respect_robots=False,
                                              connect_timeout=1.0))

                async def go(fetcher=fetcher, guarded=guarded):
                    try:
                        return await fetcher.get(srv.url("/feed"), guarded=guarded, use_robots=False)
                    finally:
                        await fetcher.close()

                with pytest.raises(FetchError) as err:
                    loop.run(go(), timeout=30)
                assert err.value.error_type == "ForbiddenAddress"
    finally:
        loop.stop()


def test_the_link_local_option_is_a_config_key(tmp_path):
    from newsbeam.pipelines.config import load_config

    cfg = tmp_path / "c.yaml"
    cfg.write_text("inputs: [x.txt]\nfetch:\n  allow_private_network: true\n  allow_link_local_network: true\n")
    assert load_config(str(cfg)).fetch.allow_link_local_network is True


# -- 7. small things: --wait N's message, library log lines ---------------------------------


def test_wait_message_says_it_waited(tmp_path):
    from newsbeam.locking import OutputLock

    out = tmp_path / "out"
    src = tmp_path / "a.txt"
    src.write_text("Talks\n" + STORY)
    held = OutputLock(str(out), "holder", wait=None)
    assert held.acquire()
    try:
        proc = run_cli("run", "--input", str(src), "--output", str(out), "--wait", "1", timeout=120)
    finally:
        held.release()
    assert proc.returncode == 0
    line = _one_line(proc.stderr)
    assert "waited 1 s for it and gave up" in line and "--wait to wait" not in line


def test_an_empty_html_page_prints_no_library_lines(tmp_path):
    with Server() as srv:
        srv.static("/empty", b"", headers={"Content-Type": "text/html"})
        srv.static("/blank", b"<html><body></body></html>", headers={"Content-Type": "text/html"})
        # Their dates cannot exist: each is a BadField error row beside the kept entry (item 4).
        items = "".join(f"<item><title>{p}</title><link>{srv.url('/' + p)}</link><pubDate>2026-02-30</pubDate></item>"
                        for p in ("empty", "blank"))
        srv.static("/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>',
                   headers={"Content-Type": "application/rss+xml"})
        out = tmp_path / "out"
        proc = run_cli("run", "--feed", srv.url("/feed.xml"), "--output", str(out), "--allow-private-network", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "trafilatura" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
    kinds = duckdb.sql(f"SELECT error_type, count(*) FROM read_parquet('{out}/errors/**/*.parquet') GROUP BY 1").fetchall()
    assert dict(kinds).get(BAD_FIELD) == 2 and sum(n for _k, n in kinds) == 4, kinds
