"""The shape of the code (issue: one core, thin drivers), checked so it cannot drift back.

- no function in ``newsbeam/`` is longer than 60 lines;
- no module imports another module's underscore names;
- the core modules do not import Beam (only ``storage`` does, for its file systems);
- the failure marker is defined once, and the config's limits take their defaults from
  the settings classes instead of repeating numbers.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "newsbeam"
MAX_FUNCTION_LINES = 60
# Each step's work, without Beam: the drivers (transforms/, pipelines/) run it.
CORE = ("commit.py", "dedup.py", "documents.py", "extraction.py", "feeds.py", "fetching.py", "fields.py", "http.py", "ids.py", "layout.py",
        "polling.py", "reading.py", "records.py", "settings.py", "state.py", "stories.py", "text.py", "urls.py", "writing.py", "tags",
        "tagging")


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_no_function_is_longer_than_60_lines():
    long = [f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path, tree in _modules() for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, long


def test_no_module_imports_another_modules_private_names():
    private = [f"{path.relative_to(PACKAGE.parent)}: {node.module}.{alias.name}"
               for path, tree in _modules() for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("newsbeam")
               for alias in node.names if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert not private, private


@pytest.mark.parametrize("name", CORE)
def test_the_core_does_not_import_beam(name):
    paths = [PACKAGE / name] if name.endswith(".py") else sorted((PACKAGE / name).rglob("*.py"))
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "apache_beam" or n.startswith("apache_beam.") for n in names), f"{path} imports Beam"
            assert not any(n.startswith("newsbeam.transforms") or n.startswith("newsbeam.pipelines") for n in names), \
                f"{path} imports a driver ({names})"


def test_the_failure_marker_is_defined_once():
    defined = [str(path.relative_to(PACKAGE.parent)) for path, tree in _modules() for node in ast.walk(tree)
               if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "FAILED" for t in node.targets)]
    assert defined == ["newsbeam/records.py"]


def test_config_limits_take_their_defaults_from_the_settings():
    tree = ast.parse((PACKAGE / "pipelines" / "config.py").read_text(encoding="utf-8"))
    repeated = []
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name in ("FetchConfig", "ReadConfig", "OutputConfig")):
        for stmt in cls.body:
            value = stmt.value if isinstance(stmt, ast.AnnAssign) else None
            if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "Field":
                value = next((k.value for k in value.keywords if k.arg == "default"), None)
            if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
                repeated.append(f"{cls.name}.{stmt.target.id} = {value.value}")
    assert not repeated, repeated
