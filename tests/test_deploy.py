"""The scheduling recipes in deploy/ are valid for the tools that will read them."""

import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO

DEPLOY = REPO / "deploy"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def _verify_units(tmp_path, extra: str = "") -> subprocess.CompletedProcess:
    """systemd-analyze verify on copies whose paths point at this checkout."""
    newsbeam = REPO / ".venv" / "bin" / "newsbeam"
    for name in ("newsbeam.service", "newsbeam.timer"):
        text = (DEPLOY / "systemd" / name).read_text()
        text = text.replace("/opt/newsbeam/.venv/bin/newsbeam", str(newsbeam)).replace("/opt/newsbeam", str(REPO))
        text = re.sub(r"^(User|Group)=.*$", r"\1=root", text, flags=re.M)
        if name.endswith(".service"):
            text += extra
        (tmp_path / name).write_text(text)
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(tmp_path / "newsbeam.service"), str(tmp_path / "newsbeam.timer")],
        capture_output=True, text=True, timeout=60,
    )


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path):
    proc = _verify_units(tmp_path)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    proc = _verify_units(broken, "Bogus=1\n")  # the check can fail: a mistyped key is reported
    assert "Bogus" in proc.stderr


def test_kubernetes_cronjob_matches_the_schema():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    manifest = yaml.safe_load((DEPLOY / "kubernetes" / "cronjob.yaml").read_text())
    kubernetes_validate.validate(manifest, "1.30", strict=True)
    assert manifest["spec"]["concurrencyPolicy"] == "Forbid"
    container = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][0] == "run"
    manifest["spec"]["concurencyPolicy"] = manifest["spec"].pop("concurrencyPolicy")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, "1.30", strict=True)


def test_crontab_lines_are_well_formed():
    field = r"(\*|\d+)(/\d+)?(-\d+)?(,\d+)*"
    jobs = [ln for ln in (DEPLOY / "cron" / "newsbeam.cron").read_text().splitlines() if ln and not ln.startswith("#") and "=" not in ln.split()[0]]
    assert len(jobs) == 2
    for line in jobs:
        parts = line.split()
        assert all(re.fullmatch(field, p) for p in parts[:5]), line
        assert parts[5] == "newsbeam"  # /etc/cron.d lines name the user
    assert "flock -n" in jobs[0] and " run " in jobs[0] and ">> /var/log/newsbeam/" in jobs[0]
    assert " compact " in jobs[1]


def test_logrotate_and_scheduler_script_parse(tmp_path):
    logrotate = shutil.which("logrotate") or shutil.which("/usr/sbin/logrotate")
    if logrotate:
        conf = (DEPLOY / "cron" / "newsbeam.logrotate").read_text().replace("/var/log/newsbeam", str(tmp_path)).replace("su newsbeam newsbeam", "su root root")
        (tmp_path / "x.log").write_text("line\n")
        (tmp_path / "rotate.conf").write_text(conf)
        proc = subprocess.run([logrotate, "-d", "-s", str(tmp_path / "state"), str(tmp_path / "rotate.conf")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(["bash", "-n", str(DEPLOY / "gcp" / "cloud-scheduler.sh")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "flexTemplates:launch" in (DEPLOY / "gcp" / "cloud-scheduler.sh").read_text()
