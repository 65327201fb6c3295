"""Running on real engines: the portable runner with external workers, the multi-process
DirectRunner, the package as workers install it, and the Dataflow template's files."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, SAMPLE_CONFIG, free_port, run_cli, wait_port

BIN = Path(sys.executable).parent


def _rows(out):
    return sorted(duckdb.execute(
        f"SELECT article_id, title, event_type, text FROM read_parquet('{out}/articles/**/*.parquet')"
    ).fetchall())


@pytest.fixture(scope="module")
def direct_rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("direct") / "out"
    assert run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out)).returncode == 0
    return _rows(out)


def test_portable_runner_with_external_worker_pool_gives_the_same_rows(tmp_path, direct_rows):
    job_port, pool_port = free_port(), free_port()
    # The pool starts workers with `python` from PATH: it must be this environment's.
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    services = [
        subprocess.Popen([sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", "--port", str(job_port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env),
        subprocess.Popen([sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", "--service_port", str(pool_port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env),
    ]
    try:
        wait_port(job_port)
        wait_port(pool_port)
        out = tmp_path / "out"
        proc = run_cli(
            "run", "--config", str(SAMPLE_CONFIG), "--output", str(out), "--runner", "PortableRunner",
            "--job_endpoint", f"localhost:{job_port}", "--environment_type", "EXTERNAL",
            "--environment_config", f"localhost:{pool_port}",
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert _rows(out) == direct_rows
    finally:
        for svc in services:
            svc.terminate()
            svc.wait(timeout=30)


def test_multi_process_direct_runner_gives_the_same_rows(tmp_path, direct_rows):
    out = tmp_path / "out"
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out),
                   "--direct_num_workers", "2", "--direct_running_mode", "multi_processing")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _rows(out) == direct_rows


def test_the_local_runner_never_reaches_for_prism(tmp_path, direct_rows):
    # Beam's DirectRunner would first download Prism from GitHub (no timeout) and run
    # there when it can: newsbeam's local runs stay on the FnApiRunner whatever the network.
    out = tmp_path / "out"
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out), "--runner", "DirectRunner", "-v")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "prism" not in proc.stderr.lower()
    assert _rows(out) == direct_rows


def test_sdist_installs_and_runs_in_a_fresh_virtualenv(tmp_path, direct_rows):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(dist)], cwd=REPO, check=True,
                   capture_output=True, timeout=300)
    (sdist,) = dist.glob("newsbeam-*.tar.gz")
    venv = tmp_path / "venv"
    uv = Path(sys.executable).parent / "uv"
    if uv.exists():  # uv, as make demo installs: every dependency resolved and installed, from its cache
        subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
        install = [str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(sdist)]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        install = [str(venv / "bin" / "pip"), "install", "--quiet", str(sdist)]
    pip = subprocess.run(install, capture_output=True, text=True, timeout=1200)
    assert pip.returncode == 0, pip.stderr[-3000:]
    out = tmp_path / "out"
    # from an empty directory: configs, samples, taxonomy and models come from the package
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    proc = subprocess.run([str(venv / "bin" / "newsbeam"), "run", "--config", "sample.yaml", "--output", str(out)],
                          cwd=workdir, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _rows(out) == direct_rows


# -- Dataflow template ---------------------------------------------------------------------

DATAFLOW = REPO / "deploy" / "dataflow"


def test_dataflow_image_pins_the_beam_of_setup_py():
    beam_version = re.search(r'BEAM_VERSION = "([^"]+)"', (REPO / "setup.py").read_text()).group(1)
    dockerfile = (DATAFLOW / "Dockerfile").read_text()
    assert f"apache/beam_python3.11_sdk:{beam_version}" in dockerfile
    assert "FLEX_TEMPLATE_PYTHON_PY_FILE=/template/main.py" in dockerfile


def test_metadata_parameters_are_real_cli_options():
    from newsbeam.pipelines.cli import _run_parser

    options = {opt.lstrip("-").replace("-", "_") for action in _run_parser()._actions for opt in action.option_strings}
    metadata = json.loads((DATAFLOW / "metadata.json").read_text())
    for param in metadata["parameters"]:
        assert param["name"] in options, param["name"]
        for regex in param.get("regexes", []):
            re.compile(regex)
    required = {p["name"] for p in metadata["parameters"] if not p.get("isOptional")}
    assert required == {"config", "output"}
    assert re.fullmatch(metadata["parameters"][0]["regexes"][0], "gs://bucket/config/newsbeam.yaml")


class _Captured(BaseException):
    """Raised by the intercepted Pipeline.run; a BaseException, so the CLI's one-line
    handling of failed runs (which catches Exception) lets it through."""


def _graph(monkeypatch, entry) -> set[str]:
    """The transform labels of the pipeline an entry point builds (run is intercepted)."""
    import apache_beam as beam

    captured = {}

    def fake_run(self, *args, **kwargs):
        proto = self.to_runner_api()
        captured["labels"] = {t.unique_name for t in proto.components.transforms.values()}
        raise _Captured()

    monkeypatch.setattr(beam.Pipeline, "run", fake_run)
    with pytest.raises(_Captured):
        entry()
    return captured["labels"]


def test_launcher_builds_the_same_graph_as_the_cli(monkeypatch, tmp_path):
    import runpy

    from newsbeam.pipelines.cli import main

    args = ["--config", str(SAMPLE_CONFIG), "--output", str(tmp_path / "out")]
    cli = _graph(monkeypatch, lambda: main(["run", *args]))
    # The Flex Template launcher may add flags of its own: reported, not refused.
    monkeypatch.setattr("newsbeam.pipelines.cli.STRICT_OPTIONS", True)  # restored after the test
    monkeypatch.setattr(sys, "argv", [str(DATAFLOW / "main.py"), *args, "--launcher_only_flag=1"])
    launcher = _graph(monkeypatch, lambda: runpy.run_path(str(DATAFLOW / "main.py"), run_name="__main__"))
    assert cli == launcher
    assert any("CommitRun" in label for label in cli)
