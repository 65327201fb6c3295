"""Object storage: newsbeam against a real S3-compatible server (moto) on 127.0.0.1.

Nothing is mocked inside the process: the server is a separate process speaking the S3
HTTP API, the CLI runs as a subprocess and talks to it through Beam's S3 filesystem
(boto3), and the output is read back with Arrow's own S3 client and DuckDB.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import boto3
import duckdb
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from tests.conftest import SAMPLE_CONFIG, free_port, run_cli, wait_port

BUCKET = "news"
# Credentials for the throwaway server, and no reading of the developer's own AWS setup.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "newsbeam-test",
    "AWS_SECRET_ACCESS_KEY": "newsbeam-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}

PAGE = """<html><head><title>{title}</title><link rel="canonical" href="https://s3-test.example/{slug}">
<meta property="article:published_time" content="2026-10-{day:02d}T09:00:00Z"></head>
<body><article><h1>{title}</h1>{paras}</article></body></html>"""


def page(slug: str, day: int, topic: str) -> str:
    paras = "".join(
        f"<p>In Marrow Bay, {topic}, paragraph {k}: council delegates and the harbour guild met again on "
        f"{slug} and spoke about the ceasefire, the fishing quotas and the roads, officials said.</p>"
        for k in range(5)
    )
    return PAGE.format(title=f"Marrow Bay {slug}", slug=slug, day=day, paras=paras)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """An S3 server process on 127.0.0.1 with an empty bucket; yields its endpoint URL."""
    saved = {k: os.environ.get(k) for k in AWS_ENV}
    os.environ.update(AWS_ENV)
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_port(port, timeout=60)
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def cli(endpoint: str, *args: str, **kw) -> subprocess.CompletedProcess:
    return run_cli(*args, "--s3_endpoint_url", endpoint, env=AWS_ENV, **kw)


def keys(endpoint: str, prefix: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=endpoint)
    found = []
    for page_ in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        found += [o["Key"] for o in page_.get("Contents", [])]
    return sorted(found)


def arrow_s3(endpoint: str) -> pafs.S3FileSystem:
    """A plain pyarrow S3 client, set up the way an analyst would (not newsbeam's helper)."""
    return pafs.S3FileSystem(endpoint_override=endpoint.split("://")[1], scheme="http", region="us-east-1")


def read_back(endpoint: str, prefix: str) -> list[tuple]:
    """(article_id, published_date, event_type) rows, read with pyarrow and queried in DuckDB."""
    con = duckdb.connect()
    con.register("articles", ds.dataset(f"{BUCKET}/{prefix}/articles", filesystem=arrow_s3(endpoint), format="parquet", partitioning="hive"))
    return con.sql(
        "SELECT article_id, CAST(published_date AS VARCHAR), event_type FROM articles ORDER BY article_id"
    ).fetchall()


def local_rows(out) -> list[tuple]:
    return duckdb.sql(
        "SELECT article_id, CAST(published_date AS VARCHAR), event_type "
        f"FROM read_parquet('{out}/articles/**/*.parquet', hive_partitioning = true) ORDER BY article_id"
    ).fetchall()


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("s3-ref") / "out"
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def assert_clean(endpoint: str, prefix: str) -> None:
    """After a run: nothing temporary is left, and only committed Parquet is in the data folders."""
    found = keys(endpoint, prefix)
    assert not [k for k in found if "/_tmp/" in k or ".tmp-" in k or ".newsbeam-probe" in k], found
    for k in found:
        if "/articles/" in k or "/errors/" in k:
            assert k.rsplit("/", 1)[1].startswith("part-") and k.endswith(".parquet"), k


def test_run_rerun_and_incremental_run_on_s3_read_back_with_pyarrow_and_duckdb(s3, local_reference, tmp_path):
    out = f"s3://{BUCKET}/sample"
    first = cli(s3, "run", "--config", str(SAMPLE_CONFIG), "--output", out)
    assert first.returncode == 0, first.stderr
    assert_clean(s3, "sample")
    rows = read_back(s3, "sample")
    assert rows == local_rows(local_reference)  # the same rows as on local disk
    assert len(rows) == len({r[0] for r in rows}) > 5
    assert keys(s3, "sample/_runs/") and keys(s3, "sample/_state/seen/")
    # The README's offline recipe: newsbeam.dataset, the endpoint from the environment.
    from newsbeam.dataset import open_dataset

    os.environ["AWS_ENDPOINT_URL"] = s3
    try:
        articles = open_dataset(out, "articles")
        recipe = duckdb.sql("SELECT article_id, CAST(published_date AS VARCHAR), event_type FROM articles ORDER BY ALL").fetchall()
    finally:
        del os.environ["AWS_ENDPOINT_URL"]
    assert recipe == rows and articles.schema.field("published_date").type == "date32[day]"

    again = cli(s3, "run", "--config", str(SAMPLE_CONFIG), "--output", out)
    assert again.returncode == 0, again.stderr
    assert "written    0 articles" in again.stdout
    assert read_back(s3, "sample") == rows

    (tmp_path / "new.html").write_text(page("late-edition", 28, "a late edition"))
    more = cli(s3, "run", "--config", str(SAMPLE_CONFIG), "--input", str(tmp_path / "new.html"), "--output", out)
    assert more.returncode == 0, more.stderr
    assert "written    1 articles" in more.stdout
    grown = read_back(s3, "sample")
    assert len(grown) == len(rows) + 1 and set(rows) < set(grown)
    assert_clean(s3, "sample")


def test_worker_processes_get_the_store_options(s3, local_reference):
    # Two SDK worker processes write the shards: the S3 endpoint must reach them too.
    out = f"s3://{BUCKET}/multi"
    proc = cli(s3, "run", "--config", str(SAMPLE_CONFIG), "--output", out, "--direct_num_workers", "2", "--direct_running_mode", "multi_processing")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_back(s3, "multi") == local_rows(local_reference)
    assert_clean(s3, "multi")


def test_inputs_config_and_state_on_s3_then_report_and_compact(s3, tmp_path):
    client = boto3.client("s3", endpoint_url=s3)
    for n in range(4):
        client.put_object(Bucket=BUCKET, Key=f"in/day-{n}.html", Body=page(f"story-{n}", 20 + n % 2, f"story {n}").encode())
    config = f"inputs:\n  - s3://{BUCKET}/in/*.html\noutput:\n  path: s3://{BUCKET}/job\n  partition_by: [published_date]\n"
    client.put_object(Bucket=BUCKET, Key="configs/job.yaml", Body=config.encode())
    args = ("run", "--config", f"s3://{BUCKET}/configs/job.yaml", "--state", f"s3://{BUCKET}/job-state")
    proc = cli(s3, *args)
    assert proc.returncode == 0, proc.stderr
    assert "written    4 articles" in proc.stdout
    assert keys(s3, "job-state/seen/") and not keys(s3, "job/_state/")

    # Two more pages in the same two dates: a second file in each partition to compact.
    for n in range(4, 6):
        client.put_object(Bucket=BUCKET, Key=f"in/day-{n}.html", Body=page(f"story-{n}", 20 + n % 2, f"story {n}").encode())
    proc = cli(s3, *args)
    assert proc.returncode == 0, proc.stderr
    assert "written    2 articles" in proc.stdout
    before = read_back(s3, "job")
    assert len(before) == 6

    report = cli(s3, "report", "--output", f"s3://{BUCKET}/job", "--html", str(tmp_path / "report.html"))
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("6 articles, 2026-10-20 to 2026-10-21")
    assert "<svg" in (tmp_path / "report.html").read_text()

    files_before = [k for k in keys(s3, "job/articles/")]
    assert len(files_before) == 4
    compact = cli(s3, "compact", "--output", f"s3://{BUCKET}/job")
    assert compact.returncode == 0, compact.stderr
    assert "compacted 2 partitions: 4 files -> 2 (6 rows)" in compact.stdout
    assert read_back(s3, "job") == before
    assert len(keys(s3, "job/articles/")) == 2
    assert_clean(s3, "job")


def test_a_crash_in_the_commit_on_s3_is_rolled_forward(s3, local_reference):
    out = f"s3://{BUCKET}/crash"
    env = dict(AWS_ENV, NEWSBEAM_CRASH_AT="commit:renamed:3")
    killed = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", out, "--s3_endpoint_url", s3, env=env)
    assert killed.returncode == -9, killed.stderr
    assert keys(s3, "crash/_tmp/")  # the journal and the files not yet moved
    assert not keys(s3, "crash/_runs/")

    rerun = cli(s3, "run", "--config", str(SAMPLE_CONFIG), "--output", out)
    assert rerun.returncode == 0, rerun.stderr
    assert "finished the commit of interrupted run" in rerun.stderr
    assert "written    0 articles" in rerun.stdout
    assert read_back(s3, "crash") == local_rows(local_reference)
    assert_clean(s3, "crash")


def test_stream_commits_each_poll_to_s3(s3, tmp_path):
    feed = tmp_path / "feed.rss"
    items = "".join(
        f"<item><title>Marrow Bay bulletin {n}</title><link>https://s3-test.example/bulletin-{n}</link>"
        f"<pubDate>Tue, 2{n} Oct 2026 10:00:00 GMT</pubDate><description><![CDATA[{page(f'bulletin-{n}', 20 + n, 'a bulletin')}]]></description></item>"
        for n in range(3)
    )
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Marrow Bay Bulletins</title>{items}</channel></rss>')
    proc = cli(s3, "stream", "--feed", str(feed), "--output", f"s3://{BUCKET}/stream", "--poll-interval", "1", "--max-polls", "2", timeout=180)
    assert proc.returncode == 0, proc.stderr
    rows = read_back(s3, "stream")
    assert len(rows) == len({r[0] for r in rows}) == 3
    assert len(keys(s3, "stream/_runs/")) == 1  # the second poll found nothing new: no empty batch


def test_an_unreachable_store_fails_fast_with_one_line(s3):
    closed = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    proc = cli(closed, "run", "--config", str(SAMPLE_CONFIG), "--output", f"s3://{BUCKET}/nowhere", timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "is not writable: Could not connect to the endpoint URL" in proc.stderr
    assert time.monotonic() - start < 60
    missing = cli(s3, "run", "--config", str(SAMPLE_CONFIG), "--output", "s3://no-such-bucket/out")
    assert missing.returncode == 1 and "NoSuchBucket" in missing.stderr, missing.stderr


LOCK_KEY = "leased/.newsbeam.lock"


def put_lease(endpoint: str, host: str, pid: int, seconds: float) -> None:
    holder = {"pid": pid, "host": host, "run_id": f"run-on-{host}", "since": "2026-11-01T00:00:00Z", "lease_seconds": seconds}
    boto3.client("s3", endpoint_url=endpoint).put_object(Bucket=BUCKET, Key=LOCK_KEY, Body=json.dumps(holder).encode())


def test_a_live_lease_from_another_machine_keeps_a_run_out_and_a_stale_one_is_taken_over(s3):
    out = f"s3://{BUCKET}/leased"
    put_lease(s3, "other-machine", 4242, seconds=4)
    refused = cli(s3, "run", "--config", str(SAMPLE_CONFIG), "--output", out)
    assert refused.returncode == 0
    assert "another run (run-on-other-machine, pid 4242 on other-machine" in refused.stderr
    assert not keys(s3, "leased/articles/")

    time.sleep(5)  # the other launcher has not renewed its lease for a whole term
    proc = cli(s3, "run", "--config", str(SAMPLE_CONFIG), "--output", out, "-v")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "taking over the lease of run run-on-other-machine" in proc.stderr
    assert keys(s3, "leased/articles/")
    assert LOCK_KEY not in keys(s3, "leased/")  # released at the end of the run


def test_a_lease_left_by_a_dead_process_of_this_machine_is_taken_over_at_once(s3):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    put_lease(s3, socket.gethostname(), dead.pid, seconds=900)
    proc = cli(s3, "run", "--config", str(SAMPLE_CONFIG), "--output", f"s3://{BUCKET}/leased", "-v")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "taking over the lease" in proc.stderr


def test_a_stream_on_one_machine_keeps_a_run_on_another_out_by_renewing_its_lease(s3, tmp_path):
    # Two "machines": separate lock caches, so only the store's lease stands between
    # them. The lease term (3 s) is much shorter than the stream: it must be renewed.
    out = f"s3://{BUCKET}/two-hosts"
    env = {**AWS_ENV, "NEWSBEAM_LEASE_SECONDS": "3"}
    stream = subprocess.Popen(
        [sys.executable, "-m", "newsbeam", "stream", "--config", str(SAMPLE_CONFIG), "--output", out,
         "--s3_endpoint_url", s3, "--poll-interval", "1", "--max-polls", "15"],
        env={**os.environ, **env, "XDG_CACHE_HOME": str(tmp_path / "machine-a")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "two-hosts/.newsbeam.lock" not in keys(s3, "two-hosts/") and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(4)  # more than a term: only renewals keep the lease alive now
        run = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", out, "--s3_endpoint_url", s3,
                      env={**env, "XDG_CACHE_HOME": str(tmp_path / "machine-b")})
        assert run.returncode == 0, run.stderr[-3000:]
        assert "another run" in run.stderr and "is writing to" in run.stderr, run.stderr[-3000:]
        assert "written" not in run.stdout
    finally:
        _, err = stream.communicate(timeout=300)
    assert stream.returncode == 0, err[-3000:]
    assert "lost the lease" not in err
    assert "two-hosts/.newsbeam.lock" not in keys(s3, "two-hosts/")


def test_a_stream_whose_lease_is_taken_over_stops_and_says_so(s3, tmp_path):
    out = f"s3://{BUCKET}/lost"
    stream = subprocess.Popen(
        [sys.executable, "-m", "newsbeam", "stream", "--config", str(SAMPLE_CONFIG), "--output", out,
         "--s3_endpoint_url", s3, "--poll-interval", "1"],
        env={**os.environ, **AWS_ENV, "NEWSBEAM_LEASE_SECONDS": "3"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "lost/.newsbeam.lock" not in keys(s3, "lost/") and time.monotonic() < deadline:
            time.sleep(0.2)
        holder = {"pid": 1, "host": "other-machine", "run_id": "usurper", "lease_seconds": 900}
        boto3.client("s3", endpoint_url=s3).put_object(Bucket=BUCKET, Key="lost/.newsbeam.lock", Body=json.dumps(holder).encode())
        _, err = stream.communicate(timeout=120)
    finally:
        if stream.poll() is None:
            stream.kill()
    assert stream.returncode == 1, err[-3000:]
    assert "the lease on s3://news/lost was taken over by another launcher" in err
    # The usurper's lease is left alone.
    got = boto3.client("s3", endpoint_url=s3).get_object(Bucket=BUCKET, Key="lost/.newsbeam.lock")
    assert json.loads(got["Body"].read())["run_id"] == "usurper"


def test_lease_release_on_a_store_without_conditional_deletes(s3):
    import botocore.exceptions
    from apache_beam.options.pipeline_options import PipelineOptions

    from newsbeam import storage
    from newsbeam.locking import S3Lease

    storage.configure(PipelineOptions(["--s3_endpoint_url", s3]))
    try:
        lease = S3Lease(f"s3://{BUCKET}/no-conditional-delete", {"pid": os.getpid(), "host": socket.gethostname(), "run_id": "r"}, term=60)
        assert lease.try_acquire()
        real_delete = lease.client.delete_object

        def delete_object(**kwargs):
            if "IfMatch" in kwargs:
                raise botocore.exceptions.ClientError({"Error": {"Code": "NotImplemented", "Message": "no"}}, "DeleteObject")
            return real_delete(**kwargs)

        lease.client.delete_object = delete_object
        lease.release()
        assert keys(s3, "no-conditional-delete/") == []
    finally:
        storage.configure(PipelineOptions([]))
