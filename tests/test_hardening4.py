"""Hardening, round 4 (issue 36): the new surfaces (Python API, init, progress, model files).

One test per finding of the hostile probe; each failed before its fix.
"""

import json
import os
import shutil
import subprocess
import sys

import duckdb
import pytest

import newsbeam
from newsbeam.fields import parse_date
from newsbeam.http import forbidden_address
from newsbeam.reading import jsonl_documents
from newsbeam.records import Failure, RawDocument
from tests.conftest import REPO, SAMPLE_CONFIG, run_cli

STORY = ("Envoys of the Carrow Isles and the Dunmere League met in Port Sable on Tuesday to settle the fishing "
         "boundary, and agreed to reopen the northern ferry line. Mediators said the talks would go on in May.")
ATTACK = "Rebels of the Northern Front attacked a police checkpoint in Kestrel Ford on Monday, killing four officers."


def _lines(*rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


# -- 1. a lone surrogate escape in a JSON line ------------------------------------------


@pytest.mark.parametrize("field", ["title", "text", "author", "id", "source", "language"])
def test_a_lone_surrogate_is_replaced_and_named_not_a_failed_run(field):
    row = {"id": "s1", "title": "Talks", "text": STORY, "author": "A. Writer", "source": "wire", "language": "en"}
    row[field] = row[field] + "\udfff" if field != "language" else "en\udfff"
    line = json.dumps(row)  # json.dumps writes the lone surrogate as the escape "\udfff"
    assert "\\udfff" in line
    out = list(jsonl_documents("in.jsonl", line + "\n", None))
    docs = [o for o in out if isinstance(o, RawDocument)]
    problems = [o for o in out if isinstance(o, Failure)]
    assert len(docs) == 1
    for value in (docs[0].body, docs[0].title_hint, docs[0].author_hint, docs[0].id_hint, docs[0].source, docs[0].input):
        if value:
            value.encode("utf-8")  # never raises: nothing unencodable reaches the writer
    if field != "language":  # a language that is not a language tag is dropped, not repaired
        assert any(field in p.message and "surrogate" in p.message for p in problems), problems


def test_a_run_with_a_surrogate_line_stores_the_good_lines_around_it(tmp_path):
    src = tmp_path / "in.jsonl"
    bad = json.dumps({"id": "bad", "title": "Bad \udfff title", "text": STORY.replace("Tuesday", "Monday") + " \udfff"})
    src.write_text(_lines({"id": "a", "title": "One", "text": STORY}) + bad + "\n"
                   + _lines({"id": "c", "title": "Three", "text": ATTACK * 2}))
    out = tmp_path / "out"
    proc = run_cli("run", "--input", str(src), "--output", str(out), timeout=180)
    assert proc.returncode == 0, proc.stderr
    con = newsbeam.connect(out)
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM errors WHERE error_type = 'BadField'").fetchone()[0] >= 1


# -- 2. API arguments of the wrong type ------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"allow_private_network": "false"}, TypeError, "allow_private_network must be True or False"),
    ({"allow_private_network": "no"}, TypeError, "allow_private_network"),
    ({"allow_private_network": 1}, TypeError, "allow_private_network"),
    ({"config": 123}, TypeError, "config must be a path"),
    ({"state": 123}, TypeError, "state must be a path"),
    ({"inputs": 123}, TypeError, "inputs must be a path"),
    ({"output": 5}, TypeError, "output must be a path"),
    ({"wait": "abc"}, TypeError, "wait must be a number"),
    ({"wait": float("nan")}, newsbeam.ConfigError, "wait must be a finite number"),
    ({"wait": float("inf")}, newsbeam.ConfigError, "wait must be a finite number"),
    ({"workers": "2"}, TypeError, "workers must be an int"),
    ({"runner": 123}, TypeError, "runner"),
])
def test_every_api_argument_of_the_wrong_type_is_refused_by_name(kwargs, error, message, tmp_path):
    kwargs = {"config": str(SAMPLE_CONFIG), "output": str(tmp_path / "out"), **kwargs}
    with pytest.raises(error, match=message):
        newsbeam.run(**kwargs)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"config": ["a.yaml"]}, TypeError, "config must be a path"),
    ({"language": 5}, TypeError, "language must be a string"),
    ({"claims": 5}, TypeError, "claims must be"),
])
def test_tag_arguments_of_the_wrong_type_are_refused_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        newsbeam.tag(STORY, **kwargs)


def test_tag_takes_a_config_path_object():
    from pathlib import Path

    assert newsbeam.tag(ATTACK, config=Path(SAMPLE_CONFIG))["event_type"] == "ASSAULT"


# -- 3. an empty output path ------------------------------------------------------------------


def test_an_empty_output_path_is_a_config_error(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"inputs: [{REPO / 'configs' / 'samples' / '*.txt'}]\noutput: {{path: \"\"}}\n")
    proc = run_cli("run", "--config", str(config), cwd=tmp_path)
    assert proc.returncode == 2 and "output.path: an empty path" in proc.stderr, proc.stderr
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", "", cwd=tmp_path)
    assert proc.returncode == 2 and "--output: an empty path" in proc.stderr, proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["c.yaml"]  # nothing written anywhere
    with pytest.raises(newsbeam.ConfigError, match="empty path"):
        newsbeam.run(config=str(SAMPLE_CONFIG), output="")


# -- 4. newsbeam init never writes outside DIR ------------------------------------------------


def test_init_refuses_a_dangling_symlink_in_place_of_a_file(tmp_path):
    target = tmp_path / "elsewhere" / "victim.yaml"
    target.parent.mkdir()
    project = tmp_path / "p"
    project.mkdir()
    (project / "newsbeam.yaml").symlink_to(target)
    proc = run_cli("init", str(project))
    assert proc.returncode == 2 and "symbolic link" in proc.stderr, proc.stderr
    assert not target.exists() and sorted(os.listdir(project)) == ["newsbeam.yaml"]


def test_init_force_never_overwrites_a_symlink_target(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    project = tmp_path / "p"
    project.mkdir()
    (project / "claims.yaml").symlink_to(victim)
    proc = run_cli("init", str(project), "--force")
    assert proc.returncode == 2, proc.stderr
    assert victim.read_text() == "precious" and not (project / "newsbeam.yaml").exists()


def test_init_refuses_the_root_and_is_all_or_nothing(tmp_path):
    proc = run_cli("init", "/")
    assert proc.returncode == 2 and "filesystem root" in proc.stderr
    assert not os.path.exists("/newsbeam.yaml")
    project = tmp_path / "p"
    assert run_cli("init", str(project)).returncode == 0
    before = (project / "newsbeam.yaml").read_text()
    (project / "newsbeam.yaml").write_text("# mine\n")
    (project / "claims.yaml").unlink()
    (project / "claims.yaml").mkdir()  # a directory where a file goes: refused before anything is written
    proc = run_cli("init", str(project), "--force")
    assert proc.returncode == 2 and "not a file" in proc.stderr
    assert (project / "newsbeam.yaml").read_text() == "# mine\n" and before != "# mine\n"
    assert not [n for n in os.listdir(project) if n.startswith(".")]  # no temporary file left


def test_init_prints_a_command_that_works_as_printed(tmp_path):
    proc = run_cli("init", str(tmp_path / "p"))
    line = proc.stdout.strip().splitlines()[-1]
    command = line.split("then:", 1)[1].strip()
    # run through a shell whose PATH has no newsbeam: the printed command must still resolve
    proc = subprocess.run(command.replace(" run ", " run --help ", 1) if " run " in command else command,
                          shell=True, capture_output=True, text=True, cwd=REPO, env={"PATH": "/usr/bin:/bin"}, timeout=120)
    assert proc.returncode == 0, (command, proc.stderr)


# -- 5. one language rule -----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en-US", "EN", "en_GB", " en "])
def test_an_english_article_is_tagged_whatever_the_spelling_of_its_language(language):
    assert newsbeam.tag(ATTACK, language=language)["event_type"] == "ASSAULT"
    docs = [o for o in jsonl_documents("x.jsonl", _lines({"text": STORY, "language": language}), None)
            if isinstance(o, RawDocument)]
    assert docs[0].language_hint == "en"


# -- 6. a corrupt model file --------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_corrupt_model_file_is_one_line_at_start_up(tmp_path, monkeypatch, damage):
    from newsbeam.tagging import tagger

    broken = tmp_path / "events.npz"
    data = tagger.EVENT_MODEL.read_bytes()
    broken.write_bytes(data[: len(data) // 3] if damage == "truncate" else b"\x93NUMPY garbage" * 50)
    monkeypatch.setattr(tagger, "EVENT_MODEL", broken)
    from newsbeam import documents
    from newsbeam.pipelines.config import load_config

    monkeypatch.setattr(documents, "_TAGGERS", {})  # a fresh process: nothing loaded yet
    from newsbeam.pipelines.launch import check_models

    with pytest.raises(newsbeam.ConfigError, match=f"model file {broken}") as info:
        check_models(load_config(str(SAMPLE_CONFIG)))
    assert "allow_pickle" not in str(info.value) and "\n" not in str(info.value)


def test_newsbeam_tag_with_a_corrupt_model_exits_2_in_one_line(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(REPO / "newsbeam", site / "newsbeam", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "configs", site / "configs")
    (site / "newsbeam" / "tagging" / "models" / "stance.npz").write_bytes(b"not a model")
    inp = tmp_path / "in.jsonl"
    inp.write_text(_lines({"id": "1", "text": ATTACK}))
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run([sys.executable, "-m", "newsbeam", "tag", str(inp), "-"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "stance.npz" in proc.stderr and "Traceback" not in proc.stderr


# -- 7. --progress-every -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "1e308", "0.001", "-1", "0"])
def test_progress_every_must_be_finite_and_sane(value, tmp_path):
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(tmp_path / "o"), "--progress", "lines",
                   "--progress-every", value, timeout=120)
    assert proc.returncode == 2 and "--progress-every" in proc.stderr, proc.stderr
    assert not (tmp_path / "o").exists()


# -- 8. a closed stdout pipe ------------------------------------------------------------------------


def test_a_closed_pipe_does_not_turn_a_committed_run_into_a_failure(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(f"{sys.executable} -m newsbeam run --config {SAMPLE_CONFIG} --output {out} | head -c 0; "
                          "echo \"status=${PIPESTATUS[0]}\" >&2", shell=True, executable="/bin/bash",
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert "status=0" in proc.stderr and "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert list((out / "_runs").glob("*.json"))


def test_tag_into_a_closed_pipe_stops_quietly(tmp_path):
    inp = tmp_path / "big.jsonl"
    inp.write_text(_lines(*[{"id": str(i), "text": ATTACK} for i in range(400)]))
    proc = subprocess.run(f"{sys.executable} -m newsbeam tag {inp} - | head -1 > /dev/null; echo \"status=${{PIPESTATUS[0]}}\" >&2",
                          shell=True, executable="/bin/bash", capture_output=True, text=True, cwd=REPO, timeout=300)
    assert "status=0" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


# -- 9. connect on a path that holds no output ----------------------------------------------------------


def test_connect_refuses_what_is_not_an_output(tmp_path):
    afile = tmp_path / "f.txt"
    afile.write_text("x")
    for bad, message in ((tmp_path / "typo", "does not exist"), (afile, "not a directory"), ("", "empty path"),
                         ("foo://bar", "cannot be read"), ("x" * 100_000, "characters")):
        with pytest.raises(newsbeam.OutputNotFound, match=message):
            newsbeam.connect(bad)
    assert issubclass(newsbeam.OutputNotFound, newsbeam.ConfigError)
    with pytest.raises(TypeError, match="output must be a path"):
        newsbeam.connect(b"/tmp")


# -- 10. numbers in the config --------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["stories: {window_days: .inf}", "stories: {window_days: .nan}",
                                  "fetch: {total_timeout: .inf}", "stories: {threshold: .nan}",
                                  "stories: {window_days: 1.0e+300}"])
def test_every_number_in_the_config_is_finite_and_in_range(body, tmp_path):
    from newsbeam.pipelines.config import load_config

    config = tmp_path / "c.yaml"
    config.write_text(body + "\n")
    with pytest.raises(newsbeam.ConfigError):
        load_config(str(config))


def test_duplicate_yaml_keys_are_refused(tmp_path):
    from newsbeam.pipelines.config import load_config

    config = tmp_path / "c.yaml"
    config.write_text("output: {path: a}\nread: {min_words: 5}\noutput: {path: b}\n")
    with pytest.raises(newsbeam.ConfigError, match="duplicate key 'output'"):
        load_config(str(config))


# -- 11. claims as a generator ------------------------------------------------------------------------------


def test_claims_from_a_generator_give_stances():
    stances = newsbeam.tag(STORY, claims=(c for c in ["The talks are making progress.", "The ferry line is closed."]))
    assert [s["target"] for s in stances["stances"]] == ["The talks are making progress.", "The ferry line is closed."]


# -- 12. a time zone name that is not known for certain --------------------------------------------------------


@pytest.mark.parametrize("value", ["2026-10-01 10:00 PST", "2026-10-01 10:00 IST", "Oct 1 2026 10:00 CEST"])
def test_an_ambiguous_zone_name_is_null_with_a_reason(value, recwarn):
    when, why = parse_date(value)
    assert when is None and "time zone" in why
    assert not [w for w in recwarn if "Timezone" in type(w.message).__name__]


def test_utc_and_offsets_still_parse():
    assert parse_date("2026-10-01 10:00 UTC")[0].hour == 10
    assert parse_date("2026-10-01T10:00:00-08:00")[0].hour == 18


# -- 13. one corrupt Parquet file and connect ------------------------------------------------------------------


def test_connect_skips_an_unreadable_file_names_it_and_counts_it(tmp_path, caplog):
    out = tmp_path / "out"
    for n in range(2):
        src = tmp_path / f"in{n}.jsonl"
        src.write_text(_lines({"id": f"r{n}", "title": f"Talks {n}", "text": STORY.replace("Tuesday", f"day {n}"),
                               "published_at": f"2026-03-0{n + 1}T10:00:00Z"}))
        assert run_cli("run", "--input", str(src), "--output", str(out), timeout=180).returncode == 0
    files = sorted((out / "articles").rglob("*.parquet"))
    data = files[0].read_bytes()
    files[0].write_bytes(data[: len(data) // 2])
    con = newsbeam.connect(out)
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
    assert con.execute("SELECT path FROM unreadable_files").fetchall() == [(str(files[0]),)]
    assert str(files[0]) in caplog.text


# -- smaller ones --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["64:ff9b::a9fe:a9fe", "64:ff9b:1::a9fe:a9fe", "::169.254.169.254", "::a9fe:a9fe"])
def test_embedded_metadata_addresses_stay_refused_with_private_networks_allowed(address):
    assert forbidden_address(address, allow_private=True)


def test_output_busy_from_the_api_names_the_api_argument():
    from newsbeam.pipelines.launch import OutputBusy

    assert "wait=SECONDS" in str(OutputBusy("/o", {}, None, "wait=SECONDS"))


def test_importing_and_calling_the_api_prints_nothing():
    code = "import newsbeam; newsbeam.tag('Rebels attacked a checkpoint in the north on Monday.')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_the_printed_query_runs_for_an_output_path_with_quotes(tmp_path):
    out = tmp_path / "it's \"here\" $HOME"
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out), timeout=300)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.strip().startswith("from Python:"))
    command = line.split("from Python:", 1)[1].strip().replace("python", sys.executable, 1)
    run = subprocess.run(command, shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "ASSAULT" in run.stdout, run.stderr
    sql = next(x for x in proc.stdout.splitlines() if x.startswith("query (DuckDB):")).split(":", 1)[1]
    assert duckdb.sql(sql).fetchall()


def test_tone_is_stored_as_the_tagger_gives_it(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(_lines({"id": "t", "title": "Attack", "text": ATTACK * 3}))
    out = tmp_path / "out"
    assert run_cli("run", "--input", str(src), "--output", str(out), timeout=180).returncode == 0
    stored = newsbeam.connect(out).execute("SELECT tone FROM articles").fetchone()[0]
    assert stored == newsbeam.tag(ATTACK * 3, title="Attack")["tone"]


def test_compact_summary_counts_only_what_it_changed():
    from newsbeam.pipelines.cli import compact_summary

    line = compact_summary({"partitions": [], "files_before": 0, "files_after": 0, "rows": 0,
                            "skipped": [{"partition": "p", "file": "f", "reason": "r"}]})
    assert line.startswith("nothing to compact") and "not changed: 1 partition " in line
    line = compact_summary({"partitions": [{"partition": "q"}], "files_before": 2, "files_after": 1, "rows": 5, "skipped": []})
    assert line == "compacted 1 partition: 2 files -> 1 (5 rows)"
