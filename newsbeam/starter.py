"""``newsbeam init DIR``: a starter project to edit, a config with real public news feeds,
a claims file and an actors file, commented key by key."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG = "newsbeam.yaml"

STARTER_CONFIG = """\
# newsbeam starter config, written by `newsbeam init`. Run it with
#   newsbeam run --config {config}
# Every key is documented in docs/config.md. Input, claim and actor paths are relative to
# this file; the output path to the directory newsbeam runs in.

# RSS or Atom feeds: URLs, or feed files on disk. Each run stores the entries that are new
# since the last run (conditional GET, deduplication across runs).
feeds:
  - url: https://feeds.bbci.co.uk/news/world/rss.xml
    source: BBC News
  - url: https://www.aljazeera.com/xml/rss/all.xml
    source: Al Jazeera
  - url: https://news.un.org/feed/subscribe/en/news/all/rss.xml
    source: UN News
  - url: https://www.theguardian.com/world/rss
    source: The Guardian
  - url: https://feeds.npr.org/1004/rss.xml
    source: NPR World

# Local files as well (HTML pages, plain text, JSON Lines, feed files; globs are fine):
# inputs:
#   - articles/*.jsonl

output:
  path: {output}         # Hive-partitioned Parquet: articles/published_date=.../
  partition_by: [published_date]

tagging:
  model: fast            # the one tier (numpy; round 3's accurate tier was retired)
  taxonomy: taxonomy/plover.yaml   # the packaged PLOVER event types
  tone_lexicon: taxonomy/tone.yaml
  claims: claims.yaml    # the claims each article's stance is measured against
  # The packaged world-wide gazetteer, then your own actors.
  actors: [taxonomy/actors.yaml, actors.yaml]

fetch:
  respect_robots: true
  per_host_concurrency: 2
  # min_host_delay: 1.0   # seconds between requests to one host

stories:
  enabled: true          # group articles telling the same story, across outlets and runs
"""

STARTER_CLAIMS = """\
# Claims for the stance tag: a sentence an article can agree with, disagree with, discuss
# or be unrelated to (FNC-1 labels). Write the claims your question is about; keep each
# to one plain statement. Each needs an id that stays the same (it is a column value).
- id: ceasefire_holds
  text: The ceasefire is holding.
- id: talks_progress
  text: Peace talks between the government and the insurgents are making progress.
- id: troops_withdraw
  text: Foreign troops will withdraw from the country.
"""

STARTER_ACTORS = """\
# Your own actors, added to the packaged world-wide gazetteer (taxonomy/actors.yaml):
# groups, people and organisations the feeds you follow name. Codes are ISO 3166 alpha-3
# countries (or IGO); sectors are CAMEO-style (GOV, MIL, REB, COP, ...).
# The entries below are the fictional ones of newsbeam's bundled sample: replace them.
countries:
  XVL: {names: [Republic of Veloria, Veloria], demonyms: [Velorian, Velorians], places: [Kestrel Ford, Marrow Valley]}
organisations:
  - {names: [Lakes Council], code: IGO}
groups:
  - {names: [Northern Front], code: XVL, sector: REB}
people:
  - {names: [Aldo Renn], code: XVL, sector: REB}
"""

FILES = {CONFIG: STARTER_CONFIG, "claims.yaml": STARTER_CLAIMS, "actors.yaml": STARTER_ACTORS}


class StarterExists(Exception):
    """A starter file is already there (and overwriting was not asked for)."""


def write_starter(directory: str | Path, force: bool = False) -> list[Path]:
    """Write the starter config, claims and actors into ``directory``; the paths written.

    Never outside ``directory``: a symlink in the place of a starter file is refused (it
    could point anywhere), and so is a filesystem root, the home directory or a system
    directory (the rule ``--output`` follows). All or nothing: every file is written
    beside its place first and renamed over it only when all three are written.
    """
    from newsbeam.pipelines.config import unsafe_output

    root = Path(directory)
    problem = unsafe_output(str(root)) if str(root).strip() else "an empty path names no directory"
    if problem:
        raise StarterRefused(f"refusing to write the starter files there: {problem}; give a directory of its own")
    targets = [root / name for name in FILES]
    for path in targets:
        if path.is_symlink():
            raise StarterRefused(f"{path} is a symbolic link: newsbeam init never writes through one")
        if path.exists() and not path.is_file():
            raise StarterRefused(f"{path} exists and is not a file")
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise StarterExists(f"{existing[0]} exists (--force to overwrite)")
    root.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for path in targets:
            text = FILES[path.name].replace("{config}", str(root / CONFIG)).replace("{output}", str(root / "out"))
            tmp = path.with_name(f".{path.name}.newsbeam-init-{os.getpid()}")
            # O_EXCL and O_NOFOLLOW: a link or file planted at the temporary name is not written through.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            staged.append((tmp, path))
        for tmp, path in staged:
            os.replace(tmp, path)  # replaces a symlink itself, never its target
    finally:
        for tmp, _path in staged:
            if tmp.exists():
                tmp.unlink()
    return targets


class StarterRefused(StarterExists):
    """The directory (or a file's place in it) is one newsbeam init will not write to."""
