import pytest

from newsbeam.pipelines.config import ConfigError, load_config
from tests.conftest import SAMPLE_CONFIG, run_cli


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_sample_config_resolves_paths_and_loads_files(sample_config):
    assert sample_config.inputs and all(i.path.startswith("/") for i in sample_config.inputs)
    assert {c.id for c in sample_config.claims} >= {"talks_progress"}
    assert "ASSAULT" in sample_config.taxonomy["types"]
    assert sample_config.state_path.endswith("out/sample/_state")


def test_no_config_uses_packaged_defaults():
    cfg = load_config(None, {"inputs": ["x/*.txt"]})
    assert cfg.inputs[0].path.endswith("x/*.txt") and cfg.feeds == []
    assert cfg.taxonomy["types"]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("inputs: [a.txt]\nouptut: {path: x}\n", "ouptut: unknown key"),
        ("fetch:\n  timeot: 3\n", "fetch.timeot: unknown key"),
        ("output:\n  partition_by: published_date\n", "output.partition_by"),
        ("output:\n  partition_by: [nope]\n", "unknown partition column"),
        ("read:\n  min_words: many\n", "read.min_words"),
        ("tagging:\n  taxonomy: missing.yaml\n", "file not found"),
        ("tagging:\n  taxonomy: tax.yaml\n", "'non_event' must have a list of 'patterns'"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("inputs: [a\n", "invalid YAML"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path, text, expected):
    (tmp_path / "tax.yaml").write_text("types:\n  AGREE: {patterns: [agreed]}\nnon_event: [floods]\n")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert expected in message
    assert "\n" not in message
    if "not found" not in expected:
        assert path in message


def test_cli_bad_config_exits_2_with_one_line(tmp_path):
    path = write(tmp_path, "inputs: [a.txt]\nbogus_key: 1\n")
    proc = run_cli("run", "--config", path)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == [f"newsbeam: config {path}: bogus_key: unknown key"]


def test_cli_missing_config_exits_2(tmp_path):
    proc = run_cli("run", "--config", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2
    assert "file not found" in proc.stderr


def test_cli_unwritable_output_exits_1(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(blocker / "sub"))
    assert proc.returncode == 1
    assert "not writable" in proc.stderr


@pytest.mark.parametrize("command", ["run", "stream", "report", "compact"])
def test_cli_misspelt_flag_exits_2_instead_of_being_ignored(tmp_path, command):
    # Beam's own flags pass through; one that is neither newsbeam's nor Beam's stops
    # the job before it reads, writes or locks anything (a typo in a cron line).
    args = ["--config", str(SAMPLE_CONFIG)] if command in ("run", "stream") else []
    proc = run_cli(command, *args, "--output", str(tmp_path / "out"), "--direct_num_workers", "1", "--ouptut", "x")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"newsbeam: {command}: unknown option --ouptut (neither newsbeam's nor Beam's)"
    assert not (tmp_path / "out").exists()


def test_tagging_model_is_fast_and_accurate_is_retired_with_a_reason(tmp_path):
    assert load_config(write(tmp_path, "tagging:\n  model: fast\n")).tagging_model == "fast"
    with pytest.raises(ConfigError, match="tagging.model: .*accurate tier was retired"):
        load_config(write(tmp_path, "tagging:\n  model: accurate\n"))
    with pytest.raises(ConfigError, match="tagging.model"):
        load_config(write(tmp_path, "tagging:\n  model: huge\n"))


@pytest.mark.parametrize(
    "text,expected",
    [
        ("output:\n  max_rows_per_file: true\n", "output.max_rows_per_file"),
        ("fetch:\n  enabled: \"yes\"\n", "fetch.enabled"),
        ("fetch:\n  allow_private_network: \"on\"\n", "fetch.allow_private_network"),
        ('fetch:\n  user_agent: "bot/1\\r\\nX-Evil: 1"\n', "fetch.user_agent"),
    ],
)
def test_config_types_are_strict(tmp_path, text, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, text))


def test_config_numbers_stay_natural(tmp_path):
    cfg = load_config(write(tmp_path, "fetch:\n  connect_timeout: 3\n  backoff: 1\n"))
    assert cfg.fetch.connect_timeout == 3.0


@pytest.mark.parametrize("kind", ["binary", "directory"])
def test_unreadable_config_is_one_line_and_exit_2(tmp_path, kind):
    target = tmp_path / "cfg"
    if kind == "binary":
        target.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x01")
    else:
        target.mkdir()
    proc = run_cli("run", "--config", str(target))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
