"""The documented query recipes, run as written against a real sample output: the
README's SQL and Python API examples and the recipes of docs/querying.md."""

import contextlib
import io
import re

import pytest

from tests.conftest import REPO, SAMPLE_CONFIG, run_cli


def _blocks(path, heading: str) -> list[str]:
    text = (REPO / path).read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "spark." not in b]  # Spark is not installable here


def recipes() -> list[str]:
    return _blocks("docs/querying.md", "## Querying the data")


def readme_examples() -> list[str]:
    return _blocks("README.md", "## SQL over the output") + _blocks("README.md", "## The Python API")


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    out = tmp_path_factory.mktemp("q") / "out"
    assert run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out)).returncode == 0
    return out


def _run(code: str, out) -> str:
    code = code.replace('OUT = "out/sample"', f'OUT = "{out}"').replace("out/sample", str(out))
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        exec(compile(code, "recipe", "exec"), {})
    return stdout.getvalue()


def test_the_docs_have_the_recipes():
    names = " ".join(recipes())
    assert "import duckdb" in names and "import polars" in names and "pyarrow.dataset" in names
    assert len(readme_examples()) == 2


@pytest.mark.parametrize("code", recipes(), ids=lambda c: c.split("\n", 1)[0])
def test_recipe_runs(code, out):
    printed = _run(code, out)
    assert printed.strip()
    assert "ASSAULT" in printed or "disagree" in printed or "agree" in printed


@pytest.mark.parametrize("code", readme_examples(), ids=["sql", "python-api"])
def test_readme_examples_run(code, out, monkeypatch):
    monkeypatch.chdir(REPO)  # the API example names configs/sample.yaml
    printed = _run(code, out)
    assert printed.strip()
