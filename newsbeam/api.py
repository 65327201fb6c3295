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
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newsbeam.pipelines.config import ConfigError
from newsbeam.pipelines.launch import OutputBusy, RunFailed

if TYPE_CHECKING:
    import duckdb

LOGGER = logging.getLogger("newsbeam")

__all__ = ["ConfigError", "OutputBusy", "RunFailed", "RunSummary", "connect", "run", "tag"]


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
        return [os.fspath(value)]
    if not all(isinstance(v, (str, os.PathLike)) for v in value):
        raise TypeError(f"{name} must be a path or a list of paths, not {value!r}")
    return [os.fspath(v) for v in value]


def _options(beam_options: dict[str, Any]):
    """Beam's options from keyword arguments; a name Beam does not know is a ConfigError."""
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
    finish (nothing half-written is visible then).
    """
    from newsbeam.pipelines.config import load_config
    from newsbeam.pipelines.launch import LEASE_LOST, check_runnable, run_batch

    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ConfigError(f"workers must be 1 or more, not {workers!r}")
    overrides = {"inputs": _paths("inputs", inputs), "feeds": _paths("feeds", feeds),
                 "output": os.fspath(output) if output is not None else None, "state": state,
                 "allow_private_network": allow_private_network}
    options = _options(beam_options)
    cfg = load_config(os.fspath(config) if config is not None else None, overrides)
    out = check_runnable(cfg)
    result = run_batch(cfg, options, workers, wait, say=LOGGER.info)
    if result.lease_lost:
        raise RunFailed(LEASE_LOST.format(output=out))
    return RunSummary.from_manifest(result.manifest)


@functools.lru_cache(maxsize=4)
def _tagger(config: str | None):
    from newsbeam.documents import shared_tagger
    from newsbeam.pipelines.config import load_config

    return shared_tagger(load_config(config).tag_settings())


def tag(text: str, *, title: str | None = None, claims: Sequence[str] | dict[str, str] | None = None,
        language: str | None = None, config: str | None = None) -> dict[str, Any]:
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
    claim_list = None
    if isinstance(claims, dict):
        claim_list = [Claim(str(i), str(c)) for i, c in claims.items()]
    elif claims is not None:
        if isinstance(claims, str) or not all(isinstance(c, str) for c in claims):
            raise TypeError("claims must be a list of strings or a {id: claim} dict")
        claim_list = [Claim(str(i), c) for i, c in enumerate(claims)]
    values = _tagger(config).tag(title, text, claim_list, language).values
    return {k: v for k, v in values.items() if k != "story_id"}  # only a run's commit gives stories


# One row per (article, claim) and per (article, event type found): the shapes of the
# README's stance and actor queries.
_VIEWS = {
    "stances": "SELECT a.article_id, a.title, a.source, a.published_at, s.claim_id, s.target AS claim, s.label, "
               "s.score, s.evidence FROM articles AS a, unnest(a.stances) AS t(s)",
    "events": "SELECT a.article_id, a.title, a.source, a.published_at, e.event_type, e.event_type = a.event_type AS primary_event, "
              "e.source AS source_actors, e.target AS target_actors, e.evidence FROM articles AS a, unnest(a.event_actors) AS x(e)",
}


def connect(output: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection over an output (a local path, ``s3://`` or ``gs://``) with views:

    - ``articles``: one row per stored article, partition columns included;
    - ``errors``: one row per error row;
    - ``stories``: one row per story and run;
    - ``stances``: one row per (article, claim): claim, label, score, evidence;
    - ``events``: one row per (article, event type found), with its actors and evidence.

    Only committed runs are visible (``newsbeam.dataset``): a run in progress or one that
    died is not. The connection is in memory; the data stays where it is.
    """
    import duckdb

    from newsbeam.dataset import open_dataset
    from newsbeam.layout import ARTICLES, ERRORS, STORIES
    from newsbeam.records import ARTICLE_SCHEMA, ERROR_SCHEMA
    from newsbeam.stories import STORY_SCHEMA

    output = os.fspath(output)
    con = duckdb.connect()
    for kind, schema in ((ARTICLES, ARTICLE_SCHEMA), (ERRORS, ERROR_SCHEMA), (STORIES, STORY_SCHEMA)):
        dataset = open_dataset(output, kind)
        con.register(f"newsbeam_{kind}", dataset if dataset is not None else schema.empty_table())
        con.execute(f"CREATE VIEW {kind} AS SELECT * FROM newsbeam_{kind}")
    for name, sql in _VIEWS.items():
        con.execute(f"CREATE VIEW {name} AS {sql}")
    return con
