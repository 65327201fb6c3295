"""Checks on the real development data in ../shared/data; skipped when it is absent."""

import duckdb
import pytest

from newsbeam.transforms.read import read_local_file
from newsbeam.transforms.records import Failure, FeedItem
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
