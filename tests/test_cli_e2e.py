"""End to end through the real CLI: the sample, a rerun, bad inputs, and the readers."""

import json
import os
import shutil

import duckdb
import pyarrow.dataset as ds
import pytest

from tests.conftest import REPO, SAMPLE_CONFIG, run_cli

SAMPLES = REPO / "configs" / "samples"
EXPECTED_SAMPLE_ARTICLES = 11  # 12 documents, one of them a tracking-URL duplicate


def _manifest(out):
    (path,) = sorted((out / "_runs").glob("*.json"))[-1:]
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "out"
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_sample_run_summary_and_layout(sample_run):
    out, proc = sample_run
    assert "written    11 articles" in proc.stdout
    assert "read_parquet(" in proc.stdout and "hive_partitioning = true" in proc.stdout
    manifest = _manifest(out)
    assert manifest["written"]["articles"] == EXPECTED_SAMPLE_ARTICLES
    assert manifest["skipped"]["duplicate_in_run"] == 1
    assert manifest["counts"]["FeedItems"] == 3
    parts = sorted(p.name for p in (out / "articles").iterdir())
    assert all(p.startswith("published_date=") for p in parts)
    files = list((out / "articles").rglob("*"))
    assert all(f.is_dir() or (f.suffix == ".parquet" and manifest["run_id"] in f.name) for f in files)
    assert not list(out.glob("_tmp/*"))


def test_sample_output_reads_in_duckdb(sample_run):
    out, _ = sample_run
    con = duckdb.connect()
    rel = f"read_parquet('{out}/articles/**/*.parquet', hive_partitioning = true)"
    n, ids, types = con.execute(f"SELECT count(*), count(DISTINCT article_id), list(DISTINCT event_type) FROM {rel}").fetchone()
    assert n == ids == EXPECTED_SAMPLE_ARTICLES
    assert set(types) <= {"AGREE", "CONSULT", "SUPPORT", "CONCEDE", "COOPERATE", "AID", "RETREAT", "REQUEST", "ACCUSE", "REJECT", "THREATEN", "PROTEST", "SANCTION", "MOBILIZE", "COERCE", "ASSAULT", "NONE"}
    row = con.execute(
        f"SELECT published_date, typeof(published_date), event_scores[event_type], stances[1].label, len(stances) "
        f"FROM {rel} WHERE title LIKE 'Attack near Orrin Pass%'"
    ).fetchone()
    assert str(row[0]) == "2026-10-20" and row[1] == "DATE"
    assert con.execute(f"SELECT event_type FROM {rel} WHERE title LIKE 'Attack near Orrin Pass%'").fetchone()[0] == "ASSAULT"
    assert row[2] > 0.3 and row[3] in ("agree", "disagree", "discuss", "unrelated") and row[4] == 3
    urls = [r[0] for r in con.execute(f"SELECT canonical_url FROM {rel} WHERE canonical_url IS NOT NULL").fetchall()]
    assert not any("utm_" in u for u in urls)
    errors = con.execute(f"SELECT count(*) FROM read_parquet('{out}/errors/*.parquet')").fetchone()[0] if list((out / "errors").glob("*.parquet")) else 0
    assert errors == 0


def test_sample_output_reads_in_pyarrow_dataset(sample_run):
    out, _ = sample_run
    table = ds.dataset(out / "articles", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == EXPECTED_SAMPLE_ARTICLES
    assert "published_date" in table.column_names
    assert str(table.schema.field("published_at").type) == "timestamp[us, tz=UTC]"
    assert table.schema.field("stances").type.value_type.names == ["claim_id", "target", "label", "score", "confidence", "evidence"]


def test_rerun_writes_nothing_new(tmp_path):
    out = tmp_path / "out"
    assert run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out)).returncode == 0
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    manifest = _manifest(out)
    assert manifest["written"]["articles"] == 0
    # as many already stored as the output holds; the sample's within-run duplicate again a duplicate
    assert manifest["skipped"]["already_stored"] == EXPECTED_SAMPLE_ARTICLES
    assert manifest["skipped"]["duplicate_in_run"] == 1
    n = duckdb.execute(f"SELECT count(*) FROM read_parquet('{out}/articles/**/*.parquet')").fetchone()[0]
    assert n == EXPECTED_SAMPLE_ARTICLES


def test_bad_inputs_never_crash_the_run(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLES / "veloria-talks-resume.html", src / "good.html")
    (src / "empty.txt").write_bytes(b"")
    (src / "junk.html").write_bytes(os.urandom(4096))
    (src / "wrong-encoding.html").write_bytes(
        ('<html><head><meta charset="utf-8"></head><body><article><p>'
         + "Grüße aus Kästel, wo die Brücke über die Orrin nach acht Monaten wieder geöffnet wurde. " * 4
         + "</p></article></body></html>").encode("latin-1")
    )
    (src / "undeclared.txt").write_bytes(
        ("Überschrift ohne Kodierung\n\n" + "Die Bürger von Tarn feierten die Öffnung der Brücke am Donnerstag. " * 5).encode("cp1252")
    )
    (src / "broken.rss").write_bytes(b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title><item><title>")
    (src / "rows.jsonl").write_bytes(b'{"text": 5}\n[1,2]\n{"title": "ok", "text": "' + b"word " * 30 + b'"}\n')
    with open(src / "huge.html", "wb") as fh:  # 50 MB, sparse: cheap to make
        fh.truncate(50 * 1024 * 1024)
    os.symlink(src / "does-not-exist.html", src / "dangling.html")
    proc = run_cli(
        "run", "--input", str(src / "*"), "--input", str(tmp_path / "nothing-*.txt"),
        "--input", str(src / "dangling.html"), "--output", str(tmp_path / "out"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "matches no file" in proc.stderr
    out = tmp_path / "out"
    articles = duckdb.execute(f"SELECT input, text FROM read_parquet('{out}/articles/**/*.parquet')").fetchall()
    names = sorted(os.path.basename(a[0]).split(":")[0] for a in articles)
    assert names == ["good.html", "rows.jsonl", "undeclared.txt", "wrong-encoding.html"]
    texts = " ".join(a[1] for a in articles)
    assert "Grüße aus Kästel" in texts and "Bürger von Tarn" in texts
    errors = duckdb.execute(f"SELECT input, stage, error_type FROM read_parquet('{out}/errors/*.parquet')").fetchall()
    by_input = {os.path.basename(i).split(":")[0]: (s, t) for i, s, t in errors}
    assert by_input["empty.txt"] == ("read", "EmptyFile")
    assert by_input["junk.html"] == ("read", "Undecodable")
    assert by_input["broken.rss"] == ("read", "MalformedFeed")
    assert by_input["huge.html"] == ("read", "TooLarge")
    assert by_input["nothing-*.txt"] == ("read", "NoMatch")
    assert by_input["rows.jsonl"] == ("read", "BadJsonLine")
    assert by_input["dangling.html"] == ("read", "BrokenLink")  # named, not skipped
    assert len([e for e in errors if e[0].endswith(("rows.jsonl:1", "rows.jsonl:2"))]) == 2
