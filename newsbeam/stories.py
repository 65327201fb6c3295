"""Stories: which articles tell the same story, within a run and across runs.

Every kept article gets a ``story_id``. Articles share one when their texts are similar
enough (the cosine of their content-word sets, each word weighted by how rare it is in
news, see ``cosine``: sharing "Karzai", "Doha" and "Mujahid" says more than sharing
"government" and "talks") and their
times (publication, else fetch) lie within the story window of each other; a story is
the connected group of such links (single linkage), so a rewrite joins through any member
it resembles, not only the first.

How it runs:

1. Each article's *signature* is computed where its row is written (``WriteShards``, in
   parallel): a MinHash of the set of content words of its first ``SHINGLE_WORDS`` words
   plus the hashes of those words (about 1 KB), sent straight to the commit step beside
   the row's ``RowKey`` (not through deduplication's shuffles, where the runner would keep
   several copies).
2. *Candidates* come from LSH banding (``local_pairs``): a signature's ``BANDS`` bands of
   ``ROWS`` values are keys, and articles that agree on a whole band are grouped by
   sorting each band's keys. The members of the open stories of earlier runs (a side
   input read from the state) join the same groups, so no article is compared with all
   others and the cost grows with the new articles and the open window, not with the
   history. The grouping runs in the commit step, which already sees every RowKey: a
   Beam ``GroupByKey`` on the 64 band keys of each article was tried and measured (the
   DirectRunner holds a shuffle in memory: +160 MB of peak RSS on 3,000 pages, and more
   per page the longer the input), while sorting 64 uint64 columns costs a few MB.
3. *Assignment* (``assign_stories``), in the same step: candidate pairs are verified on
   the exact word sets (weighted cosine >= threshold, times within the window), then merged
   strongest link first. A group that reaches an open story takes its id; a link that
   would merge two stories that already have ids is skipped, so an id already written
   never changes. A new story's id is a hash of its smallest member article id, so a
   rerun of a run that died before its commit gives the same ids.
4. The commit stamps ``story_id`` into the run's article files, writes one ``stories/``
   row per story the run touched, and saves the new open-story state
   (``<state>/stories/<run id>.parquet``: up to ``MEMBERS_KEPT`` recent members per story,
   members older than the window before the newest time seen dropped) in the same
   journaled commit as the data.

MinHash comes from ``rensa`` (Rust, about 25 times faster than datasketch here and without
its SciPy dependency). Its hash is deterministic across processes; the version is pinned
because stored signatures must stay comparable, and the state records the scheme so that
a different one is ignored (stories restart) rather than compared. The word weights
(inverse document frequencies, ``training/train_stories.py``) ship in the package as a
table of word hashes; they are applied when pairs are compared, so a new table changes
which future links are made but never a story id already written.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import itertools
import logging
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rensa import RMinHash

from newsbeam import storage
from newsbeam.layout import STORIES
from newsbeam.records import utcnow
from newsbeam.text import stable_id

LOGGER = logging.getLogger(__name__)

NUM_PERM = 128
BANDS, ROWS = 64, 2  # a pair at Jaccard 0.14 becomes a candidate with p = 0.72, at 0.2 with 0.93, at 0.3 with 0.9997
SEED = 1
SCHEME = f"rensa-0.5.0/minhash{NUM_PERM}/seed{SEED}/crc32-words"
SHINGLE_WORDS = 300
MIN_TOKENS = 8  # fewer distinct content words: no signature, the article is a story alone
MEMBERS_KEPT = 16
# A band bucket larger than this (a big story's copies, or common vocabulary) pairs each
# member with its first HUBS members only, so no bucket costs more than linear work.
MAX_GROUP = 100
HUBS = 20
# How many documents the shipped word weights count as, beside those being compared.
PRIOR_DOCUMENTS = 1000
DEFAULT_THRESHOLD = 0.17  # cosine; best ARI on FNC-1's tuning stories where its neighbours are good too (a cliff below 0.16; training/evaluate_stories.py --sweep)
DEFAULT_WINDOW_DAYS = 7.0

_WORD = re.compile(r"\w+", re.UNICODE)
# Function words of English; other languages rely on the length filter (words of 4+ letters).
_STOP = frozenset(
    """about above after again against all also and any are because been before being below between both but
    can could did does doing down during each few for from further had has have having her here hers herself
    him himself his how into its itself just more most not now off once only other our ours ourselves out over
    own same she should some such than that the their theirs them themselves then there these they this those
    through too under until very was were what when where which while who whom why will with would you your
    yours yourself yourselves said says say told according one two new also year years time like get got
    """.split()
)


def content_words(text: str) -> set[str]:
    words = _WORD.findall(text[: SHINGLE_WORDS * 12].lower())[:SHINGLE_WORDS]
    return {w for w in words if len(w) > 3 and w not in _STOP}


def signature(text: str) -> bytes | None:
    """The article's signature, or None if it has too few content words: its MinHash
    (``NUM_PERM`` uint32, for the LSH bands) followed by the sorted CRC-32s of its content
    words (for the exact weighted similarity of a candidate pair: the MinHash estimate of
    the plain Jaccard similarity, noisy by about 0.035 at 128 permutations, only finds
    the candidates)."""
    words = sorted(content_words(text))
    if len(words) < MIN_TOKENS:
        return None
    m = RMinHash(num_perm=NUM_PERM, seed=SEED)
    m.update(words)
    hashes = np.unique(np.fromiter((zlib.crc32(w.encode()) for w in words), np.uint32, len(words)))
    return np.asarray(m.digest(), dtype=np.uint32).tobytes() + hashes.tobytes()


_MINHASH_BYTES = NUM_PERM * 4
WEIGHTS = Path(__file__).resolve().parent / "tagging" / "models" / "story_weights.npz"


@functools.lru_cache(maxsize=1)
def weight_table() -> tuple[np.ndarray, np.ndarray, float]:
    """(sorted word hashes, weights, an unseen word's weight): ``training/train_stories.py``.
    Read once per process; the launcher's start-up check reads it first."""
    with np.load(WEIGHTS, allow_pickle=False) as table:
        return table["hashes"], table["weights"].astype(np.float64), float(table["unseen"])


@dataclass(frozen=True)
class WordVector:
    """A signature's content-word hashes (sorted) and their squared weights, for ``cosine``."""

    words: np.ndarray
    weights: np.ndarray  # squared inverse document frequencies
    norm: float


def _words(sig: bytes) -> np.ndarray:
    return np.frombuffer(sig, np.uint32, offset=_MINHASH_BYTES)


class WordWeights:
    """Each content word's weight, log(1 / p) for the share p of documents that contain it.

    p starts from the shipped table (news and event notes, ``training/train_stories.py``),
    counted as ``PRIOR_DOCUMENTS`` documents, and is updated with the documents being
    compared (a run's new articles and the open stories' members): the names of a topic
    the table has never seen ("Veloria") would otherwise weigh as the rarest words there
    are, even when every article of the run carries them. The same documents give the
    same weights, so a rerun links the same pairs.
    """

    def __init__(self, signatures=()):
        table, values, unseen = weight_table()
        self._table, self._prior, self._unseen_prior = table, np.exp(-values), float(np.exp(-unseen))
        docs = [_words(sig) for sig in signatures if sig]
        self._n = len(docs)
        self._seen, self._df = (np.unique(np.concatenate(docs), return_counts=True) if docs
                                else (np.zeros(0, np.uint32), np.zeros(0, np.int64)))

    def vector(self, sig: bytes) -> WordVector:
        words = _words(sig)
        pos = np.minimum(np.searchsorted(self._table, words), len(self._table) - 1)
        prior = np.where(self._table[pos] == words, self._prior[pos], self._unseen_prior)
        df = np.zeros(len(words))
        if self._seen.size:
            at = np.minimum(np.searchsorted(self._seen, words), len(self._seen) - 1)
            df = np.where(self._seen[at] == words, self._df[at], 0)
        share = (PRIOR_DOCUMENTS * prior + df) / (PRIOR_DOCUMENTS + self._n)
        weights = np.log(1.0 / share) ** 2
        return WordVector(words, weights, float(np.sqrt(weights.sum())))


def cosine(a: WordVector, b: WordVector) -> float:
    """Cosine similarity of two articles' content-word sets, each word weighted by its rarity."""
    _common, ia, _ib = np.intersect1d(a.words, b.words, assume_unique=True, return_indices=True)
    return min(1.0, float(a.weights[ia].sum() / (a.norm * b.norm))) if ia.size else 0.0


def similarity(a: bytes, b: bytes) -> float:
    """How alike two signatures' articles are (``cosine`` of their weighted word sets, the
    weights updated with these two documents)."""
    weights = WordWeights([a, b])
    return cosine(weights.vector(a), weights.vector(b))


def candidate_pairs(refs: list[str]) -> list[tuple[str, str]]:
    """Pairs within one band bucket that involve a new article (``n:`` refs; ``o:`` are open)."""
    refs = sorted(set(refs))
    if len(refs) < 2 or not any(r.startswith("n:") for r in refs):
        return []
    if len(refs) > MAX_GROUP:
        hubs = refs[:HUBS]
        pairs = {(min(h, r), max(h, r)) for h in hubs for r in refs if r != h}
    else:
        pairs = set(itertools.combinations(refs, 2))
    return sorted((a, b) for a, b in pairs if a.startswith("n:") or b.startswith("n:"))


@dataclass(frozen=True)
class StorySig:
    """What the story step needs of an article: its time, signature, headline and source."""

    time: dt.datetime
    signature: bytes | None
    title: str | None
    source: str | None


def story_sig(article) -> StorySig:
    return StorySig(article.published_at or article.fetched_at, signature(article.text), article.title, article.source)


@dataclass(frozen=True)
class OpenMember:
    """A recent member of an open story, as the state keeps it."""

    story_id: str
    article_id: str
    time: dt.datetime
    signature: bytes
    first_seen: dt.datetime
    first_headline: str | None


STATE_SCHEMA = pa.schema(
    [
        pa.field("story_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("time", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("signature", pa.binary(), nullable=False),
        pa.field("first_seen", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("first_headline", pa.string()),
    ],
    metadata={"newsbeam.stories.scheme": SCHEME},
)

STORY_SCHEMA = pa.schema(
    [
        pa.field("story_id", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("first_seen", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("last_seen", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("first_headline", pa.string()),
        pa.field("article_count", pa.int32(), nullable=False),  # articles of this run
        pa.field("sources", pa.list_(pa.string())),
    ],
    metadata={"newsbeam.schema": "stories/1"},
)


def state_files(state_path: str) -> list[str]:
    return sorted(storage.list_files(storage.join(state_path, STORIES, "*.parquet")))


def load_open(state_path: str) -> list[OpenMember]:
    """The members of the open stories: the newest state snapshot (run ids sort by time)."""
    files = state_files(state_path)
    if not files:
        return []
    with storage.open_read(files[-1]) as fh:
        table = pq.read_table(fh)
    scheme = (table.schema.metadata or {}).get(b"newsbeam.stories.scheme", b"").decode()
    if scheme != SCHEME:
        LOGGER.warning("story state %s uses another signature scheme (%s): stories start afresh", files[-1], scheme)
        return []
    return members_of(table)


def members_of(state: pa.Table) -> list[OpenMember]:
    """The open-story members of a state table (``STATE_SCHEMA``)."""
    cols = [state.column(n).to_pylist() for n in STATE_SCHEMA.names]
    return [OpenMember(*row) for row in zip(*cols, strict=True)]


@dataclass
class StoryResult:
    """What the commit writes: each new article's story, the ``stories/`` rows, the new state."""

    assignment: dict[str, str]
    rows: pa.Table
    state: pa.Table
    replaced_state: list[str]


def _parent_find(parent: dict, x):
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        parent[x], x = root, parent[x]
    return root


def local_pairs(new: dict[str, StorySig], open_members: list[OpenMember]) -> list[tuple[str, str]]:
    """Candidate pairs: articles (``n:<id>``) and open-story members (``o:<id>``) that agree on
    a whole LSH band, found by sorting each band's keys (no pair is compared otherwise)."""
    refs = [f"n:{a}" for a, s in new.items() if s.signature] + [f"o:{m.article_id}" for m in open_members]
    sigs = [s.signature for s in new.values() if s.signature] + [m.signature for m in open_members]
    if len(refs) < 2:
        return []
    minhash = np.stack([np.frombuffer(sig, np.uint32, count=NUM_PERM) for sig in sigs]).astype(np.uint64)
    bands = minhash[:, : BANDS * ROWS].reshape(len(refs), BANDS, ROWS)
    keys = bands[:, :, 0] << np.uint64(32) | bands[:, :, 1]  # ROWS == 2: one uint64 per band
    pairs: set[tuple[str, str]] = set()
    for band in range(BANDS):
        order = np.argsort(keys[:, band], kind="stable")
        sorted_keys = keys[order, band]
        same = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])
        if not same.size:
            continue
        # runs of equal keys: each starts where the previous element differs
        starts = same[np.r_[True, np.diff(same) > 1]]
        for start in starts:
            stop = start + 1
            while stop < len(order) and sorted_keys[stop] == sorted_keys[start]:
                stop += 1
            pairs.update(candidate_pairs([refs[i] for i in order[start:stop]]))
    return sorted(pairs)


def assign_stories(
    run_id: str,
    new: dict[str, StorySig],
    open_members: list[OpenMember],
    pairs,
    replaced_state: list[str],
    threshold: float = DEFAULT_THRESHOLD,
    window_days: float = DEFAULT_WINDOW_DAYS,
) -> StoryResult:
    """Give every new article (article id -> StorySig) a story; see the module doc."""
    window = dt.timedelta(days=window_days)
    groups, story_of_root = _group(new, open_members, pairs, threshold, window)
    assignment: dict[str, str] = {}
    members_by_story: dict[str, list[OpenMember]] = collections.defaultdict(list)
    for m in open_members:
        members_by_story[m.story_id].append(m)
    rows = []
    for root, article_ids in groups.items():
        article_ids.sort(key=lambda a: (new[a].time, a))
        # A new story is named by its smallest article id (not its earliest, whose fetch
        # time differs between a run and its rerun): the same group always gets the same id.
        story_id = story_of_root.get(root) or "s" + stable_id("story", min(article_ids))[:20]
        old = list(members_by_story.get(story_id, []))  # the members from earlier runs
        first_seen = min([m.first_seen for m in old] + [new[a].time for a in article_ids])
        headline = old[0].first_headline if old else new[article_ids[0]].title
        for a in article_ids:
            assignment[a] = story_id
            s = new[a]
            if s.signature is not None:
                members_by_story[story_id].append(OpenMember(story_id, a, s.time, s.signature, first_seen, headline))
        members_by_story[story_id] = [
            dataclasses.replace(m, first_seen=first_seen, first_headline=headline) for m in members_by_story[story_id]
        ]
        times = [m.time for m in old] + [new[a].time for a in article_ids]
        rows.append({
            "story_id": story_id, "run_id": run_id, "first_seen": first_seen, "last_seen": max(times),
            "first_headline": headline, "article_count": len(article_ids),
            "sources": sorted({new[a].source for a in article_ids if new[a].source}),
        })
    rows.sort(key=lambda r: (r["first_seen"], r["story_id"]))
    table = pa.table({n: [r[n] for r in rows] for n in STORY_SCHEMA.names}, schema=STORY_SCHEMA)
    return StoryResult(assignment, table, _open_state(members_by_story, window), replaced_state)


def _group(new: dict[str, StorySig], open_members: list[OpenMember], pairs, threshold: float,
           window: dt.timedelta) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The new articles grouped by story (root ref -> article ids), and the open story each
    root continues: candidate pairs within the window and at or above the threshold join,
    the most similar first; two open stories never merge."""
    info = {f"n:{a}": (s.time, s.signature) for a, s in new.items()}
    info.update({f"o:{m.article_id}": (m.time, m.signature) for m in open_members})
    parent = {ref: ref for ref in info}
    story_of_root: dict[str, str] = {}
    first_ref: dict[str, str] = {}
    for m in sorted(open_members, key=lambda m: m.article_id):  # an open story starts as one group
        ref = f"o:{m.article_id}"
        root = first_ref.setdefault(m.story_id, ref)
        parent[ref] = root
        story_of_root[root] = m.story_id
    edges = []
    vectors: dict[str, WordVector] = {}
    weights = WordWeights(sig for _time, sig in info.values())

    def vector(ref: str, sig: bytes) -> WordVector:
        if ref not in vectors:
            vectors[ref] = weights.vector(sig)
        return vectors[ref]

    for a, b in pairs:
        if a not in info or b not in info:
            continue
        (ta, sa), (tb, sb) = info[a], info[b]
        if sa is None or sb is None or abs(ta - tb) > window:
            continue
        sim = cosine(vector(a, sa), vector(b, sb))
        if sim >= threshold:
            edges.append((-sim, a, b))
    for _neg, a, b in sorted(edges):
        ra, rb = _parent_find(parent, a), _parent_find(parent, b)
        if ra == rb or (ra in story_of_root and rb in story_of_root):
            continue
        if rb in story_of_root:
            ra, rb = rb, ra
        parent[rb] = ra
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for ref in info:
        if ref.startswith("n:"):
            groups[_parent_find(parent, ref)].append(ref[2:])
    return groups, story_of_root


def _open_state(members_by_story: dict[str, list[OpenMember]], window: dt.timedelta) -> pa.Table:
    """The new state: stories with a member inside the window before the newest time seen."""
    all_times = [m.time for ms in members_by_story.values() for m in ms]
    horizon = (min(max(all_times), utcnow()) - window) if all_times else None
    kept = []
    for _story, ms in sorted(members_by_story.items()):
        recent = sorted(ms, key=lambda m: (m.time, m.article_id))[-MEMBERS_KEPT:]
        kept += [m for m in recent if horizon is None or m.time >= horizon]
    return pa.table({n: [getattr(m, n) for m in kept] for n in STATE_SCHEMA.names}, schema=STATE_SCHEMA)


def run_stories(
    run_id: str,
    winners: list,
    state_path: str,
    settings: dict,
    signatures: dict[str, StorySig],
    open_members: list[OpenMember] | None = None,
) -> StoryResult | None:
    """The stories of a run's kept articles (RowKeys), or None when none has a StorySig.

    ``signatures``: article id -> StorySig of every row written (losers included). A
    batch run passes ``open_members`` from a side input; a streaming batch reads the state
    here.
    """
    new = {k.article_id: signatures[k.article_id] for k in winners if k.article_id in signatures}
    if not new:
        return None
    if open_members is None:
        open_members = load_open(state_path)
    open_members = list(open_members)
    return assign_stories(run_id, new, open_members, local_pairs(new, open_members), state_files(state_path), **settings)
