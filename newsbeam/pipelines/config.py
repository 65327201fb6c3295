"""Run configuration: YAML files validated at start-up.

A bad config stops the launch with one line naming the file and the key (an unknown or
mistyped key, a wrong type, a file that is not there); it never fails later on a worker.
Paths inside a config (inputs, feeds on disk, taxonomy and claim files) are relative to
the config file; the output path is relative to the current directory.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import newsbeam
from newsbeam.http import FetchPolicy
from newsbeam.layout import default_state
from newsbeam.records import PARTITION_COLUMNS
from newsbeam.settings import (
    MAX_ARTICLE_CHARS,
    MAX_FILE_BYTES,
    MAX_ROWS_PER_FILE,
    MIN_WORDS,
    MODEL_DEFAULT,
    ExtractSettings,
    OutputSettings,
    TagSettings,
)
from newsbeam.stories import DEFAULT_THRESHOLD as DEFAULT_STORY_THRESHOLD

LOGGER = logging.getLogger(__name__)


class ConfigError(Exception):
    """A configuration problem, reported as one line naming the file and key."""


class _Strict(BaseModel):
    # strict: `enabled: "yes"`, `max_rows_per_file: true` or `allow_private_network: "on"`
    # are type errors, not silently coerced (YAML already gives booleans and numbers).
    # allow_inf_nan: `window_days: .inf` or `total_timeout: .nan` pass a `gt=0` check and
    # break the run later; every number must be finite.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class InputSpec(_Strict):
    path: str
    source: str | None = None


class FeedSpec(_Strict):
    url: str
    source: str | None = None


class ClaimSpec(_Strict):
    id: str
    text: str


class OutputConfig(_Strict):
    path: str = "out/newsbeam"
    partition_by: list[str] = Field(default_factory=lambda: ["published_date"])
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    # Rows per Parquet file before a writer starts a new one: bounds worker memory.
    max_rows_per_file: int = Field(default=MAX_ROWS_PER_FILE, ge=1)

    @field_validator("partition_by")
    @classmethod
    def _known_partitions(cls, value: list[str]) -> list[str]:
        for col in value:
            if col not in PARTITION_COLUMNS:
                raise ValueError(f"unknown partition column {col!r}; choose from {PARTITION_COLUMNS}")
        if len(set(value)) != len(value):
            raise ValueError("partition columns repeat")
        return value


class ReadConfig(_Strict):
    # Larger inputs are error rows, not memory spikes: a news page is well under 5 MB.
    max_file_bytes: int = Field(default=MAX_FILE_BYTES, ge=1024)
    # Extracted articles shorter than this are error rows (link posts, stubs, paywalls).
    min_words: int = Field(default=MIN_WORDS, ge=1)
    # Links out of an input directory or glob's tree are error rows unless this is on.
    follow_links: bool = False
    # An article's text is cut at this many characters (a book-length "article" is a dump,
    # and a 100 MB JSON line would otherwise take gigabytes); a JSON line longer than four
    # times this in bytes is an error row before it is parsed.
    max_article_chars: int = Field(default=MAX_ARTICLE_CHARS, ge=1000)


class FetchConfig(_Strict):
    # Off: entries without full text become error rows instead of requests (offline runs).
    enabled: bool = True
    user_agent: str = FetchPolicy.user_agent

    @field_validator("user_agent")
    @classmethod
    def _one_header_line(cls, value: str) -> str:
        # A CR or LF would split the header (the first request would fail, or worse).
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise ValueError("must be one line of printable characters (no CR, LF or control characters)")
        if not value.strip():
            raise ValueError("must not be empty")
        return value
    # The defaults are FetchPolicy's (newsbeam.http), declared once there.
    allow_private_network: bool = FetchPolicy.allow_private_network
    # Link-local addresses and cloud metadata services (169.254.0.0/16, fe80::/10,
    # fd00:ec2::254) stay refused under allow_private_network; only this lifts that.
    allow_link_local_network: bool = FetchPolicy.allow_link_local_network
    respect_robots: bool = FetchPolicy.respect_robots
    connect_timeout: float = Field(default=FetchPolicy.connect_timeout, gt=0)
    total_timeout: float = Field(default=FetchPolicy.total_timeout, gt=0)
    max_bytes: int = Field(default=FetchPolicy.max_bytes, ge=1024)
    max_redirects: int = Field(default=FetchPolicy.max_redirects, ge=0)
    retries: int = Field(default=FetchPolicy.retries, ge=0)
    backoff: float = Field(default=FetchPolicy.backoff, ge=0)
    max_retry_after: float = Field(default=FetchPolicy.max_retry_after, ge=0)
    concurrency: int = Field(default=FetchPolicy.concurrency, ge=1)
    per_host_concurrency: int = Field(default=FetchPolicy.per_host_concurrency, ge=1)
    min_host_delay: float = Field(default=FetchPolicy.min_host_delay, ge=0)

    def policy(self) -> FetchPolicy:
        """The fetcher's settings (the same names, less ``enabled``)."""
        names = {f.name for f in dataclasses.fields(FetchPolicy)}
        return FetchPolicy(**{k: v for k, v in self.model_dump().items() if k in names})




class TaggingConfig(_Strict):
    taxonomy: str = "taxonomy/plover.yaml"
    tone_lexicon: str = "taxonomy/tone.yaml"
    claims: list[ClaimSpec] | str = Field(default_factory=list)
    # The one tagging tier (n-grams and cues, numpy only). Round 3's "accurate" encoder
    # tier lost to it on sources it never saw and was retired (docs/tags.md).
    model: Literal["fast"] = MODEL_DEFAULT

    @field_validator("model", mode="before")
    @classmethod
    def _retired_tier(cls, value):
        if value == "accurate":
            raise ValueError("the accurate tier was retired in round 4 (it lost to the default on sources it never "
                             "saw, docs/tags.md): remove the key or write fast")
        return value
    # The actor gazetteer (source and target of each event): a file, or a list of files
    # merged in order (the world-wide default, then your topic's); null: no actors.
    actors: str | list[str] | None = "taxonomy/actors.yaml"


class StoriesConfig(_Strict):
    # Which articles tell the same story (newsbeam.stories); off: story_id stays null.
    enabled: bool = True
    # A story stays open this long (publication time, else fetch time) after its latest article.
    window_days: float = Field(default=7.0, gt=0, le=3650)
    # Similarity (cosine of the content-word sets, each word weighted by its rarity in news)
    # at or above which two articles are linked.
    threshold: float = Field(default=DEFAULT_STORY_THRESHOLD, gt=0, le=1)

    def settings(self) -> dict | None:
        return {"threshold": self.threshold, "window_days": self.window_days} if self.enabled else None


class Config(_Strict):
    inputs: list[InputSpec | str] = Field(default_factory=list)
    feeds: list[FeedSpec | str] = Field(default_factory=list)
    output: OutputConfig = Field(default_factory=OutputConfig)
    state: str | None = None
    read: ReadConfig = Field(default_factory=ReadConfig)
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    tagging: TaggingConfig = Field(default_factory=TaggingConfig)
    stories: StoriesConfig = Field(default_factory=StoriesConfig)


class ResolvedConfig(BaseModel):
    """A validated config with every path resolved and every referenced file loaded."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    source_file: str
    inputs: list[InputSpec]
    feeds: list[FeedSpec]
    output: OutputConfig
    state: str | None
    read: ReadConfig
    fetch: FetchConfig
    taxonomy: dict[str, Any]
    tone_lexicon: dict[str, Any]
    claims: list[ClaimSpec]
    tagging_model: str = MODEL_DEFAULT
    actors: dict[str, Any] | None = None
    stories: StoriesConfig = Field(default_factory=StoriesConfig)

    def extract_settings(self) -> ExtractSettings:
        return ExtractSettings(self.read.min_words, self.read.max_article_chars)

    def tag_settings(self) -> TagSettings:
        return TagSettings(self.taxonomy, self.tone_lexicon, tuple((c.id, c.text) for c in self.claims),
                           self.tagging_model, self.actors)

    def output_settings(self) -> OutputSettings:
        """Where and how runs write, the output and state paths made absolute."""
        from newsbeam import storage

        return OutputSettings(storage.absolute(self.output_path), storage.absolute(self.state_path),
                              tuple(self.output.partition_by),
                              self.output.compression, self.output.max_rows_per_file, self.stories.settings())

    @property
    def output_path(self) -> str:
        return self.output.path

    @property
    def state_path(self) -> str:
        return self.state or default_state(self.output.path)


def packaged_config_dir() -> Path:
    """The configs shipped with newsbeam.

    An installed package has them at ``newsbeam/configs`` (setup.py maps the repo's
    ``configs/`` there); a source checkout or editable install has the repo's ``configs/``.
    """
    package_dir = Path(newsbeam.__file__).resolve().parent
    installed = package_dir / "configs"
    return installed if installed.is_dir() else package_dir.parent / "configs"


def default_config_path() -> str:
    """The config used when none is given: no inputs, the packaged taxonomy and claims."""
    return str(packaged_config_dir() / "default.yaml")


_UNION_BRANCHES = {"str", "InputSpec", "FeedSpec", "list[ClaimSpec]"}


def _fmt_loc(loc: tuple) -> str:
    # pydantic puts the union branch it tried in the location ("str", "InputSpec"): drop it
    return ".".join(str(p) for p in loc if p not in _UNION_BRANCHES) or "(top level)"


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping key given twice (by default the last one
    wins silently: a config with two ``output:`` blocks would write where nobody looked)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
        return super().construct_mapping(node, deep)


def _safe_load(stream) -> Any:
    return yaml.load(stream, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def _load_yaml(path: str, what: str) -> Any:
    try:
        if "://" in path:  # gs://, s3://: a Dataflow template's config lives there
            from newsbeam import storage

            if not storage.exists(path):
                raise FileNotFoundError(path)
            return _safe_load(storage.read_bytes(path).decode("utf-8"))
        if os.path.isdir(path):
            raise ConfigError(f"{what}: {path} is a directory, not a YAML file")
        with open(path, encoding="utf-8") as fh:
            return _safe_load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{what}: file not found: {path}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what}: {path} is not a UTF-8 text file") from None
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{what}: invalid YAML in {path}{where}: {getattr(exc, 'problem', exc)}") from None


def _resolve_local(base_dir: str, value: str) -> str:
    if "://" in value or os.path.isabs(value):
        return value
    if "://" in base_dir:
        return f"{base_dir.rstrip('/')}/{value}"
    return os.path.normpath(os.path.join(base_dir, value))


def load_config(path: str | None, overrides: dict[str, Any] | None = None) -> ResolvedConfig:
    """Load, validate and resolve a config; ``overrides`` are CLI flags (None = unset).

    Raises ``ConfigError`` with a one-line message.
    """
    overrides = overrides or {}
    cfg_path = path or default_config_path()
    if "://" not in cfg_path and not os.path.exists(cfg_path) and (packaged_config_dir() / cfg_path).is_file():
        # `--config sample.yaml` finds the configs installed with the package.
        cfg_path = str(packaged_config_dir() / cfg_path)
    raw = _load_yaml(cfg_path, "config") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config {cfg_path}: top level must be a mapping of keys")
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _fmt_loc(err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise ConfigError(f"config {cfg_path}: {loc}: {msg}") from None

    base_dir = cfg_path.rsplit("/", 1)[0] if "://" in cfg_path else os.path.dirname(os.path.abspath(cfg_path))
    inputs, feeds = _sources(cfg, base_dir, overrides)
    output = cfg.output
    for key in ("output", "state"):
        if overrides.get(key) is not None and not str(overrides[key]).strip():
            raise ConfigError(f"--{key}: an empty path names no directory")
    if overrides.get("output"):
        output = output.model_copy(update={"path": overrides["output"]})
    _check_output_places(output.path, overrides.get("state") or cfg.state, cfg_path)
    fetch = cfg.fetch
    if overrides.get("allow_private_network"):
        fetch = fetch.model_copy(update={"allow_private_network": True})
    return ResolvedConfig(
        source_file=cfg_path,
        inputs=inputs,
        feeds=feeds,
        output=output,
        state=overrides.get("state") or cfg.state,
        read=cfg.read,
        fetch=fetch,
        **_tagging_files(cfg.tagging, base_dir, cfg_path),
        tagging_model=cfg.tagging.model,
        stories=cfg.stories,
    )


def _sources(cfg: Config, base_dir: str, overrides: dict[str, Any]) -> tuple[list[InputSpec], list[FeedSpec]]:
    """The inputs and feeds, paths resolved; ``--input`` or ``--feed`` on the command line
    replace both lists of the config."""
    inputs = [InputSpec(path=i) if isinstance(i, str) else i for i in cfg.inputs]
    inputs = [InputSpec(path=_resolve_local(base_dir, i.path), source=i.source) for i in inputs]
    feeds = [FeedSpec(url=f) if isinstance(f, str) else f for f in cfg.feeds]
    feeds = [FeedSpec(url=_resolve_local(base_dir, f.url), source=f.source) for f in feeds]
    if overrides.get("inputs"):
        inputs = [InputSpec(path=os.path.abspath(g)) for g in overrides["inputs"]]
        if not overrides.get("feeds"):
            feeds = []
    if overrides.get("feeds"):
        feeds = [FeedSpec(url=_abs_if_local(f)) for f in overrides["feeds"]]
        if not overrides.get("inputs"):
            inputs = []
    return inputs, feeds


def _tagging_files(tagging: TaggingConfig, base_dir: str, cfg_path: str) -> dict[str, Any]:
    """The taxonomy, tone lexicon, claims and actors the tagging section names, loaded and checked."""
    taxonomy = _load_yaml(_resolve_packaged(base_dir, tagging.taxonomy), "tagging.taxonomy")
    tone = _load_yaml(_resolve_packaged(base_dir, tagging.tone_lexicon), "tagging.tone_lexicon")
    claims = tagging.claims
    if isinstance(claims, str):
        claims_file = _resolve_packaged(base_dir, claims)
        loaded = _load_yaml(claims_file, "tagging.claims")
        try:
            claims = [ClaimSpec.model_validate(c) for c in (loaded or [])]
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(f"config {claims_file}: {_fmt_loc(err['loc'])}: {err['msg']}") from None
    _check_taxonomy(taxonomy, cfg_path)
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"config {cfg_path}: tagging.claims: claim ids repeat")
    actors = _actors(tagging.actors, base_dir, cfg_path) if tagging.actors else None
    return {"taxonomy": taxonomy, "tone_lexicon": tone, "claims": list(claims), "actors": actors}


def _actors(names: str | list[str], base_dir: str, cfg_path: str) -> dict:
    """The actor gazetteer: one file, or several merged (each checked on its own first)."""
    from newsbeam.tagging.actors import Gazetteer, GazetteerError, merge_gazetteers

    files = [names] if isinstance(names, str) else names
    parts = []
    for name in files:
        actors_file = _resolve_packaged(base_dir, name)
        parts.append(part := _load_yaml(actors_file, "tagging.actors"))
        try:
            Gazetteer(part)
        except GazetteerError as exc:
            raise ConfigError(f"config {actors_file}: tagging.actors: {exc}") from None
    try:
        actors = merge_gazetteers(parts)
        Gazetteer(actors)
    except GazetteerError as exc:
        raise ConfigError(f"config {cfg_path}: tagging.actors: {exc}") from None
    return actors


# Directories a dataset, its state and its lock must never be written into: a shell slip
# (``--output "$DIR/"`` with DIR unset) would scatter ``articles/``, ``_state/`` and the
# lock file over them. Only the directories themselves: a folder below them is fine.
SYSTEM_DIRECTORIES = frozenset({
    "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media", "/mnt", "/opt", "/proc",
    "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/lib", "/usr/local", "/usr/share",
    "/var", "/var/lib", "/var/log", "/var/tmp", "/Applications", "/Library", "/System", "/Users", "/Volumes",
})


def unsafe_output(path: str) -> str | None:
    """Why a local output (or state) directory is one newsbeam refuses, or None.

    Refused: a filesystem root, the home directory and the system directories above,
    however they are spelled (``/``, ``//``, ``/usr/..``, a symlink to one of them).
    """
    if "://" in path or not path.strip():
        return None
    real = os.path.realpath(os.path.expanduser(path))
    if os.path.dirname(real) == real:
        return f"{path} is the filesystem root"
    if real == os.path.realpath(os.path.expanduser("~")):
        return f"{path} is the home directory"
    if real in SYSTEM_DIRECTORIES:
        return f"{path} is a system directory"
    return None


def _check_output_places(output: str, state: str | None, cfg_path: str) -> None:
    """Refuse an output or state directory that is empty, a filesystem root, home or system directory."""
    for key, value in (("output.path", output), ("state", state)):
        if value is not None and not value.strip():
            raise ConfigError(f"config {cfg_path}: {key}: an empty path names no directory")
        problem = unsafe_output(value) if value else None
        if problem:
            raise ConfigError(f"config {cfg_path}: {key}: refusing to write the dataset there: {problem};"
                              " give a directory of its own")


def _abs_if_local(value: str) -> str:
    return value if "://" in value else os.path.abspath(value)


def _resolve_packaged(base_dir: str, value: str) -> str:
    """A path relative to the config, else one shipped with the package."""
    local = _resolve_local(base_dir, value)
    if os.path.exists(local) or "://" in value:
        return local
    packaged = packaged_config_dir() / value
    return str(packaged) if packaged.exists() else local


def _check_taxonomy(taxonomy: Any, cfg_path: str) -> None:
    if not isinstance(taxonomy, dict) or not isinstance(taxonomy.get("types"), dict):
        raise ConfigError(f"config {cfg_path}: tagging.taxonomy: must map 'types' to patterns")
    non_event = taxonomy.get("non_event")
    if non_event is not None and not (isinstance(non_event, dict) and isinstance(non_event.get("patterns"), list)):
        raise ConfigError(f"config {cfg_path}: tagging.taxonomy: 'non_event' must have a list of 'patterns'")
