"""The README's query recipes, run as written against a real sample output."""

import contextlib
import io
import re

import pytest

from tests.conftest import REPO, SAMPLE_CONFIG, run_cli


def recipes() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Querying the data", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    return [b for b in blocks if "spark." not in b]  # Spark is not installable here


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    out = tmp_path_factory.mktemp("q") / "out"
    assert run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out)).returncode == 0
    return out


def test_readme_has_the_recipes():
    names = " ".join(recipes())
    assert "import duckdb" in names and "import polars" in names and "pyarrow.dataset" in names


@pytest.mark.parametrize("code", recipes(), ids=lambda c: c.split("\n", 1)[0])
def test_recipe_runs(code, out):
    code = code.replace('OUT = "out/sample"', f'OUT = "{out}"')
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        exec(compile(code, "README.md", "exec"), {})
    printed = stdout.getvalue()
    assert printed.strip()
    assert "ASSAULT" in printed or "disagree" in printed or "agree" in printed
