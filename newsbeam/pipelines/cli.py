"""The ``newsbeam`` command line: ``run`` (batch pipeline) and ``tag`` (tagging only).

Flags newsbeam does not know are Beam's (``--runner``, ``--direct_num_workers``, ...) and
go to ``PipelineOptions`` unchanged.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import re
import shlex
import sys
import time

LOGGER = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


class UsageError(Exception):
    """A command line newsbeam cannot run: exit 2 with the message."""


def _fail(message: str, code: int) -> int:
    print(f"newsbeam: {message}", file=sys.stderr)
    return code


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbeam run",
        description="Read inputs and feeds, extract, tag and write partitioned Parquet. "
        "Unknown flags are passed to Beam (e.g. --runner, --direct_num_workers).",
    )
    parser.add_argument("--config", help="YAML config (default: the packaged default.yaml)")
    parser.add_argument("--input", action="append", dest="inputs", metavar="GLOB", help="local/object-store glob; repeatable; replaces the config's inputs")
    parser.add_argument("--feed", action="append", dest="feeds", metavar="PATH_OR_URL", help="feed file or URL; repeatable; replaces the config's feeds")
    parser.add_argument("--output", help="output directory or URI (overrides output.path)")
    parser.add_argument("--state", help="state directory or URI (default <output>/_state)")
    parser.add_argument("--allow-private-network", action="store_true", help="allow article URLs on private/loopback addresses")
    parser.add_argument(
        "--wait", nargs="?", type=float, const=0.0, metavar="SECONDS",
        help="if another run holds the output, wait for it (for SECONDS, or for ever) instead of exiting",
    )
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="extract and tag on N local processes (local runs; a cloud runner scales itself). Default 1",
    )
    parser.add_argument(
        "--progress", choices=("auto", "bar", "lines", "off"), default="auto",
        help="show progress: a live line on a terminal (bar), a plain line every --progress-every seconds (lines), "
        "or nothing; auto (the default) picks bar on a terminal, else lines",
    )
    parser.add_argument("--progress-every", type=float, default=30.0, metavar="SECONDS",
                        help="seconds between progress lines when not on a terminal (default 30)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    return parser


# Progress lines at most once a second (more is noise and cost) and at least once a day.
PROGRESS_EVERY_MIN = 1.0
PROGRESS_EVERY_MAX = 86_400.0


def _check_progress(args) -> None:
    """UsageError for a --progress-every that is not a sane number of seconds; checked
    before anything is created."""
    if not (PROGRESS_EVERY_MIN <= args.progress_every <= PROGRESS_EVERY_MAX):  # nan fails both
        raise UsageError(f"--progress-every must be a number of seconds from {PROGRESS_EVERY_MIN:g}"
                         f" to {PROGRESS_EVERY_MAX:g}, not {args.progress_every!r}")


def _reporter(args, what: str):
    from newsbeam.progress import Reporter

    _check_progress(args)
    return Reporter(args.progress, args.progress_every, what=what)


def _warn_empty_globs(cfg) -> None:
    import glob

    for spec in cfg.inputs:
        if "://" not in spec.path and not os.path.isdir(spec.path) and next(glob.iglob(spec.path, recursive=True), None) is None:
            print(f"newsbeam: warning: input {spec.path} matches no file", file=sys.stderr)


def format_summary(manifest: dict) -> str:
    counts = manifest.get("counts", {})
    written = manifest.get("written", {})
    skipped = manifest.get("skipped", {})
    lines = [
        f"run {manifest['run_id']}:",
        f"  read       {counts.get('FilesMatched', 0)} files -> {counts.get('DocumentsRead', 0)} documents + {counts.get('FeedItems', 0)} feed entries"
        f" ({counts.get('NewFeedItems', 0)} new)",
        f"  extracted  {counts.get('Extracted', 0)} articles",
        f"  tagged     {counts.get('Tagged', 0)} articles",
        f"  written    {written.get('articles', 0)} articles, {written.get('errors', 0)} error rows, {written.get('files', 0)} files",
        f"  skipped    {skipped.get('duplicate_in_run', 0)} duplicates in this run, {skipped.get('already_stored', 0)} already stored",
    ]
    feeds = manifest.get("feeds") or {}
    if feeds:
        polled = collections.Counter(
            "failed" if f.get("error") else ("not modified" if f.get("status") == 304 else "fetched") for f in feeds.values()
        )
        lines.append("  feeds      " + ", ".join(f"{n} {k}" for k, n in sorted(polled.items())))
    failed = manifest.get("failed", {})
    if failed:
        lines.append("  failed     " + "; ".join(
            f"{stage}: " + ", ".join(f"{t} {n}" for t, n in types.items()) for stage, types in failed.items()
        ))
    return "\n".join(lines)


# A person's command line (cron, a terminal) is held to known flags: a typo exits 2
# instead of silently changing the job. A launcher that adds options of its own (the
# Dataflow Flex Template's) sets this False: unknown flags are then reported and ignored.
STRICT_OPTIONS = True


def _beam_options(beam_args: list[str], streaming: bool = False):
    """Beam's options from the flags newsbeam does not know; storage is configured with them.

    Object-store flags (``--s3_endpoint_url``, ...) must reach FileSystems before the
    config is read or the output is locked, probed or recovered, all outside a pipeline.
    """
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from newsbeam import storage

    options = PipelineOptions(beam_args)
    unknown = set(options.get_all_options(retain_unknown_options=True)) - set(options.get_all_options())
    if unknown:
        # As typed (``-v``, ``--ouptut``), not as Beam's parser renamed them.
        typed = [a.split("=", 1)[0] for a in beam_args
                 if a.startswith("-") and a.lstrip("-").split("=", 1)[0].replace("-", "_") in unknown]
        names = ", ".join(typed or sorted(unknown))
        if STRICT_OPTIONS:
            raise UsageError(f"unknown option {names} (neither newsbeam's nor Beam's)")
        print(f"newsbeam: ignoring options neither newsbeam nor Beam knows: {names}", file=sys.stderr)
    standard = options.view_as(StandardOptions)
    standard.runner = standard.runner or "DirectRunner"
    if streaming:
        standard.streaming = True
    storage.configure(options)
    return options


def cmd_run(argv: list[str]) -> int:
    from newsbeam.pipelines.config import ConfigError, load_config
    from newsbeam.pipelines.launch import LEASE_LOST, OutputBusy, RunFailed, check_runnable, run_batch

    args, beam_args = _run_parser().parse_known_args(argv)
    _check_progress(args)
    options = _beam_options(beam_args)
    workers = _local_workers(args.workers, options)
    overrides = {
        "inputs": args.inputs,
        "feeds": args.feeds,
        "output": args.output,
        "state": args.state,
        "allow_private_network": args.allow_private_network,
    }
    try:
        cfg = load_config(args.config, overrides)
        output = check_runnable(cfg)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    except RunFailed as exc:
        return _fail(str(exc), EXIT_FAILED)
    _warn_empty_globs(cfg)
    started = time.monotonic()
    try:
        from newsbeam import progress

        with _reporter(args, "run"):
            result = run_batch(cfg, options, workers, args.wait, say=lambda m: progress.echo(f"newsbeam: {m}"))
            written = result.manifest.get("written", {})
            progress.settle({"written": written.get("articles", 0), "errors": written.get("errors", 0)})
    except OutputBusy as exc:
        print(f"newsbeam: {exc}", file=sys.stderr)
        return EXIT_OK
    except RunFailed as exc:
        return _fail(str(exc), EXIT_FAILED)
    code = _report_run(result, output, time.monotonic() - started)
    if result.lease_lost:
        return _fail(LEASE_LOST.format(output=output), EXIT_FAILED)
    return code


def _report_run(result, output: str, took: float) -> int:
    """The run's summary, where its output is and how to query it (or why it failed)."""
    manifest = result.manifest
    print(format_summary(manifest))
    print(f"  took       {took:.1f} s")
    from newsbeam.pipelines.launch import every_feed_failed

    failed = every_feed_failed(manifest, output)
    if failed:
        return _fail(failed, EXIT_FAILED)
    print(f"\noutput: {output}/articles (errors in {output}/errors, run manifest {result.manifest_path})")
    sql = (
        "SELECT published_date, event_type, count(*) AS articles "
        f"FROM {parquet_source(output)} GROUP BY ALL ORDER BY ALL"
    )
    print(f"query (DuckDB): {sql}")
    print(f"  from Python:  python -c {shell_code(f'import duckdb; duckdb.sql({python_string(sql)}).show()')}")
    return EXIT_OK


def python_string(text: str) -> str:
    """A Python string literal in double quotes (the SQL inside keeps its single quotes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def shell_code(code: str) -> str:
    """``code`` as one double-quoted shell word: it pastes into bash and zsh as printed,
    whatever the output path holds (quotes, $, backticks)."""
    return '"' + re.sub(r'([\\"$`])', r"\\\1", code) + '"'


def parquet_source(output: str) -> str:
    """DuckDB's read_parquet over an output's articles, the path quoted as an SQL string
    (an output path may hold a quote)."""
    glob = f"{output}/articles/**/*.parquet".replace("'", "''")
    return f"read_parquet('{glob}', hive_partitioning = true)"


def _local_workers(workers: int, options) -> int:
    """How many processes extract and tag: ``--workers`` on a local runner, else 1 (the
    runner's own workers do it)."""
    from apache_beam.options.pipeline_options import StandardOptions

    from newsbeam.pipelines.runner import LOCAL_RUNNERS

    if workers < 1:
        raise UsageError(f"--workers must be 1 or more, not {workers}")
    if workers > 1 and options.view_as(StandardOptions).runner not in LOCAL_RUNNERS:
        print("newsbeam: --workers applies to local runs only; the runner's own workers extract and tag", file=sys.stderr)
        return 1
    return workers


def cmd_tag(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="newsbeam tag",
        description="Tag JSON Lines rows {id, text, title?, targets?} with the pipeline's tagger.",
    )
    parser.add_argument("input", help="input JSON Lines ('-' for stdin)")
    parser.add_argument("output", help="output JSON Lines ('-' for stdout)")
    parser.add_argument("--config", help="config whose taxonomy and claims to use")
    args = parser.parse_args(argv)

    from newsbeam.pipelines.config import ConfigError, load_config
    from newsbeam.pipelines.launch import check_models

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    problem = _tag_paths_problem(args.input, args.output)
    if problem:
        return _fail(problem, EXIT_CONFIG)
    try:
        tagger = check_models(cfg)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    # Bytes in, so that one line that is not UTF-8 is an error row, not the end of the run.
    try:
        src = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")
        dst = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    except OSError as exc:
        return _fail(f"cannot open {exc.filename}: {exc.strerror}", EXIT_FAILED)
    with src, dst:
        for line in src:
            if not line.strip():
                continue
            dst.write(json.dumps(tag_row(tagger, line), ensure_ascii=False, allow_nan=False) + "\n")
            if dst is sys.stdout and stdout_closed():
                break  # nobody reads the rest
    return EXIT_OK


def _tag_paths_problem(source: str, target: str) -> str | None:
    """Why ``newsbeam tag`` cannot read ``source`` or write ``target`` (one line), or None."""
    if source != "-":
        if not os.path.exists(source):
            return f"input {source} does not exist"
        if os.path.isdir(source):
            return f"input {source} is a directory: give a JSON Lines file ('-' for stdin)"
    if target != "-":
        if os.path.isdir(target):
            return f"output {target} is a directory: give a file name ('-' for stdout)"
        parent = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(parent):
            return f"output {target}: the directory {parent} does not exist"
    return None


class BadRow(ValueError):
    """A line of ``newsbeam tag``'s input that cannot be tagged."""


def _reject_constant(name: str):
    raise BadRow(f"{name} is not a JSON value (only finite numbers are)")


def _is_text(value) -> bool:
    """A string that can be written back as UTF-8 (no lone surrogate such as "\\ud800")."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _row_id(row):
    """The row's id as given (any JSON value: a string, a number, an object...), so the
    caller can match each output line to its input; null where the row has none, or where
    the id cannot be written back as UTF-8 (a lone surrogate)."""
    value = row.get("id") if isinstance(row, dict) else None
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return None
    return value


def load_json_line(line: bytes | str):
    """A line of JSON Lines as a value; BadRow when it is not UTF-8 or not (finite) JSON."""
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
    except UnicodeDecodeError as exc:
        raise BadRow(f"the line is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        row = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise BadRow("the JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise BadRow(f"not JSON: {exc}") from None
    return row


def check_tag_row(row) -> dict:
    """The row if it can be tagged; BadRow says why not."""
    if not isinstance(row, dict):
        raise BadRow("a row must be a JSON object")
    if not _is_text(row.get("text")):
        raise BadRow("a row must have a string 'text' (UTF-8, no lone surrogates)")
    for key in ("title", "language"):
        if row.get(key) is not None and not _is_text(row[key]):
            raise BadRow(f"'{key}' must be a string")
    targets = row.get("targets")
    if targets is not None and not (isinstance(targets, list) and all(_is_text(t) for t in targets)):
        raise BadRow("'targets' must be a list of strings")
    return row


def tag_row(tagger, line: bytes | str) -> dict:
    """Tag one input line; a bad line gives ``{"id", "error"}`` in its place instead of tags."""
    from newsbeam.tagging import Claim

    row = None
    try:
        row = check_tag_row(row := load_json_line(line))
        targets = row.get("targets")
        claims = None if targets is None else [Claim(str(i), t) for i, t in enumerate(targets)]
        result = tagger.tag(row.get("title"), row["text"], claims, row.get("language"))
    except BadRow as exc:
        return {"id": None, "error": str(exc)} if row is None else {"id": _row_id(row), "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - one row that breaks the tagger never stops the others
        return {"id": _row_id(row), "error": f"{type(exc).__name__}: {exc}"}
    # Every registered tag's columns (newsbeam.tags), but the story id, which only a run's
    # commit can give; a stance names its claim by id only for the config's claims.
    out = {"id": _row_id(row), **{k: v for k, v in result.values.items() if k != "story_id"}}
    out["actors"] = _primary_actor_codes(result)
    out["stances"] = [
        {"target": s["target"], "label": s["label"], "score": s["score"], "confidence": s["confidence"],
         "evidence": s["evidence"]}
        | ({} if claims is not None else {"claim_id": s["claim_id"]})
        for s in result.stances
    ]
    return out


def _primary_actor_codes(result) -> dict:
    """The primary event's source and target codes (empty lists when it has no actors)."""
    source, target = result.primary_codes()
    return {"source": source, "target": target}


class DropBeamNoise(logging.Filter):
    """Beam warns on import that optional GCP clients are missing; they are not needed."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("apitools not found")


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(DropBeamNoise())
    if not verbose:
        # Beam logs every stage at INFO and warns about optional GCP clients; keep the
        # terminal for newsbeam's own messages.
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
        # A worker's failure is logged by Beam with a page of traceback before it reaches
        # the CLI, which says it in one line (describe_failure); -v shows both.
        logging.getLogger("apache_beam.runners").setLevel(logging.CRITICAL)
        logging.getLogger("trafilatura").setLevel(logging.ERROR)
        logging.getLogger("htmldate").setLevel(logging.ERROR)


def cmd_report(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="newsbeam report",
        description="Summarise an output directory: a self-contained HTML page with charts, and a terminal summary.",
    )
    parser.add_argument("--output", required=True, help="the output directory (or s3://, gs:// URI) of newsbeam run")
    parser.add_argument("--since", help="first published date to include (YYYY-MM-DD)")
    parser.add_argument("--until", help="last published date to include (YYYY-MM-DD)")
    parser.add_argument("--html", help="where to write the page (default <output>/report.html; ./report.html for object-store outputs)")
    args, beam_args = parser.parse_known_args(argv)
    _beam_options(beam_args)  # object-store options (--s3_endpoint_url, ...)
    import datetime as dt

    from newsbeam import report, storage

    for flag in ("since", "until"):
        value = getattr(args, flag)
        if value:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                return _fail(f"--{flag} {value!r} is not a date (YYYY-MM-DD)", EXIT_CONFIG)
    local = storage.is_local(args.output)
    if local and not os.path.isdir(args.output):
        return _fail(f"output {args.output} is not a directory", EXIT_CONFIG)
    agg = report.aggregate(args.output, args.since, args.until)
    for path, reason in agg.unreadable:
        print(f"newsbeam: skipping unreadable file {path} ({reason})", file=sys.stderr)
    page = args.html or (os.path.join(args.output, "report.html") if local else "report.html")
    with open(page, "w", encoding="utf-8") as fh:
        fh.write(report.render_html(agg, args.output, args.since, args.until))
    print(report.terminal_summary(agg))
    print(f"report: {os.path.abspath(page)}")
    return EXIT_OK


def cmd_compact(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="newsbeam compact",
        description="Merge the small Parquet files of each partition into larger ones, without changing a row.",
    )
    parser.add_argument("--output", required=True, help="the output directory of newsbeam run")
    parser.add_argument("--min-files", type=int, default=2, help="compact partitions with at least this many files")
    parser.add_argument("--target-rows", type=int, default=500_000, help="rows per compacted file")
    parser.add_argument("--wait", nargs="?", type=float, const=0.0, metavar="SECONDS", help="wait for a running job to finish")
    args, beam_args = parser.parse_known_args(argv)
    _beam_options(beam_args)  # object-store options (--s3_endpoint_url, ...)
    from newsbeam import storage
    from newsbeam.commit import recover
    from newsbeam.compact import compact
    from newsbeam.locking import OutputLock
    from newsbeam.pipelines.launch import waited

    output = storage.absolute(args.output)
    if storage.is_local(output) and not os.path.isdir(output):
        return _fail(f"output {output} is not a directory", EXIT_CONFIG)
    lock = OutputLock(output, "compact", wait=args.wait)
    if not lock.acquire():
        print(f"newsbeam: another job (pid {lock.holder.get('pid', '?')}) is writing to {output}; not compacting"
              f" ({waited(args.wait)})", file=sys.stderr)
        return EXIT_OK
    try:
        recover(output)
        manifest = compact(output, args.min_files, args.target_rows)
    finally:
        lock.release()
    for skip in manifest["skipped"]:
        print(f"newsbeam: left partition {skip['partition']} as it is: {skip['file']} is unreadable ({skip['reason']})",
              file=sys.stderr)
    print(compact_summary(manifest))
    return EXIT_OK


def compact_summary(manifest: dict) -> str:
    """One line on what a compaction changed; the partitions it left alone are named
    apart (they were not changed, so they are not in the counts)."""
    from newsbeam.text import plural

    done = manifest["partitions"]
    line = (f"compacted {plural(len(done), 'partition')}: {plural(manifest['files_before'], 'file')} -> "
            f"{manifest['files_after']} ({plural(manifest['rows'], 'row')})" if done else "nothing to compact")
    if manifest["skipped"]:
        line += f"; not changed: {plural(len(manifest['skipped']), 'partition')} with an unreadable file (named above)"
    return line


def cmd_stream(argv: list[str]) -> int:
    import signal

    parser = _run_parser()
    parser.prog = "newsbeam stream"
    parser.description = "Poll the feeds for ever (a Beam streaming pipeline); each poll's new articles are committed as a batch."
    parser.add_argument("--poll-interval", type=float, default=300.0, metavar="SECONDS", help="seconds between polls (default 300)")
    parser.add_argument("--max-polls", type=int, help="stop after this many polls (default: run until SIGINT/SIGTERM)")
    args, beam_args = parser.parse_known_args(argv)
    _check_progress(args)
    from newsbeam import storage
    from newsbeam.locking import OutputLock
    from newsbeam.pipelines.config import ConfigError, load_config
    from newsbeam.pipelines.launch import waited

    options = _beam_options(beam_args, streaming=True)

    try:
        cfg = load_config(args.config, {"feeds": args.feeds, "output": args.output, "state": args.state, "allow_private_network": args.allow_private_network})
    except ConfigError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    if not cfg.feeds:
        return _fail("nothing to poll: give --feed, or feeds in the config", EXIT_CONFIG)
    from newsbeam.pipelines.launch import check_models

    try:
        check_models(cfg)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    if args.poll_interval <= 0:
        return _fail("--poll-interval must be positive", EXIT_CONFIG)
    output = storage.absolute(cfg.output_path)
    problem = storage.check_writable(output)
    if problem:
        return _fail(problem, EXIT_FAILED)
    lock = OutputLock(output, "stream", wait=args.wait)
    if not lock.acquire():
        print(f"newsbeam: another job (pid {lock.holder.get('pid', '?')}) is writing to {output}; not starting"
              f" ({waited(args.wait)})", file=sys.stderr)
        return EXIT_OK
    lock.on_lost(lambda: os.kill(os.getpid(), signal.SIGTERM))  # stop as on SIGTERM: finish the batch in flight
    try:
        from newsbeam.pipelines.streaming import run_stream

        with _reporter(args, "stream"):
            code = run_stream(cfg, options, output, args.poll_interval, args.max_polls)
    finally:
        lock.release()
    if lock.lost:
        code = _fail(f"stopped: the lease on {output} was taken over by another launcher", EXIT_FAILED)
    # Everything is committed and the lock released. Leave now: a runner thread that is
    # not a daemon (Beam's, blocked in a system call) would otherwise hold interpreter
    # shutdown, and a service manager would wait for it until SIGKILL.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def cmd_init(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="newsbeam init", description="Write a starter config, claims and actors to edit.")
    parser.add_argument("directory", help="where to write newsbeam.yaml, claims.yaml and actors.yaml")
    parser.add_argument("--force", action="store_true", help="overwrite files that are there")
    args = parser.parse_args(argv)
    from newsbeam.starter import CONFIG, StarterExists, write_starter

    try:
        written = write_starter(args.directory, args.force)
    except StarterExists as exc:
        return _fail(str(exc), EXIT_CONFIG)
    except OSError as exc:
        return _fail(f"cannot write {exc.filename}: {exc.strerror}", EXIT_FAILED)
    config = os.path.join(args.directory, CONFIG)
    print("wrote " + ", ".join(str(p) for p in written))
    print(f"edit the feeds and claims, then:  {command_name()} run --config {shlex.quote(config)}")
    return EXIT_OK


def command_name() -> str:
    """How to call newsbeam so that the command works as printed: ``newsbeam`` where the
    shell finds this installation's script, else its full path (``make demo`` installs
    into .venv, which a shell does not have on its PATH until it is activated)."""
    import shutil

    script = os.path.join(os.path.dirname(sys.executable), "newsbeam")
    found = shutil.which("newsbeam")
    if found and os.path.realpath(found) == os.path.realpath(script):
        return "newsbeam"
    if os.path.exists(script):
        return shlex.quote(os.path.relpath(script) if not os.path.relpath(script).startswith("..") else script)
    return f"{shlex.quote(sys.executable)} -m newsbeam"


# One line per command for `newsbeam --help`, in the order a newcomer meets them.
COMMAND_HELP = {
    "init": "write a starter config (real news feeds), claims and actors to edit",
    "run": "read inputs and feeds once; extract, tag, store as Parquet (a batch)",
    "stream": "poll the feeds for ever; each poll's new articles committed as a batch",
    "report": "an HTML page of charts over an output (events, stances, actors over time)",
    "tag": "tag JSON Lines rows with the pipeline's tagger (no fetching, no output)",
    "compact": "merge an output's small Parquet files, partition by partition",
}


def newsbeam_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsbeam")
    except PackageNotFoundError:
        return "(not installed)"


def main_help() -> str:
    lines = ["usage: newsbeam COMMAND [options]   (newsbeam COMMAND --help for its options)", "",
             "News feeds to tagged, Hive-partitioned Parquet on Apache Beam.", "", "commands:"]
    lines += [f"  {name:<9} {COMMAND_HELP[name]}" for name in COMMAND_HELP]
    lines += ["", "  -V, --version  print the version", "",
              "start with: newsbeam init DIR, or run the bundled sample: newsbeam run --config sample.yaml"]
    return "\n".join(lines)


COMMANDS = {"run": cmd_run, "stream": cmd_stream, "tag": cmd_tag, "report": cmd_report, "compact": cmd_compact,
            "init": cmd_init}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-V", "--version"):
        print(f"newsbeam {newsbeam_version()}")
        return EXIT_OK
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        asked = bool(argv) and argv[0] in ("-h", "--help")
        if argv and not asked:
            print(f"newsbeam: unknown command {argv[0]!r}", file=sys.stderr)
        print(main_help(), file=sys.stdout if asked else sys.stderr)
        return EXIT_OK if asked else EXIT_CONFIG
    # Before anything imports Beam: its import-time warnings go through these handlers.
    setup_logging("-v" in argv or "--verbose" in argv)
    if argv[0] == "stream":
        from newsbeam.pipelines.stopping import catch_early_stop

        catch_early_stop()
    quiet_broken_pipe()
    try:
        return COMMANDS[argv[0]](argv[1:])
    except UsageError as exc:
        return _fail(f"{argv[0]}: {exc}", EXIT_CONFIG)
    except BrokenPipeError:  # the reader went away mid-write (`| head`): quiet, as Unix tools are
        _stdout_to_devnull()
        return EXIT_OK


class _PipeGuard:
    """stdout that, once its reader has gone (``newsbeam run ... | head -c 0``), sends the
    rest to /dev/null instead of raising: a committed run's exit status is the run's, never
    a BrokenPipeError traceback. ``closed_by_reader`` lets a long writer (``newsbeam tag``)
    stop early."""

    def __init__(self, stream):
        self._stream = stream
        self.closed_by_reader = False

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._lost()
            return len(text)

    def flush(self):
        self._guarded(self._stream.flush)

    def close(self):
        self._guarded(self._stream.close)

    def _guarded(self, call):
        try:
            call()
        except BrokenPipeError:
            self._lost()

    def _lost(self):
        self.closed_by_reader = True
        _stdout_to_devnull()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _stdout_to_devnull() -> None:
    """Point fd 1 at /dev/null, so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def quiet_broken_pipe() -> None:
    if not isinstance(sys.stdout, _PipeGuard) and sys.stdout is not None:
        sys.stdout = _PipeGuard(sys.stdout)


def stdout_closed() -> bool:
    return bool(getattr(sys.stdout, "closed_by_reader", False))


if __name__ == "__main__":
    sys.exit(main())
