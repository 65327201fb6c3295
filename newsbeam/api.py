"""The Python API: run the pipeline, tag a text, query an output.

```python
import newsbeam

summary = newsbeam.run(config="configs/sample.yaml", output="out/sample")
con = newsbeam.connect("out/sample")
con.sql("SELECT event_type, count(*) FROM articles GROUP BY ALL").show()
newsbeam.tag("Taliban fighters attacked a police checkpoint in Kandahar on Monday.")
```

A driver over the same core as the ``newsbeam`` command: ``run`` launches the same batch
pipeline (``newsbeam.pipelines.launch``), ``tag`` uses the same tagger and tag registry,
``connect`` reads the committed view of an output (``newsbeam.dataset``). A bad argument
raises ``ConfigError`` (or ``TypeError`` for a wrong type) with the message the CLI prints.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newsbeam.pipelines.config import ConfigError
from newsbeam.pipelines.launch import AllFeedsFailed, OutputBusy, RunFailed
from newsbeam.tagging.events import CONFIDENT

if TYPE_CHECKING:
    import duckdb

LOGGER = logging.getLogger("newsbeam")

__all__ = ["AllFeedsFailed", "ConfigError", "OutputBusy", "OutputNotFound", "RunFailed", "RunSummary", "connect", "run", "tag"]


def _quiet_beam_import() -> None:
    """Beam logs "apitools not found" on the root logger when it is imported without its
    GCP extras, which a Python user sees as a stray warning at the first call: dropped
    (the CLI drops it the same way)."""
    from newsbeam.pipelines.cli import DropBeamNoise

    root = logging.getLogger()
    if not any(isinstance(f, DropBeamNoise) for f in root.filters):
        root.addFilter(DropBeamNoise())


@dataclass(frozen=True)
class RunSummary:
    """What a run stored, from its manifest (``<output>/_runs/<run_id>.json``)."""

    run_id: str
    output: str
    articles: int
    """Articles stored by this run."""
    duplicates: int
    """Duplicates skipped within the run (same article id or same text)."""
    already_stored: int
    """Articles skipped because an earlier run stored them."""
    errors: int
    """Error rows written (see ``errors_by_kind``)."""
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    """Error rows per ``stage/error_type``, e.g. ``{"fetch/HTTP404": 2}``."""
    stories: int = 0
    manifest: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_manifest(cls, manifest: dict) -> RunSummary:
        written, skipped = manifest.get("written", {}), manifest.get("skipped", {})
        by_kind = {f"{stage}/{kind}": n for stage, kinds in manifest.get("failed", {}).items() for kind, n in kinds.items()}
        return cls(manifest["run_id"], manifest["output"], written.get("articles", 0), skipped.get("duplicate_in_run", 0),
                   skipped.get("already_stored", 0), written.get("errors", 0), by_kind, written.get("stories", 0), manifest)

    def __str__(self) -> str:
        from newsbeam.pipelines.cli import format_summary

        return format_summary(self.manifest)


def _paths(name: str, value: str | os.PathLike | Sequence[str | os.PathLike] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        return [_path(name, value)]
    if isinstance(value, (bytes, dict)) or not isinstance(value, Sequence) or \
            not all(isinstance(v, (str, os.PathLike)) for v in value):
        raise TypeError(f"{name} must be a path or a list of paths, not {_shown(value)}")
    return [_path(name, v) for v in value]


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _path(name: str, value: Any, optional: bool = False) -> str | None:
    """A str or os.PathLike argument as a str (None passes when ``optional``); any other
    type is a TypeError naming the argument."""
    if value is None and optional:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a path (str or os.PathLike), not {_shown(value)}")
    return value


def _flag(name: str, value: Any) -> bool:
    """A bool argument: True or False only (``"false"`` is truthy; it must not switch a guard)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {_shown(value)}")
    return value


def _seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, not {_shown(value)}")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a finite number of seconds, 0 or more, not {value!r}")
    return float(value)


def _options(beam_options: dict[str, Any]):
    """Beam's options from keyword arguments; a name Beam does not know is a ConfigError."""
    _quiet_beam_import()
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from newsbeam import storage

    options = PipelineOptions(flags=[], **beam_options)
    unknown = sorted(set(beam_options) - set(options.get_all_options()))
    if unknown:
        raise ConfigError(f"unknown option {', '.join(unknown)} (neither newsbeam's nor Beam's)")
    standard = options.view_as(StandardOptions)
    standard.runner = standard.runner or "DirectRunner"
    storage.configure(options)
    return options


def run(config: str | os.PathLike | None = None, *, inputs: str | Sequence[str] | None = None,
        feeds: str | Sequence[str] | None = None, output: str | os.PathLike | None = None, state: str | None = None, workers: int = 1, wait: float | None = None,
        allow_private_network: bool = False, **beam_options: Any) -> RunSummary:
    """Run the batch pipeline once, as ``newsbeam run`` does, and return what it stored.

    ``config`` is a YAML file (default: the packaged default config); ``inputs`` (globs)
    and ``feeds`` (URLs or files) replace the config's, as ``--input`` and ``--feed`` do;
    ``output`` replaces ``output.path``. ``workers`` above 1 extracts and tags on that many
    local processes. Other keyword arguments are Beam pipeline options
    (``runner="DataflowRunner", project=...``).

    Raises ``ConfigError`` for a bad config or argument, ``OutputBusy`` when another run
    holds the output (after ``wait`` seconds, if given), ``RunFailed`` when the run cannot
    finish (nothing half-written is visible then), and ``AllFeedsFailed`` (a ``RunFailed``
    whose ``summary`` is what was stored) when every feed failed: the same rule by which
    ``newsbeam run`` exits 1.
    """
    from newsbeam.pipelines.config import load_config
    from newsbeam.pipelines.launch import LEASE_LOST, AllFeedsFailed, check_runnable, every_feed_failed, run_batch

    if not isinstance(workers, int) or isinstance(workers, bool):
        raise TypeError(f"workers must be an int, not {_shown(workers)}")
    if workers < 1:
        raise ConfigError(f"workers must be 1 or more, not {workers!r}")
    overrides = {"inputs": _paths("inputs", inputs), "feeds": _paths("feeds", feeds),
                 "output": _path("output", output, optional=True), "state": _path("state", state, optional=True),
                 "allow_private_network": _flag("allow_private_network", allow_private_network)}
    wait = _seconds("wait", wait)
    for key, value in beam_options.items():
        if not isinstance(value, (str, int, float, bool, list, type(None))):
            raise TypeError(f"{key} must be a string, number, bool or list (a Beam option), not {_shown(value)}")
    if "runner" in beam_options and not isinstance(beam_options["runner"], str):
        raise TypeError(f"runner must be a runner's name, not {_shown(beam_options['runner'])}")
    options = _options(beam_options)
    cfg = load_config(_path("config", config, optional=True), overrides)
    out = check_runnable(cfg)
    result = run_batch(cfg, options, workers, wait, say=LOGGER.info, wait_flag="wait=SECONDS")
    if result.lease_lost:
        raise RunFailed(LEASE_LOST.format(output=out))
    summary = RunSummary.from_manifest(result.manifest)
    failed = every_feed_failed(result.manifest, out)
    if failed:
        raise AllFeedsFailed(failed, summary)
    return summary


@functools.lru_cache(maxsize=4)
def _tagger(config: str | None):
    """One tagger per config file: its models and config are read once."""
    _quiet_beam_import()
    from newsbeam.pipelines.config import load_config
    from newsbeam.pipelines.launch import check_models

    return check_models(load_config(config))


def tag(text: str, *, title: str | None = None, claims: Sequence[str] | dict[str, str] | None = None,
        language: str | None = None, config: str | os.PathLike | None = None) -> dict[str, Any]:
    """Tag one text with the fields the pipeline writes: ``event_type``, ``event_scores``,
    ``event_evidence``, ``event_actors``, ``source_codes``, ``target_codes``, ``stances``,
    ``tone`` (and any tag registered in ``newsbeam.tags``).

    ``claims`` (a list of claims, or ``{id: claim}``) replaces the config's claims for
    the stances; ``config`` chooses the taxonomy, claims, actors and tier (default: the
    packaged default config, fast tier). ``language`` (ISO 639-1) other than English
    leaves the text untagged (null event type), as the pipeline does.
    """
    from newsbeam.tagging import Claim

    if not isinstance(text, str):
        raise TypeError(f"text must be a string, not {type(text).__name__}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a string or None, not {type(title).__name__}")
    if language is not None and not isinstance(language, str):
        raise TypeError(f"language must be a string such as 'en' or None, not {_shown(language)}")
    config = _path("config", config, optional=True)
    claim_list = None
    if isinstance(claims, dict):
        claim_list = [Claim(str(i), str(c)) for i, c in claims.items()]
    elif claims is not None:
        # Any iterable, a generator included: read once, then checked.
        claim_items = list(claims) if not isinstance(claims, (str, bytes)) and hasattr(claims, "__iter__") else None
        if claim_items is None or not all(isinstance(c, str) for c in claim_items):
            raise TypeError("claims must be a list of strings or a {id: claim} dict")
        claim_list = [Claim(str(i), c) for i, c in enumerate(claim_items)]
    values = _tagger(config).tag(title, text, claim_list, language).values
    return {k: v for k, v in values.items() if k != "story_id"}  # only a run's commit gives stories


# One row per (article, claim) and per (article, event type found): the shapes of the
# README's stance and actor queries.
_VIEWS = {
    "stances": "SELECT a.article_id, a.title, a.source, a.published_at, s.claim_id, s.target AS claim, s.label, "
               "s.score, s.confidence, s.evidence FROM articles AS a, unnest(a.stances) AS t(s)",
    "confident_events": f"SELECT * FROM articles WHERE event_type <> 'NONE' AND event_confidence >= {CONFIDENT}",
    "events": "SELECT a.article_id, a.title, a.source, a.published_at, e.event_type, e.event_type = a.event_type AS primary_event, "
              "e.source AS source_actors, e.target AS target_actors, e.evidence FROM articles AS a, unnest(a.event_actors) AS x(e)",
}


def connect(output: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection over an output (a local path, ``s3://`` or ``gs://``) with views:

    - ``articles``: one row per stored article, partition columns included;
    - ``confident_events``: the articles whose event type is not NONE and whose
      ``event_confidence`` is 0.8 or more (right at least 8 times in 10 on a new source);
    - ``errors``: one row per error row;
    - ``stories``: one row per story and run;
    - ``stances``: one row per (article, claim): claim, label, score, confidence, evidence;
    - ``events``: one row per (article, event type found), with its actors and evidence;
    - ``unreadable_files``: committed files that could not be read (path, reason); they
      are left out of the other views and named once in a warning.

    Only committed runs are visible (``newsbeam.dataset``): a run in progress or one that
    died is not. The connection is in memory; the data stays where it is.

    Raises ``TypeError`` for an argument that is not a path, and ``OutputNotFound`` (a
    ``ConfigError``) for a path that is empty, missing, not a directory, or of a scheme
    no filesystem reads: a typo never reads as "no articles".
    """
    _quiet_beam_import()
    import duckdb

    from newsbeam.dataset import open_dataset
    from newsbeam.layout import ARTICLES, ERRORS, STORIES
    from newsbeam.records import ARTICLE_SCHEMA, ERROR_SCHEMA
    from newsbeam.stories import STORY_SCHEMA

    output = _existing_output(output)
    con = duckdb.connect()
    unreadable: list[tuple[str, str]] = []
    for kind, schema in ((ARTICLES, ARTICLE_SCHEMA), (ERRORS, ERROR_SCHEMA), (STORIES, STORY_SCHEMA)):
        dataset = open_dataset(output, kind, unreadable)
        con.register(f"newsbeam_{kind}", dataset if dataset is not None else schema.empty_table())
        con.execute(f"CREATE VIEW {kind} AS SELECT * FROM newsbeam_{kind}")
    for name, sql in _VIEWS.items():
        con.execute(f"CREATE VIEW {name} AS {sql}")
    import pyarrow as pa

    con.register("newsbeam_unreadable", pa.table({"path": [p for p, _ in unreadable], "reason": [r for _, r in unreadable]},
                                                  schema=pa.schema([("path", pa.string()), ("reason", pa.string())])))
    con.execute("CREATE VIEW unreadable_files AS SELECT * FROM newsbeam_unreadable")
    if unreadable:
        LOGGER.warning("%s: %d unreadable file(s) left out (view unreadable_files): %s", output, len(unreadable),
                       "; ".join(f"{p}: {r}" for p, r in unreadable[:3]) + ("; ..." if len(unreadable) > 3 else ""))
    return con


class OutputNotFound(ConfigError):
    """``connect`` was given a path that holds no output."""


# Longer paths are typos or attacks, not outputs (PATH_MAX is 4096 on Linux).
_MAX_PATH = 4096


def _existing_output(output: Any) -> str:
    from newsbeam import storage

    path = _path("output", output)
    if not path.strip():
        raise OutputNotFound("output: an empty path names no output")
    if len(path) > _MAX_PATH:
        raise OutputNotFound(f"output: a path of {len(path)} characters names no output")
    shown = path if len(path) <= 200 else path[:200] + "..."
    if storage.is_local(path):
        if not os.path.exists(path):
            raise OutputNotFound(f"{shown}: no such output (the path does not exist)")
        if not os.path.isdir(path):
            raise OutputNotFound(f"{shown}: not an output (a file, not a directory)")
        return path
    try:
        storage.arrow_filesystem(path)
    except Exception as exc:  # noqa: BLE001 - an unknown scheme or a malformed URI: one documented error
        raise OutputNotFound(f"{shown}: cannot be read ({type(exc).__name__}: {str(exc)[:200]})") from None
    return path
