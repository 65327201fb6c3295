"""Progress of long runs: a live line on a terminal (checked under a pseudo-terminal),
plain lines at a steady interval elsewhere, nothing with --progress off."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios

import pytest

from tests.conftest import REPO, SAMPLE_CONFIG, run_cli


def _under_a_terminal(*args: str, size: tuple[int, int] = (40, 120), timeout: float = 300) -> tuple[int, str]:
    """Run ``python -m newsbeam ARGS`` with a pseudo-terminal of ``size`` (rows, columns) as its stdout and stderr."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "newsbeam", *args], cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=dict(os.environ, COLUMNS="120"))
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("size", [(40, 120), (0, 0)], ids=["sized", "a terminal that reports no size"])
def test_a_run_on_a_terminal_shows_live_progress(tmp_path, size):
    code, screen = _under_a_terminal("run", "--config", str(SAMPLE_CONFIG), "--output", str(tmp_path / "out"), size=size)
    assert code == 0, screen
    # tqdm redraws one line in place: carriage returns, the counts, the rate and the time
    assert "\r" in screen and "newsbeam run: " in screen, screen
    assert "articles/s" in screen and "written" in screen and "errors" in screen
    assert "written    11 articles" in screen  # then the summary, as always


def test_without_a_terminal_progress_is_plain_lines_at_an_interval(tmp_path):
    result = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(tmp_path / "out"), "--progress-every", "1")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "run in progress" in line]
    assert lines and "\r" not in result.stderr
    assert "articles" in lines[-1] and "articles/s" in lines[-1]
    quiet = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(tmp_path / "quiet"), "--progress", "off",
                    "--progress-every", "1")
    assert quiet.returncode == 0 and "in progress" not in quiet.stderr


def test_progress_counts_what_the_run_did(tmp_path):
    # a log with progress lines ends with one that has the final counts
    result = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(tmp_path / "out"), "--progress", "lines",
                     "--progress-every", "1")
    lines = [line for line in result.stderr.splitlines() if line.startswith("newsbeam: run ") and " s: " in line]
    assert "run in progress" in lines[0] and "run finished" in lines[-1], result.stderr
    # 12 tagged; the final line says what the commit stored: the within-run duplicate is not written
    assert "12 articles" in lines[-1] and "11 written" in lines[-1], lines
    assert "2 feeds" in lines[-1] or "feeds" in lines[-1] and " 0 feeds" not in lines[-1], lines
    # a run shorter than the interval prints no progress line at all (the summary says it all)
    short = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(tmp_path / "short"), "--progress-every", "600")
    assert short.returncode == 0 and " s: " not in short.stderr, short.stderr
