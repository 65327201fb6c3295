"""newsbeam report: content, window filters, scale, and rendering in headless Chromium."""

import datetime as dt
import random
import re
import shutil
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from newsbeam import report
from newsbeam.records import ARTICLE_SCHEMA, UTC
from tests.conftest import SAMPLE_CONFIG, run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "out"
    assert run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out)).returncode == 0
    # one error row, so the errors section has something to show
    bad = out.parent / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("")
    assert run_cli("run", "--input", str(bad / "*"), "--output", str(out)).returncode == 0
    return out


def test_report_page_and_summary(sample_out, tmp_path):
    page = tmp_path / "r.html"
    proc = run_cli("report", "--output", str(sample_out), "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"11 articles \(\d+ stories\), 2026-10-14 to", proc.stdout)
    assert "stance talks_progress:" in proc.stdout and "errors:       read/EmptyFile 1" in proc.stdout
    text = page.read_text()
    assert text.count("<svg") >= 7  # volume, events, 3 claims, sources, languages, events, errors
    for heading in ("Articles per day, by source", "Event types per day", "Stance toward: The ceasefire is holding.", "Top sources", "Languages", "Errors by stage and type"):
        assert heading in text
    assert "EmptyFile" in text
    # self-contained: no script, stylesheet, image or link fetched from anywhere
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script" not in text
    # the same colour for ASSAULT in the stacked chart and in the bar chart
    assert text.count(report.EVENT_COLORS["ASSAULT"]) >= 2


def test_report_window_filters(sample_out, tmp_path):
    agg = report.aggregate(str(sample_out), since="2026-10-20", until="2026-10-27")
    assert agg.total == 5 and str(agg.first) == "2026-10-20" and str(agg.last) == "2026-10-27"
    empty = report.aggregate(str(sample_out), since="2030-01-01")
    assert empty.total == 0
    assert "No articles in this window" in report.render_html(empty, "x", "2030-01-01", None)
    proc = run_cli("report", "--output", str(sample_out), "--since", "yesterday")
    assert proc.returncode == 2 and "is not a date" in proc.stderr


CODES = ("AFG", "USA", "PAK", "IRQ", "SYR", "IGO")


def _synthetic(out, n=100_000, days=400):
    """n articles over `days` days, written like the pipeline does (Hive by published_date)."""
    rng = random.Random(7)
    types = list(report.EVENT_COLORS)
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    rows = {name: [] for name in ARTICLE_SCHEMA.names}
    for i in range(n):
        ts = start + dt.timedelta(days=rng.randrange(days), hours=rng.randrange(24))
        event_type, src, dst = rng.choice(types), rng.choice(CODES), rng.choice(CODES)
        actor = lambda code: {"text": code, "code": code, "sector": None}  # noqa: E731
        values = {
            "article_id": f"{i:032x}", "url": None, "final_url": None, "canonical_url": None,
            "source": f"source-{rng.randrange(30)}", "title": f"t{i}", "author": None, "published_at": ts,
            "fetched_at": ts, "language": rng.choice(["en", "de", "fr"]), "text": "x", "word_count": 1,
            "text_fingerprint": f"{i:032x}", "story_id": f"s{i // 4}", "event_type": event_type,
            "event_scores": [], "event_evidence": [], "event_confidence": rng.random(), "tag_model": "m",
            "event_actors": [{"event_type": event_type, "source": [actor(src)], "target": [actor(dst)], "evidence": "e"}],
            "source_codes": [src], "target_codes": [dst],
            "stances": [{"claim_id": "c1", "target": "A claim.", "label": rng.choice(["agree", "disagree", "discuss", "unrelated"]), "score": 0.5, "confidence": 0.5, "evidence": None}],
            "tone": 0.0, "input": "gen", "run_id": "r",
        }
        for k, v in values.items():
            rows[k].append(v)
    table = pa.table(rows, schema=ARTICLE_SCHEMA)
    dates = pa.compute.strftime(table["published_at"], "%Y-%m-%d")
    table = table.append_column("published_date", dates)
    pq.write_to_dataset(table, str(out / "articles"), partition_cols=["published_date"])


def test_report_scales_to_a_hundred_thousand_articles(tmp_path):
    _synthetic(tmp_path)
    agg = report.aggregate(str(tmp_path))
    assert agg.total == 100_000 and agg.bucket == "week"
    html = report.render_html(agg, str(tmp_path), None, None)
    assert len(html) < 3_000_000  # aggregates, not rows
    assert "Articles per week, by source" in html and "other sources" in html
    assert len(agg.dyads) == report.TOP_DYADS and "id='dyads'" in html
    assert agg.stories == 25_000 and sum(r[2] for r in agg.stories_time) == 25_000 and "new stories" in html


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_report_renders_in_headless_chromium(sample_out, tmp_path):
    import matplotlib.image as mpimg

    page = tmp_path / "r.html"
    assert run_cli("report", "--output", str(sample_out), "--html", str(page)).returncode == 0
    shot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars", "--window-size=1200,2400",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )
    pixels = mpimg.imread(shot)[:, :, :3]
    height = pixels.shape[0]
    # every third of the page holds drawn, coloured content (charts), not a blank page
    for part in range(3):
        band = pixels[part * height // 3 : (part + 1) * height // 3]
        coloured = ((band.max(axis=2) - band.min(axis=2)) > 0.2).mean()
        assert coloured > 0.005, f"band {part} looks empty"
