"""The docs cannot drift from the code: every config key is in docs/config.md with its
default, the output schema tables are generated from the Arrow schemas, the home page is
the README, and the README stays a front page."""

import os
import re
import sys

import pytest
import yaml
from pydantic import BaseModel

from newsbeam.pipelines.config import Config
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "docs"))
import hooks  # noqa: E402 - docs/hooks.py, the MkDocs hooks

# Keys whose example in the docs is not the default, on purpose.
EXAMPLES = {"inputs", "feeds", "output.path", "tagging.actors", "tagging.claims"}


def _documented() -> dict:
    text = (REPO / "docs" / "config.md").read_text()
    block = re.search(r"## Config\n\n```yaml\n(.*?)```", text, re.S).group(1)
    return yaml.safe_load(block)


def _model_keys(model: type[BaseModel], prefix: str = "") -> dict[str, object]:
    keys = {}
    for name, field in model.model_fields.items():
        sub = field.annotation if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel) else None
        if sub is not None:
            keys.update(_model_keys(sub, f"{prefix}{name}."))
        else:
            keys[f"{prefix}{name}"] = field.get_default(call_default_factory=True)
    return keys


def _flatten(doc: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_every_config_key_is_documented_with_its_default():
    documented, model = _flatten(_documented()), _model_keys(Config)
    assert set(documented) == set(model), (set(model) - set(documented), set(documented) - set(model))
    wrong = {k: (documented[k], model[k]) for k in model if k not in EXAMPLES and documented[k] != model[k]}
    assert not wrong, wrong
    Config.model_validate(_documented())  # and the example is a valid config


def test_the_schema_tables_cover_every_column():
    from newsbeam.records import ARTICLE_SCHEMA, ERROR_SCHEMA

    for kind, schema in (("articles", ARTICLE_SCHEMA), ("errors", ERROR_SCHEMA)):
        table = hooks.schema_table(kind)
        assert [f"`{f.name}`" for f in schema] == re.findall(r"^\| (`[a-z_]+`) \|", table, re.M)
    page = hooks.on_page_markdown((REPO / "docs" / "output.md").read_text())
    assert "<!-- schema" not in page and "| `stances` |" in page


def test_the_home_page_is_the_readme_and_the_readme_a_front_page():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    home = hooks.on_page_markdown((REPO / "docs" / "index.md").read_text())
    assert home.startswith("# newsbeam") and "](docs/" not in home
    quick = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in quick.strip().splitlines()] == ["make demo", "make test"]


def test_the_flag_table_lists_every_flag_of_newsbeam_run():
    """docs/getting-started.md's table says it lists every flag: it does, by construction."""
    from newsbeam.pipelines.cli import _run_parser

    page = (REPO / "docs" / "getting-started.md").read_text()
    table = page.split("| flag | meaning |", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"^\| `(-[-\w]+)", table, re.M))
    flags = {max(a.option_strings, key=len) for a in _run_parser()._actions if a.option_strings and a.dest != "help"}
    assert flags - {"--verbose"} <= documented | {"-v"}, flags - documented


def test_the_tags_page_quotes_the_measured_tables():
    """docs/tags.md shows the leave-one-source-out table and the lockbox as `make eval`
    last wrote them (training/loso_summary.md, training/loso_lockbox.md)."""
    page = (REPO / "docs" / "tags.md").read_text()
    for name in ("loso_summary.md", "loso_lockbox.md"):
        assert (REPO / "training" / name).read_text().strip() in page, name


def test_the_site_builds_offline_and_loads_nothing_from_the_network(tmp_path):
    """mkdocs build --strict, then no script, style sheet, font or image is fetched from
    another host (links to other sites are fine: a reader clicks them)."""
    import shutil
    import subprocess

    mkdocs = shutil.which("mkdocs", path=str(REPO / ".venv" / "bin")) or shutil.which("mkdocs")
    if mkdocs is None:
        pytest.skip("mkdocs is not installed (make test installs it)")
    site = tmp_path / "site"
    proc = subprocess.run([mkdocs, "build", "--strict", "--quiet", "--site-dir", str(site)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (site / "hooks.py").exists()
    loads = re.compile(r"<(?:script|img|source|iframe)[^>]+src=\"(?:https?:)?//|<link[^>]+href=\"(?:https?:)?//[^\"]+\"[^>]*"
                       r"rel=\"(?:stylesheet|preconnect|preload|icon)|<link[^>]+rel=\"(?:stylesheet|preconnect|preload)\"[^>]+"
                       r"href=\"(?:https?:)?//|@import url\((?:https?:)?//|url\((?:https?:)?//")
    offenders = [str(p.relative_to(site)) for p in site.rglob("*") if p.suffix in (".html", ".css", ".js")
                 and loads.search(p.read_text(errors="replace"))]
    assert not offenders, offenders[:5]
