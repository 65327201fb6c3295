"""make demo's job (python -m newsbeam.demo): the sample run, the report, and at most ~15
lines that say where everything is and how to query it, nothing else on the terminal."""

import shlex
import subprocess
import sys

from tests.conftest import REPO


def test_the_demo_says_where_everything_is_in_a_few_lines(tmp_path):
    out = tmp_path / "sample"
    done = subprocess.run([sys.executable, "-m", "newsbeam.demo", "--output", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not done.stderr.strip(), done.stderr  # no library notices
    lines = done.stdout.strip().splitlines()
    assert len(lines) <= 15, lines
    assert f"report    {out}/report.html" in done.stdout and (out / "report.html").stat().st_size > 10_000
    assert "stored    11 articles" in done.stdout
    # the two printed queries run as printed (with this interpreter) and show the event types
    for line in (line.strip() for line in lines if line.strip().startswith(".venv/bin/python -c")):
        argv = shlex.split(line)
        argv[0] = sys.executable
        shown = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0 and "ASSAULT" in shown.stdout, shown.stderr


def test_the_documented_demo_output_is_what_the_demo_prints(tmp_path):
    """docs/getting-started.md shows the demo's output; it is that output (the timing and
    the output folder aside), so the page cannot go stale."""
    import re

    out = tmp_path / "sample"
    done = subprocess.run([sys.executable, "-m", "newsbeam.demo", "--output", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    page = (REPO / "docs" / "getting-started.md").read_text()
    shown = page.split("```console\n", 1)[1].split("```", 1)[0]

    def norm(text: str, where: str) -> list[str]:
        text = re.sub(r"in \d+\.\d s", "in N s", text.replace(where, "OUT"))
        return [line.rstrip() for line in text.strip().splitlines()]

    printed = norm(done.stdout, str(out))
    assert norm(shown, "out/sample") == printed
