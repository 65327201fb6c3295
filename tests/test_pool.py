"""The local worker pool (``--workers N``): same rows as one process, no document lost
when a worker dies, and a worker that cannot start fails the run."""

import dataclasses

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from newsbeam.pipelines.batch import document_settings
from newsbeam.records import KIND_TEXT, RawDocument
from newsbeam.transforms.pool import EXTRACTED, FAILED, ExtractAndTagInPool
from tests.conftest import SAMPLE_CONFIG, run_cli
from tests.pool_work import CRASH_MARK, crash_on_mark

TEXT = ("Delegations of the Veloria government and the Northern Front met in Kestrel Ford on Monday "
        "for a new round of peace talks, the mediators said. ") * 3


def _doc(i: int, body: str = TEXT) -> RawDocument:
    return RawDocument(input=f"doc{i}", kind=KIND_TEXT, body=body, title_hint=f"Talks resume, day {i}", id_hint=f"id{i}")


def test_a_worker_that_dies_loses_no_document(sample_config):
    # Ten documents in flight with the one that kills its worker: it is the only error
    # row, and every other document is tagged, including those in flight beside it.
    docs = [_doc(i) for i in range(10)] + [_doc(99, TEXT + CRASH_MARK)] + [_doc(i) for i in range(10, 20)]
    with TestPipeline() as p:
        out = p | beam.Create(docs) | ExtractAndTagInPool(2, *document_settings(sample_config), work=crash_on_mark)
        assert_that(out.tagged | beam.Map(lambda t: t.article.input), equal_to([f"doc{i}" for i in range(20)]))
        assert_that(out[FAILED] | beam.Map(lambda f: (f.input, f.stage, f.error_type)), equal_to([("doc99", "extract", "WorkerDied")]), label="failed")
        assert_that(out[EXTRACTED] | beam.combiners.Count.Globally(), equal_to([20]), label="extracted")


def test_a_document_sent_after_a_worker_died_is_not_lost(sample_config):
    # The race CI met: a worker dies, the pool marks itself broken, and the next document
    # arrives before any result was awaited. Its submit is refused; it must wait in line
    # and be sent again with the others, not end the run.
    import time

    from newsbeam.transforms.pool import _POOLS, _PoolFn

    fn = _PoolFn(2, *document_settings(sample_config), work=crash_on_mark)
    fn.setup()
    try:
        fn.start_bundle()
        list(fn.process(_doc(99, TEXT + CRASH_MARK)))
        pool = _POOLS[fn._key][0]
        deadline = time.monotonic() + 60
        while not pool._broken and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool._broken, "the worker did not die"
        list(fn.process(_doc(1)))
        outputs = list(fn.finish_bundle())
    finally:
        fn.teardown()
    failed = [(o.value.value.input, o.value.value.error_type) for o in outputs if getattr(o, "tag", None) == FAILED]
    tagged = [o.value.article.input for o in outputs if not hasattr(o, "tag")]
    assert failed == [("doc99", "WorkerDied")]
    assert tagged == ["doc1"]


def test_a_worker_that_cannot_load_its_models_fails_the_run(sample_config):
    extract_settings, tag_settings = document_settings(sample_config)
    broken = dataclasses.replace(tag_settings, model="no-such-tier")
    with pytest.raises(Exception, match="could not load the extractor and tagger"):
        with TestPipeline() as p:
            _ = p | beam.Create([_doc(1)]) | ExtractAndTagInPool(2, extract_settings, broken)


@pytest.mark.slow
def test_workers_write_the_same_rows_as_one_process(tmp_path):
    import duckdb

    rows = {}
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        result = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out), "--workers", workers)
        assert result.returncode == 0, result.stderr
        assert "extracted  12 articles" in result.stdout
        rows[workers] = duckdb.sql(
            f"SELECT * EXCLUDE (run_id, fetched_at) FROM read_parquet('{out}/articles/**/*.parquet', hive_partitioning = true) ORDER BY article_id"
        ).fetchall()
    assert len(rows["1"]) == 11
    assert rows["2"] == rows["1"]


def test_workers_must_be_positive_and_apply_to_local_runs_only(capsys):
    from apache_beam.options.pipeline_options import PipelineOptions

    from newsbeam.pipelines.cli import UsageError, _local_workers

    assert _local_workers(3, PipelineOptions(["--runner", "DirectRunner"])) == 3
    assert _local_workers(3, PipelineOptions(["--runner", "DataflowRunner"])) == 1
    assert "local runs only" in capsys.readouterr().err
    with pytest.raises(UsageError):
        _local_workers(0, PipelineOptions([]))


def _spawned_children(pid: int) -> list[int]:
    """The pool workers of process ``pid`` (Linux /proc)."""
    try:
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        return []
    found = []
    for child in children:
        try:
            if b"spawn_main" in open(f"/proc/{child}/cmdline", "rb").read():
                found.append(int(child))
        except OSError:
            pass
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_workers_exit_when_the_run_is_killed_outright(tmp_path):
    # SIGKILL gives the run no chance to stop its pool: the workers notice on their own.
    import json
    import subprocess
    import sys
    import time

    src = tmp_path / "src"
    src.mkdir()
    for f in range(20):  # 3,000 articles: the run is still working when it is killed
        (src / f"part{f}.jsonl").write_text("".join(
            json.dumps({"id": f"a{f}-{i}", "title": f"Talks, day {i}", "text": TEXT * 4}) + "\n" for i in range(150)))
    proc = subprocess.Popen([sys.executable, "-m", "newsbeam", "run", "--input", str(src / "*.jsonl"), "--output",
                             str(tmp_path / "out"), "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while (len(workers := _spawned_children(proc.pid)) < 2 and proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.1)
        assert len(workers) == 2
    finally:
        proc.kill()
        proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers)
