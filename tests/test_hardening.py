"""Hostile and odd inputs never stop a run nor corrupt the output (issue: hardening)."""

import datetime as dt
import json
import os

import duckdb
import pytest

from tests.conftest import run_cli

GOOD = ("Delegates of the Veloria government and the Harrow Front met in Lenmark on Monday to discuss the "
        "exchange of prisoners, the reopening of the mountain roads and the return of families to the valley. "
        "Mediators from the Lakes Council said the talks would resume next week.")


def _errors(out):
    return duckdb.sql(f"SELECT input, error_type FROM read_parquet('{out}/errors/*.parquet')").fetchall()


def _inputs(out):
    return sorted(r[0] for r in duckdb.sql(f"SELECT input FROM read_parquet('{out}/articles/**/*.parquet')").fetchall())


def test_undecodable_file_name_and_fifo_are_error_rows_and_the_rest_goes_through(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.txt").write_text("Talks in Lenmark\n" + GOOD)
    with open(os.path.join(os.fsencode(src), b"bad\xff.txt"), "wb") as fh:
        fh.write(("Other talks\n" + GOOD.replace("Monday", "Tuesday")).encode())
    os.mkfifo(src / "pipe.txt")
    out = tmp_path / "out"
    proc = run_cli("run", "--input", str(src), "--output", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert _inputs(out) == [str(src / "good.txt")]
    errors = {(os.path.basename(i), t) for i, t in _errors(out)}
    assert errors == {("bad\ufffd.txt", "UndecodableFileName"), ("pipe.txt", "NotARegularFile")}


def test_implausible_dates_are_unknown_and_partitions_stay_readable(tmp_path):
    rows = [
        {"id": "old", "text": GOOD, "title": "Old", "published_at": "0001-01-01T00:00:00Z"},
        {"id": "future", "text": GOOD.replace("Monday", "Friday"), "title": "Future", "published_at": "2999-05-01"},
        {"id": "ok", "text": GOOD.replace("Monday", "Sunday"), "title": "Fine", "published_at": "2026-10-01T10:00:00Z"},
    ]
    src = tmp_path / "wire.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    assert run_cli("run", "--input", str(src), "--output", str(out)).returncode == 0
    parts = sorted(p.name for p in (out / "articles").iterdir())
    assert all(len(p.split("=", 1)[1]) == 10 for p in parts), parts
    got = dict(duckdb.sql(f"SELECT title, published_at FROM read_parquet('{out}/articles/**/*.parquet', hive_partitioning=true)").fetchall())
    assert got["Old"] is None and got["Future"] is None and got["Fine"].year == 2026
    import pyarrow.dataset as ds

    assert ds.dataset(out / "articles", format="parquet", partitioning="hive").to_table().num_rows == 3
    assert run_cli("report", "--output", str(out)).returncode == 0


def test_partition_dates_are_zero_padded():
    from newsbeam.layout import format_partition_date

    assert format_partition_date(dt.datetime(999, 1, 2, tzinfo=dt.timezone.utc), "%Y-%m-%d") == "0999-01-02"


def test_report_renders_dollar_signs_literally(tmp_path):
    src = tmp_path / "wire.jsonl"
    rows = [{"id": f"d{i}", "text": GOOD.replace("Monday", day), "title": f"Costs $5 to $10 {day}", "source": "Price $x^{2}$ Wire",
             "published_at": f"2026-10-0{i + 1}"} for i, day in enumerate(("Monday", "Tuesday"))]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    assert run_cli("run", "--input", str(src), "--output", str(out)).returncode == 0
    proc = run_cli("report", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Price $x^{2}$ Wire" in (out / "report.html").read_text()


BAD_TAG_LINES = [  # (line, the id its error row keeps)
    (b'{"id": 1, "title": 5, "text": "Rebels attacked the town."}', 1),
    (b'{"id": 2, "title": ["a"], "text": "Rebels attacked the town."}', 2),
    (b"[" * 100_000 + b"]" * 100_000, None),
    (b'{"id": 4, "text": "Rebels \xff attacked"}', None),
    (b'{"id": 5, "text": "Rebels \\ud800 attacked"}', 5),
    (b'{"id": NaN, "text": "Rebels attacked the town."}', None),
    (b'{"id": 1e999, "text": "Rebels attacked the town.", "title": 1}', None),
    (b'{"id": 8, "text": "ok", "targets": [1, 2]}', 8),
]


def test_tag_bad_lines_become_error_rows_in_place(tmp_path):
    # Every bad line between two good ones, in one run: each is an error row in its
    # place, and the good line after it is still tagged.
    inp = tmp_path / "in.jsonl"
    good = json.dumps({"id": "g", "text": "Protesters marched on parliament."}).encode()
    inp.write_bytes(b"".join(good + b"\n" + line + b"\n" for line, _ in BAD_TAG_LINES) + good + b"\n")
    out = tmp_path / "out.jsonl"
    proc = run_cli("tag", str(inp), str(out))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(ln) for ln in out.read_text(encoding="utf-8").splitlines()]  # every line valid JSON
    assert len(rows) == 2 * len(BAD_TAG_LINES) + 1
    assert all(r["id"] == "g" and r["event_type"] for r in rows[::2])
    for (line, expected_id), row in zip(BAD_TAG_LINES, rows[1::2], strict=True):
        assert set(row) == {"id", "error"} and row["id"] == expected_id, line[:60]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 400 KB tmpfs (needs root, as on CI); skips where it cannot be mounted."""
    import subprocess

    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_is_one_line_and_exit_1_and_the_next_run_recovers(tmp_path, tiny_disk):
    import random
    import string

    rng = random.Random(7)
    src = tmp_path / "wire.jsonl"
    rows = []
    for i in range(120):  # incompressible text: about 1.2 MB of Parquet, three times the disk
        words = " ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(1500))
        rows.append(json.dumps({"id": f"r{i}", "title": f"Report {i}", "text": words, "published_at": "2026-10-01"}))
    src.write_text("\n".join(rows) + "\n")
    out = tiny_disk / "out"
    proc = run_cli("run", "--input", str(src), "--output", str(out))
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("newsbeam:") or "Traceback" in ln or "Error" in ln]
    assert any("no space left on device" in ln for ln in lines), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert not list(out.glob("_runs/*.json"))  # nothing committed
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(rows[:3]) + "\n")
    proc = run_cli("run", "--input", str(small), "--output", str(out))  # starts by dropping the dead run's files
    assert proc.returncode == 0, proc.stderr
    assert len(_inputs(out)) == 3 and not list((out / "_tmp").glob("*"))


def test_links_out_of_the_input_tree_are_error_rows_unless_allowed(tmp_path):
    src, outside = tmp_path / "in", tmp_path / "outside"
    src.mkdir()
    outside.mkdir()
    (src / "good.txt").write_text("Talks in Lenmark\n" + GOOD)
    (outside / "secret.txt").write_text("Private notes\n" + GOOD.replace("Monday", "Thursday"))
    (outside / "dir").mkdir()
    os.symlink(outside / "secret.txt", src / "secret.txt")
    os.symlink(src / "nowhere.txt", src / "dangling.txt")
    os.symlink(outside / "dir", src / "linked-dir")
    (src / "sub").mkdir()
    os.symlink(src / "sub", src / "sub-link")
    out = tmp_path / "out"
    assert run_cli("run", "--input", str(src), "--output", str(out)).returncode == 0
    assert _inputs(out) == [str(src / "good.txt")]
    errors = {(os.path.basename(i), t) for i, t in _errors(out)}
    assert errors == {("secret.txt", "LinkOutsideInput"), ("dangling.txt", "BrokenLink"), ("linked-dir", "LinkOutsideInput"),
                      ("sub-link", "LinkedDirectory")}
    # the same through a glob, and opted in
    config = tmp_path / "follow.yaml"
    config.write_text(f"inputs: ['{src}/*.txt']\nread:\n  follow_links: true\n")
    out2 = tmp_path / "out2"
    assert run_cli("run", "--config", str(config), "--output", str(out2)).returncode == 0
    assert _inputs(out2) == [str(src / "good.txt"), str(src / "secret.txt")]


def test_article_text_is_capped_and_huge_lines_are_rejected_before_parsing(tmp_path):
    long_text = " ".join(GOOD for _ in range(20))  # about 6,000 characters
    rows = [{"id": "long", "title": "Long", "text": long_text[:3000]}, {"id": "huge", "title": "Huge", "text": long_text},
            {"id": "fine", "title": "Fine", "text": GOOD}]
    src = tmp_path / "wire.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    config = tmp_path / "cap.yaml"
    config.write_text(f"inputs: ['{src}']\nread:\n  max_article_chars: 1000\n")
    out = tmp_path / "out"
    assert run_cli("run", "--config", str(config), "--output", str(out)).returncode == 0
    texts = dict(duckdb.sql(f"SELECT title, text FROM read_parquet('{out}/articles/**/*.parquet')").fetchall())
    assert set(texts) == {"Long", "Fine"} and 900 < len(texts["Long"]) <= 1000
    assert [(i.rsplit(":", 1)[-1], t) for i, t in _errors(out)] == [("2", "TooLarge")]
