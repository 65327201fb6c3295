import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from newsbeam.commit import commit_run
from newsbeam.layout import file_schema, partition_values, sanitize_partition_value
from newsbeam.records import ERROR_SCHEMA, UTC, RowKey, ShardInfo
from newsbeam.storage import write_table


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2026-10-14", "2026-10-14"),
        ("../../etc", "etc"),
        ("a/b\\c", "a_b_c"),
        ("..", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
        ("x\x00y\ny", "x_y_y"),
        ("source=evil", "source_evil"),
        ("Süddeutsche Zeitung", "Süddeutsche_Zeitung"),
        ("a" * 300, "a" * 100),
    ],
)
def test_sanitize_partition_value(value, expected):
    assert sanitize_partition_value(value) == expected


def test_partition_values_fall_back_on_fetch_date():
    row = {"published_at": None, "fetched_at": dt.datetime(2026, 11, 2, 23, 0, tzinfo=UTC), "source": "../x"}
    assert partition_values(row, ["published_date", "source"]) == [("published_date", "2026-11-02"), ("source", "x")]
    row["published_at"] = dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert partition_values(row, ["published_month"]) == [("published_month", "2026-11")]


def test_column_partitions_leave_the_file_schema():
    assert "source" not in file_schema("articles", ["published_date", "source"]).names
    assert "source" in file_schema("articles", ["published_date"]).names


def _error_shard(tmp, run_id, name, rows):
    table = pa.table(
        {
            "run_id": [run_id] * rows, "stage": ["read"] * rows, "input": [f"i{n}" for n in range(rows)],
            "error_type": ["X"] * rows, "message": ["m"] * rows, "at": [dt.datetime(2026, 1, 1, tzinfo=UTC)] * rows,
        },
        schema=ERROR_SCHEMA,
    )
    rel = f"errors/{name}"
    path = str(tmp / "_tmp" / run_id / rel)
    write_table(path, table, "zstd")
    return ShardInfo("errors", path, rel, rows, (("read", "X", rows),))


def test_commit_moves_files_drops_losers_then_writes_manifest_and_state(tmp_path):
    run = "r1"
    keep = _error_shard(tmp_path, run, "part-r1-a.parquet", 3)
    # an "articles" shard whose row 1 lost deduplication (schema does not matter for the filter)
    dup = _error_shard(tmp_path, run, "part-r1-b.parquet", 2)
    dup = ShardInfo("articles", dup.temp_path, "articles/d=1/part-r1-b.parquet", 2)
    winners = [RowKey("id0", "f0", "r", dup.relative_path, 0)]
    losers = [(RowKey("id1", "f1", "r", dup.relative_path, 1), "duplicate")]
    manifest = commit_run(str(tmp_path), str(tmp_path / "_state"), run, [keep, dup], winners, losers, {"counts": {}})
    assert manifest["written"] == {"articles": 1, "errors": 3, "stories": 0, "files": 2}
    assert manifest["failed"] == {"read": {"X": 3}}
    assert manifest["skipped"]["duplicate_in_run"] == 1
    assert pq.read_table(tmp_path / "articles/d=1/part-r1-b.parquet").num_rows == 1
    assert pq.read_table(tmp_path / "errors/part-r1-a.parquet").num_rows == 3
    assert (tmp_path / "_runs" / "r1.json").exists()
    assert pq.read_table(tmp_path / "_state/seen/r1.parquet").column("article_id").to_pylist() == ["id0"]
    assert not (tmp_path / "_tmp" / run).exists()


@pytest.mark.parametrize(
    ("endpoint", "override", "scheme"),
    [("http://127.0.0.1:9000", "127.0.0.1:9000", "http"), ("https://minio.internal/", "minio.internal", "https"), ("minio.internal:9000", "minio.internal:9000", "https")],
)
def test_arrow_filesystem_follows_beams_s3_options(endpoint, override, scheme, monkeypatch):
    # The report and newsbeam.dataset read with Arrow's client: it must reach the store
    # Beam's writers were pointed at, with or without a scheme in the endpoint.
    from apache_beam.options.pipeline_options import PipelineOptions

    from newsbeam import storage

    captured = {}
    monkeypatch.setattr("pyarrow.fs.S3FileSystem", lambda **kw: captured.update(kw) or "fs")
    monkeypatch.setattr(storage, "_OPTIONS", PipelineOptions(["--s3_endpoint_url", endpoint, "--s3_region_name", "eu-west-1"]))
    assert storage.arrow_filesystem("s3://bucket/out/articles") == ("fs", "bucket/out/articles")
    assert captured == {"endpoint_override": override, "scheme": scheme, "region": "eu-west-1"}
