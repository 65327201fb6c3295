"""Object storage: newsbeam against real S3 and GCS API servers on 127.0.0.1.

Nothing is mocked inside the process: each server (moto for S3, gcp-storage-emulator for
GCS) is a separate process speaking the store's HTTP API; the CLI runs as a subprocess
and talks to it through Beam's S3 (boto3) or GCS (google-cloud-storage) filesystem; the
output is read back with Arrow's own S3/GCS clients and DuckDB. The tests that are not
about one store run on both.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import boto3
import duckdb
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from tests.conftest import SAMPLE_CONFIG, free_port, run_cli, wait_port

BUCKET = "news"
# Credentials for the throwaway S3 server, and no reading of the developer's AWS setup.
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


@dataclass
class Store:
    """One object store under test, as the CLI and a reader see it."""

    scheme: str
    env: dict  # for the CLI's process
    args: list  # extra CLI flags
    keys: Callable[[str], list]  # object names under a prefix
    put: Callable[[str, bytes], None]
    arrow: pafs.FileSystem  # set up by hand, as an analyst would (not newsbeam's helper)

    def uri(self, prefix: str) -> str:
        return f"{self.scheme}://{BUCKET}/{prefix}"


@dataclass
class _Server:
    process: subprocess.Popen
    log: object

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _start(tmp_path_factory, name: str, argv: list[str], port: int) -> _Server:
    log = open(tmp_path_factory.mktemp(name) / "server.log", "wb")
    server = _Server(subprocess.Popen([sys.executable, "-m", *argv], stdout=log, stderr=subprocess.STDOUT), log)
    try:
        wait_port(port, timeout=60)
    except TimeoutError:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def s3_store(tmp_path_factory):
    saved = {k: os.environ.get(k) for k in AWS_ENV}
    os.environ.update(AWS_ENV)
    port = free_port()
    server = _start(tmp_path_factory, "moto", ["moto.server", "-H", "127.0.0.1", "-p", str(port)], port)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint)
    try:
        client.create_bucket(Bucket=BUCKET)

        def keys(prefix: str) -> list[str]:
            found = []
            for listing in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
                found += [o["Key"] for o in listing.get("Contents", [])]
            return sorted(found)

        yield Store(
            "s3", dict(AWS_ENV), ["--s3_endpoint_url", endpoint], keys,
            lambda key, body: client.put_object(Bucket=BUCKET, Key=key, Body=body),
            pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http", region="us-east-1"),
        )
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def gcs_store(tmp_path_factory):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage as gcs

    port = free_port()
    server = _start(tmp_path_factory, "gcs", ["gcp_storage_emulator", "start", "--host=127.0.0.1", f"--port={port}", "--in-memory"], port)
    env = {"STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}", "GOOGLE_CLOUD_PROJECT": "newsbeam-test"}
    saved = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = env["STORAGE_EMULATOR_HOST"]  # the client library reads it
    try:
        client = gcs.Client(project="newsbeam-test", credentials=AnonymousCredentials())
        bucket = client.create_bucket(BUCKET)
        yield Store(
            "gs", env, [], lambda prefix: sorted(b.name for b in client.list_blobs(BUCKET, prefix=prefix)),
            lambda key, body: bucket.blob(key).upload_from_string(body),
            pafs.GcsFileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http", anonymous=True),
        )
    finally:
        server.stop()
        if saved is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = saved


@pytest.fixture(params=["s3", "gs"])
def store(request) -> Store:
    return request.getfixturevalue({"s3": "s3_store", "gs": "gcs_store"}[request.param])


def cli(store: Store, *args: str, **kw) -> subprocess.CompletedProcess:
    return run_cli(*args, *store.args, env=store.env, **kw)


def read_back(store: Store, prefix: str) -> list[tuple]:
    """(article_id, published_date, event_type) rows, read with pyarrow and queried in DuckDB."""
    con = duckdb.connect()
    con.register("articles", ds.dataset(f"{BUCKET}/{prefix}/articles", filesystem=store.arrow, format="parquet", partitioning="hive"))
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
    out = tmp_path_factory.mktemp("store-ref") / "out"
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def assert_clean(store: Store, prefix: str) -> None:
    """After a run: nothing temporary is left, and only committed Parquet is in the data folders."""
    found = store.keys(prefix)
    assert not [k for k in found if "/_tmp/" in k or ".tmp-" in k or ".newsbeam-probe" in k], found
    for k in found:
        if "/articles/" in k or "/errors/" in k:
            assert k.rsplit("/", 1)[1].startswith("part-") and k.endswith(".parquet"), k


def test_run_rerun_and_incremental_run_read_back_with_pyarrow_and_duckdb(store, local_reference, tmp_path, monkeypatch):
    out = store.uri("sample")
    first = cli(store, "run", "--config", str(SAMPLE_CONFIG), "--output", out)
    assert first.returncode == 0, first.stderr
    assert_clean(store, "sample")
    rows = read_back(store, "sample")
    assert rows == local_rows(local_reference)  # the same rows as on local disk
    assert len(rows) == len({r[0] for r in rows}) > 5
    assert store.keys("sample/_runs/") and store.keys("sample/_state/seen/")
    # The README's offline recipe: newsbeam.dataset, the endpoint from the environment.
    from newsbeam.dataset import open_dataset

    for name, value in store.env.items():
        monkeypatch.setenv(name, value)
    if store.scheme == "s3":
        monkeypatch.setenv("AWS_ENDPOINT_URL", store.args[1])
    articles = open_dataset(out, "articles")
    recipe = duckdb.sql("SELECT article_id, CAST(published_date AS VARCHAR), event_type FROM articles ORDER BY ALL").fetchall()
    assert recipe == rows and articles.schema.field("published_date").type == "date32[day]"

    again = cli(store, "run", "--config", str(SAMPLE_CONFIG), "--output", out)
    assert again.returncode == 0, again.stderr
    assert "written    0 articles" in again.stdout
    assert read_back(store, "sample") == rows

    (tmp_path / "new.html").write_text(page("late-edition", 28, "a late edition"))
    more = cli(store, "run", "--config", str(SAMPLE_CONFIG), "--input", str(tmp_path / "new.html"), "--output", out)
    assert more.returncode == 0, more.stderr
    assert "written    1 articles" in more.stdout
    grown = read_back(store, "sample")
    assert len(grown) == len(rows) + 1 and set(rows) < set(grown)
    assert_clean(store, "sample")


def test_worker_processes_get_the_store_options(s3_store, local_reference):
    # Two SDK worker processes write the shards: the S3 endpoint must reach them too.
    proc = cli(s3_store, "run", "--config", str(SAMPLE_CONFIG), "--output", s3_store.uri("multi"),
               "--direct_num_workers", "2", "--direct_running_mode", "multi_processing")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_back(s3_store, "multi") == local_rows(local_reference)
    assert_clean(s3_store, "multi")


def test_inputs_config_and_state_in_the_store_then_report_and_compact(store, tmp_path):
    for n in range(4):
        store.put(f"in/day-{n}.html", page(f"story-{n}", 20 + n % 2, f"story {n}").encode())
    config = f"inputs:\n  - {store.uri('in/*.html')}\noutput:\n  path: {store.uri('job')}\n  partition_by: [published_date]\n"
    store.put("configs/job.yaml", config.encode())
    args = ("run", "--config", store.uri("configs/job.yaml"), "--state", store.uri("job-state"))
    proc = cli(store, *args)
    assert proc.returncode == 0, proc.stderr
    assert "written    4 articles" in proc.stdout
    assert store.keys("job-state/seen/") and not store.keys("job/_state/")

    # Two more pages in the same two dates: a second file in each partition to compact.
    for n in range(4, 6):
        store.put(f"in/day-{n}.html", page(f"story-{n}", 20 + n % 2, f"story {n}").encode())
    proc = cli(store, *args)
    assert proc.returncode == 0, proc.stderr
    assert "written    2 articles" in proc.stdout
    before = read_back(store, "job")
    assert len(before) == 6

    report = cli(store, "report", "--output", store.uri("job"), "--html", str(tmp_path / "report.html"))
    assert report.returncode == 0, report.stderr
    # the six pages share a template's text: one story
    assert report.stdout.startswith("6 articles (1 story), 2026-10-20 to 2026-10-21")
    assert "<svg" in (tmp_path / "report.html").read_text()

    assert len(store.keys("job/articles/")) == 4
    compact = cli(store, "compact", "--output", store.uri("job"))
    assert compact.returncode == 0, compact.stderr
    # two article partitions (6 rows) and stories/ (one row from each of the two runs)
    assert "compacted 3 partitions: 6 files -> 3 (8 rows)" in compact.stdout
    assert read_back(store, "job") == before
    assert len(store.keys("job/articles/")) == 2 and len(store.keys("job/stories/")) == 1
    assert_clean(store, "job")


def test_a_crash_in_the_commit_is_rolled_forward(store, local_reference):
    out = store.uri("crash")
    killed = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", out, *store.args,
                     env={**store.env, "NEWSBEAM_CRASH_AT": "commit:renamed:3"})
    assert killed.returncode == -9, killed.stderr
    assert store.keys("crash/_tmp/")  # the journal and the files not yet moved
    assert not store.keys("crash/_runs/")

    rerun = cli(store, "run", "--config", str(SAMPLE_CONFIG), "--output", out)
    assert rerun.returncode == 0, rerun.stderr
    assert "finished the commit of interrupted run" in rerun.stderr
    assert "written    0 articles" in rerun.stdout
    assert read_back(store, "crash") == local_rows(local_reference)
    assert_clean(store, "crash")


def test_stream_commits_each_poll(store, tmp_path):
    feed = tmp_path / "feed.rss"
    items = "".join(
        f"<item><title>Marrow Bay bulletin {n}</title><link>https://s3-test.example/bulletin-{n}</link>"
        f"<pubDate>Tue, 2{n} Oct 2026 10:00:00 GMT</pubDate><description><![CDATA[{page(f'bulletin-{n}', 20 + n, 'a bulletin')}]]></description></item>"
        for n in range(3)
    )
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Marrow Bay Bulletins</title>{items}</channel></rss>')
    proc = cli(store, "stream", "--feed", str(feed), "--output", store.uri("stream"), "--poll-interval", "1", "--max-polls", "2", timeout=180)
    assert proc.returncode == 0, proc.stderr
    rows = read_back(store, "stream")
    assert len(rows) == len({r[0] for r in rows}) == 3
    assert len(store.keys("stream/_runs/")) == 1  # the second poll found nothing new: no empty batch


def test_a_missing_bucket_is_one_line_and_exit_1(store):
    proc = cli(store, "run", "--config", str(SAMPLE_CONFIG), "--output", f"{store.scheme}://no-such-bucket/out", timeout=120)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert f"output {store.scheme}://no-such-bucket/out is not writable:" in proc.stderr
    assert ("NoSuchBucket" if store.scheme == "s3" else "404") in proc.stderr


def test_an_unreachable_s3_endpoint_fails_fast_with_one_line(s3_store):
    closed = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", s3_store.uri("nowhere"), "--s3_endpoint_url", closed,
                   env=s3_store.env, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "is not writable: Could not connect to the endpoint URL" in proc.stderr
    assert time.monotonic() - start < 60


# -- the S3 lease ---------------------------------------------------------------------

LOCK_KEY = "leased/.newsbeam.lock"


def put_lease(store: Store, host: str, pid: int, seconds: float) -> None:
    holder = {"pid": pid, "host": host, "run_id": f"run-on-{host}", "since": "2026-11-01T00:00:00Z", "lease_seconds": seconds}
    store.put(LOCK_KEY, json.dumps(holder).encode())


def test_a_live_lease_from_another_machine_keeps_a_run_out_and_a_stale_one_is_taken_over(s3_store):
    """No outcome here depends on how fast the machine is: the live lease's term (an hour)
    outlasts any run's start, and the stale one's (0 s) has passed once a second has, on
    the store's own clock (ages only grow)."""
    out = s3_store.uri("leased")
    put_lease(s3_store, "other-machine", 4242, seconds=3600)
    refused = cli(s3_store, "run", "--config", str(SAMPLE_CONFIG), "--output", out)
    assert refused.returncode == 0
    assert "another run (run-on-other-machine, pid 4242 on other-machine" in refused.stderr
    assert not s3_store.keys("leased/articles/")

    put_lease(s3_store, "other-machine", 4242, seconds=0)  # the other launcher stopped renewing
    time.sleep(1.5)  # the store dates objects to the second: now its age is at least 1 s
    proc = cli(s3_store, "run", "--config", str(SAMPLE_CONFIG), "--output", out, "-v")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "taking over the lease of run run-on-other-machine" in proc.stderr
    assert s3_store.keys("leased/articles/")
    assert LOCK_KEY not in s3_store.keys("leased/")  # released at the end of the run


def test_a_lease_left_by_a_dead_process_of_this_machine_is_taken_over_at_once(s3_store):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    put_lease(s3_store, socket.gethostname(), dead.pid, seconds=900)
    proc = cli(s3_store, "run", "--config", str(SAMPLE_CONFIG), "--output", s3_store.uri("leased"), "-v")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "taking over the lease" in proc.stderr


def _stream(store: Store, prefix: str, env: dict, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "newsbeam", "stream", "--config", str(SAMPLE_CONFIG), "--output", store.uri(prefix),
         *store.args, "--poll-interval", "1", *extra],
        env={**os.environ, **store.env, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_key(store: Store, key: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while key not in store.keys(key.rsplit("/", 1)[0] + "/"):
        assert time.monotonic() < deadline, f"{key} never appeared"
        time.sleep(0.2)


def test_a_stream_on_one_machine_keeps_a_run_on_another_out_by_renewing_its_lease(s3_store, tmp_path):
    # Two "machines": separate lock caches, so only the store's lease stands between
    # them. The lease term (3 s) is much shorter than the stream: it must be renewed.
    env = {"NEWSBEAM_LEASE_SECONDS": "3"}
    stream = _stream(s3_store, "two-hosts", {**env, "XDG_CACHE_HOME": str(tmp_path / "machine-a")}, "--max-polls", "15")
    try:
        _wait_for_key(s3_store, "two-hosts/.newsbeam.lock")
        time.sleep(4)  # more than a term: only renewals keep the lease alive now
        run = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", s3_store.uri("two-hosts"), *s3_store.args,
                      env={**s3_store.env, **env, "XDG_CACHE_HOME": str(tmp_path / "machine-b")})
        assert run.returncode == 0, run.stderr[-3000:]
        assert "another run" in run.stderr and "is writing to" in run.stderr, run.stderr[-3000:]
        assert "written" not in run.stdout
    finally:
        _, err = stream.communicate(timeout=300)
    assert stream.returncode == 0, err[-3000:]
    assert "lost the lease" not in err
    assert "two-hosts/.newsbeam.lock" not in s3_store.keys("two-hosts/")


def test_a_stream_whose_lease_is_taken_over_stops_and_says_so(s3_store):
    stream = _stream(s3_store, "lost", {"NEWSBEAM_LEASE_SECONDS": "3"})
    try:
        _wait_for_key(s3_store, "lost/.newsbeam.lock")
        s3_store.put("lost/.newsbeam.lock", json.dumps({"pid": 1, "host": "other-machine", "run_id": "usurper", "lease_seconds": 900}).encode())
        _, err = stream.communicate(timeout=120)
    finally:
        if stream.poll() is None:
            stream.kill()
    assert stream.returncode == 1, err[-3000:]
    assert f"the lease on {s3_store.uri('lost')} was taken over by another launcher" in err
    # The usurper's lease is left alone.
    got = boto3.client("s3", endpoint_url=s3_store.args[1]).get_object(Bucket=BUCKET, Key="lost/.newsbeam.lock")
    assert json.loads(got["Body"].read())["run_id"] == "usurper"


@pytest.fixture
def lease_factory(s3_store):
    """S3Lease objects in this process, talking to the test's S3 server."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from newsbeam import storage
    from newsbeam.locking import S3Lease

    storage.configure(PipelineOptions(s3_store.args))
    made = []

    def make(prefix: str, term: float = 60) -> S3Lease:
        made.append(S3Lease(s3_store.uri(prefix), {"pid": os.getpid(), "host": socket.gethostname(), "run_id": "in-process"}, term=term))
        return made[-1]

    yield make
    for lease in made:
        lease.release()
    storage.configure(PipelineOptions([]))


def test_lease_release_on_a_store_without_conditional_deletes(s3_store, lease_factory):
    import botocore.exceptions

    lease = lease_factory("no-conditional-delete")
    assert lease.try_acquire()
    real_delete = lease.client.delete_object

    def delete_object(**kwargs):
        if "IfMatch" in kwargs:
            raise botocore.exceptions.ClientError({"Error": {"Code": "NotImplemented", "Message": "no"}}, "DeleteObject")
        return real_delete(**kwargs)

    lease.client.delete_object = delete_object
    lease.release()
    assert s3_store.keys("no-conditional-delete/") == []


def test_a_renewal_whose_answer_was_lost_does_not_lose_the_lease(s3_store, lease_factory):
    # The store applied a renewal but the answer never came: our version tag is old.
    lease = lease_factory("lost-answer", term=0.6)
    assert lease.try_acquire()
    lease.etag = '"a-version-the-store-no-longer-has"'
    time.sleep(1.0)  # several renewals
    assert not lease.lost.is_set()
    got = boto3.client("s3", endpoint_url=s3_store.args[1]).head_object(Bucket=BUCKET, Key="lost-answer/.newsbeam.lock")
    assert lease.etag == got["ETag"]
