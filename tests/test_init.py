"""newsbeam init: a starter config, claims and actors that load and run as written."""

import yaml

from tests.conftest import REPO, run_cli

PAGE = REPO / "configs" / "samples"


def test_init_writes_a_config_that_loads_and_runs(tmp_path):
    project = tmp_path / "project"
    result = run_cli("init", str(project))
    assert result.returncode == 0, result.stderr
    assert f"newsbeam run --config {project / 'newsbeam.yaml'}" in result.stdout
    config = yaml.safe_load((project / "newsbeam.yaml").read_text())
    assert len(config["feeds"]) >= 3 and all(f["url"].startswith("https://") for f in config["feeds"])
    assert config["tagging"]["claims"] == "claims.yaml" and (project / "actors.yaml").is_file()
    # offline here: the same config run on a local page instead of its feeds
    page = next(PAGE.glob("*.html"))
    ran = run_cli("run", "--config", str(project / "newsbeam.yaml"), "--input", str(page), "--output", str(tmp_path / "out"))
    assert ran.returncode == 0, ran.stderr
    assert "written    1 articles" in ran.stdout


def test_init_never_overwrites_without_force(tmp_path):
    assert run_cli("init", str(tmp_path)).returncode == 0
    (tmp_path / "claims.yaml").write_text("- id: mine\n  text: My own claim.\n")
    again = run_cli("init", str(tmp_path))
    assert again.returncode == 2 and "exists (--force to overwrite)" in again.stderr
    assert "mine" in (tmp_path / "claims.yaml").read_text()
    assert run_cli("init", str(tmp_path), "--force").returncode == 0
    assert "ceasefire_holds" in (tmp_path / "claims.yaml").read_text()
