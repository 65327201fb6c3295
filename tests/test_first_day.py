"""The first day, round 2 (issue 37): what a newcomer trips on, one test each."""

import datetime as dt
import json

import pytest

import newsbeam
from newsbeam import report
from tests.conftest import SAMPLE_CONFIG, run_cli

STORY = ("Envoys of the Carrow Isles and the Dunmere League met in Port Sable on Tuesday to settle the fishing "
         "boundary, and agreed to reopen the northern ferry line. Mediators said the talks would go on in May.")


def test_help_lists_every_command_and_version_prints_one_line():
    from newsbeam.pipelines.cli import COMMANDS

    proc = run_cli("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    for name in COMMANDS:
        assert f"\n  {name} " in proc.stdout, name
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("newsbeam ") and len(version.stdout.splitlines()) == 1
    wrong = run_cli("frobnicate")
    assert wrong.returncode == 2 and "unknown command 'frobnicate'" in wrong.stderr and "commands:" in wrong.stderr


def test_an_unknown_flag_is_named_as_typed(tmp_path):
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(tmp_path / "o"), "--bogus-flag")
    assert proc.returncode == 2 and "--bogus-flag" in proc.stderr and "bogus_flag" not in proc.stderr


def test_every_feed_failing_is_one_rule_for_the_cli_and_the_api(tmp_path):
    from tests.conftest import free_port

    config = tmp_path / "c.yaml"  # a feed on a port where nothing listens: refused at once
    config.write_text(f"feeds: ['http://127.0.0.1:{free_port()}/feed.xml']\noutput: {{path: {tmp_path / 'out'}}}\n"
                      "fetch: {allow_private_network: true, retries: 0}\n")
    proc = run_cli("run", "--config", str(config))
    assert proc.returncode == 1 and "every feed failed" in proc.stderr
    with pytest.raises(newsbeam.AllFeedsFailed, match="every feed failed") as info:
        newsbeam.run(config=str(config), output=str(tmp_path / "api"))
    assert info.value.summary.errors >= 1 and isinstance(info.value, newsbeam.RunFailed)


def test_a_rerun_says_what_happened_in_the_summary(tmp_path):
    out = tmp_path / "out"
    first = newsbeam.run(config=str(SAMPLE_CONFIG), output=str(out))
    again = newsbeam.run(config=str(SAMPLE_CONFIG), output=str(out))
    assert again.articles == 0 and again.already_stored == first.articles and again.duplicates == 1
    text = str(again)
    assert f"{first.articles} already stored" in text and "written    0 articles" in text


def _articles(out, rows):
    """Rows as the writer files them: by publication date, an undated one by its fetch date."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from newsbeam.records import ARTICLE_SCHEMA

    for n, row in enumerate(rows):
        day = (row["published_at"] or row["fetched_at"]).date().isoformat()
        folder = out / "articles" / f"published_date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist([row], schema=ARTICLE_SCHEMA), folder / f"part-{n}.parquet")


def _row(i, published):
    return {"article_id": f"{i:032x}", "title": f"t{i}", "published_at": published, "fetched_at": dt.datetime(2026, 12, 7, tzinfo=dt.timezone.utc),
            "language": "en", "text": "x", "word_count": 1, "text_fingerprint": f"{i:032x}", "event_type": "ASSAULT",
            "event_confidence": 0.9 if i % 2 else 0.4, "source": "s", "input": "i", "run_id": "r"}


def test_undated_articles_are_counted_and_kept_out_of_the_time_charts(tmp_path):
    out = tmp_path / "out"
    when = dt.datetime(2026, 10, 14, tzinfo=dt.timezone.utc)
    _articles(out, [_row(1, when), _row(2, when), _row(3, None)])
    agg = report.aggregate(str(out))
    assert agg.total == 3 and agg.undated == 1
    assert (agg.first, agg.last) == (dt.date(2026, 10, 14), dt.date(2026, 10, 14))  # not stretched to the fetch date
    assert sum(n for _t, _e, n in agg.by_event_time) == 2
    assert agg.events_tagged == 3 and agg.confident_events == 2
    html = report.render_html(agg, str(out), None, None)
    assert "1 article without a publication date" in html and "3 articles" in html and "confident only" in html
    summary = report.terminal_summary(agg)
    assert "1 undated" in summary and "in 1 language" in summary and "1 languages" not in summary


def test_progress_lines_count_the_feed_files_read(tmp_path):
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(tmp_path / "o"), "--progress", "lines",
                   "--progress-every", "1")
    final = [line for line in proc.stderr.splitlines() if "run finished" in line]
    assert final and "0 feeds" not in final[-1] and "11 written" in final[-1], proc.stderr
    manifest = json.loads(next((tmp_path / "o" / "_runs").glob("*.json")).read_text())
    assert manifest["written"]["articles"] == 11
