"""Who did what to whom: the source and target actors of an event sentence.

Two steps, both rules over the sentence's words (no parser; about 0.1 ms a sentence):

1. **Mentions.** A gazetteer from config (``configs/taxonomy/actors.yaml``: countries with
   their names, demonyms, capitals and places; international organisations; armed groups;
   office holders; sector words) is compiled into one table keyed by a name's words. A
   sentence is tokenised once and scanned once, left to right, taking the longest name
   that starts at each word (``Gazetteer.mentions``). Adjacent mentions join into one
   actor: "Afghan" + "security forces" is AFG/MIL, "Pakistan's army" PAK/MIL. A country
   or place after a locative preposition ("in Kunduz") is where the event happened, not
   who took part; it gives a country to an actor that has only a sector ("police").

2. **Roles.** The event's cue in the sentence (the taxonomy's pattern for the type) splits
   it. The source is the first group of actors in the cue's clause before it (conjoined
   actors count together: "the US and Afghanistan agreed"), the target the first group
   after it that has a country; in the passive ("X was attacked by Y") the roles swap;
   "talks between X and Y" makes both sources, "Qatar hosted talks between X and Y" makes
   them the target; reported speech drops the speaker unless the reported clause has no
   actor of its own ("Pakistan said it would ..."); a place after the cue stands in for
   a target the sentence does not name.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

SECTORS = ("GOV", "MIL", "COP", "REB", "OPP", "LEG", "JUD", "CVL", "MED", "NGO", "BUS", "REL", "IGO")

# A "sentence" longer than this is text without punctuation: only its start is read.
MAX_SENTENCE_CHARS = 1_000
SECTIONS = ("countries", "organisations", "groups", "people", "not_actors", "sectors")
COUNTRY_KEYS = ("names", "demonyms", "capitals", "places")

# Event types whose participants are symmetric: "between X and Y" names no target.
SYMMETRIC = frozenset({"CONSULT", "AGREE", "COOPERATE"})

_WORD = re.compile(r"(?:[A-Za-z]\.){2,}|[^\W_]+")
_LOCATIVE = frozenset({"in", "at", "near", "outside", "inside", "across", "throughout", "around", "into", "within"})
_BE = frozenset({"was", "were", "is", "are", "been", "being", "be", "got", "get"})
_SPEECH = frozenset({
    "said", "says", "say", "told", "tells", "announced", "announces", "stated", "added", "claimed",
    "reported", "reports", "according", "quoted", "insisted", "warned", "argued", "wrote",
})
_CONJ = frozenset({"and", "or", "as well as", "along with", "together with"})
# Words an actor's mentions may have between them (beside names and titles): a
# possessive, "of (the)", "for (the)": "Pakistan's army", "envoys for the government".
_JOINERS = frozenset({"s", "of", "the", "for"})
_CLAUSE_BREAK = re.compile(r"[,;:()\[\]\"“”]|\s[-–—]\s")


@dataclass(frozen=True)
class Entry:
    code: str | None
    sector: str | None
    kind: str  # name: an actor's name; place: a location; sector: a sector word; skip: no actor


@dataclass(frozen=True)
class Mention:
    start: int  # token span [start, end)
    end: int
    entry: Entry


@dataclass
class Actor:
    text: str
    code: str | None
    sector: str | None
    start: int
    end: int

    def as_dict(self) -> dict:
        return {"text": self.text, "code": self.code, "sector": self.sector}


class GazetteerError(ValueError):
    """The actor gazetteer in config is malformed."""


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) for each word; "U.S." is one word, "US"."""
    return [(m.group().replace(".", ""), m.start(), m.end()) for m in _WORD.finditer(text)]


def _case_rule(word: str) -> int:
    """0: any case; 1: needs an initial capital; 2: needs all capitals (an abbreviation)."""
    if len(word) >= 2 and word.isupper():
        return 2
    return 1 if word[:1].isupper() else 0


class Gazetteer:
    """Names to actors, matched by their words in one left-to-right pass over a sentence."""

    def __init__(self, config: dict | None):
        self._table: dict[tuple[str, ...], tuple[Entry, tuple[int, ...]]] = {}
        self._lengths: dict[str, tuple[int, ...]] = {}
        config = config or {}
        if not isinstance(config, dict):
            raise GazetteerError("the actor gazetteer must be a mapping")
        unknown = set(config) - set(SECTIONS)
        if unknown:
            raise GazetteerError(f"unknown section {sorted(unknown)[0]!r} (known: {', '.join(SECTIONS)})")
        for code, spec in (config.get("countries") or {}).items():
            if not isinstance(spec, dict) or set(spec) - set(COUNTRY_KEYS):
                raise GazetteerError(f"countries.{code}: must map {', '.join(COUNTRY_KEYS)} to lists")
            _check_code(code, f"countries.{code}")
            for key in ("names", "demonyms", "capitals"):
                self._add_all(spec.get(key), Entry(str(code), None, "name"), f"countries.{code}.{key}")
            self._add_all(spec.get("places"), Entry(str(code), None, "place"), f"countries.{code}.places")
        for section in ("organisations", "groups", "people"):
            for i, spec in enumerate(config.get(section) or []):
                where = f"{section}[{i}]"
                if not isinstance(spec, dict):
                    raise GazetteerError(f"{where}: must be a mapping with names, code and sector")
                sector = spec.get("sector")
                if sector is not None and sector not in SECTORS:
                    raise GazetteerError(f"{where}: sector {sector!r} is not one of {', '.join(SECTORS)}")
                code = spec.get("code")
                if code is not None:
                    _check_code(code, where)
                self._add_all(spec.get("names"), Entry(None if code is None else str(code), sector, "name"), where)
        self._add_all(config.get("not_actors"), Entry(None, None, "skip"), "not_actors")
        for sector, words in (config.get("sectors") or {}).items():
            if sector not in SECTORS:
                raise GazetteerError(f"sectors: {sector!r} is not one of {', '.join(SECTORS)}")
            self._add_all(words, Entry(None, sector, "sector"), f"sectors.{sector}", sector_words=True)
        lengths: dict[str, set[int]] = {}
        for key in self._table:
            lengths.setdefault(key[0], set()).add(len(key))
        self._lengths = {first: tuple(sorted(n, reverse=True)) for first, n in lengths.items()}

    def __len__(self) -> int:
        return len(self._table)

    def _add_all(self, names, entry: Entry, where: str, sector_words: bool = False) -> None:
        if names is None:
            return
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise GazetteerError(f"{where}: must be a list of names")
        for name in names:
            words = [w for w, _, _ in tokenize(name)]
            if not words:
                raise GazetteerError(f"{where}: {name!r} has no word")
            key = tuple(w.lower() for w in words)
            rules = tuple(0 for _ in words) if sector_words else tuple(_case_rule(w) for w in words)
            old = self._table.get(key)
            if old is not None and old[0] != entry:
                if old[0].kind == "sector" or entry.kind == "sector":
                    # A sector word that is also a name ("Pentagon"): the name wins.
                    if entry.kind == "sector":
                        continue
                else:
                    raise GazetteerError(f"{where}: {name!r} is already {_describe(old[0])}")
            self._table[key] = (entry, rules)

    def mentions(self, words: list[str]) -> list[Mention]:
        """The longest names starting at each word, left to right, not overlapping.

        In text set in capitals (a shouted headline) an abbreviation is not trusted: "US"
        there may be "us".
        """
        letters = [w for w in words if len(w) > 1 and w.isalpha()]
        shouting = len(letters) >= 3 and sum(w.isupper() for w in letters) >= 0.6 * len(letters)
        lowered = [w.lower() for w in words]
        out: list[Mention] = []
        i, n = 0, len(words)
        while i < n:
            found = None
            for length in self._lengths.get(lowered[i], ()):
                if i + length > n:
                    continue
                hit = self._table.get(tuple(lowered[i : i + length]))
                if hit is not None and _cased(words[i : i + length], hit[1], shouting):
                    found = Mention(i, i + length, hit[0])
                    break
            if found is None:
                i += 1
                continue
            if found.entry.kind != "skip":
                out.append(found)
            i = found.end
        return out


def _check_code(code, where: str) -> None:
    if not (isinstance(code, str) and re.fullmatch(r"[A-Z]{3}", code)):
        raise GazetteerError(f"{where}: code {code!r} is not three capital letters (ISO 3166 alpha-3, or IGO)")


def merge_gazetteers(parts: list[dict | None]) -> dict:
    """Several gazetteer files as one: a country's lists are extended, other lists appended."""
    out: dict = {name: ({} if name in ("countries", "sectors") else []) for name in SECTIONS}
    for part in parts:
        if part is None:
            continue
        if not isinstance(part, dict):
            raise GazetteerError("the actor gazetteer must be a mapping")
        unknown = set(part) - set(out)
        if unknown:
            raise GazetteerError(f"unknown section {sorted(unknown)[0]!r} (known: {', '.join(out)})")
        for code, spec in (part.get("countries") or {}).items():
            if not isinstance(spec, dict):
                raise GazetteerError(f"countries.{code}: must map names/demonyms/capitals/places to lists")
            merged = out["countries"].setdefault(code, {})
            for key, names in spec.items():
                merged[key] = list(merged.get(key, [])) + list(names or [])
        for section in ("organisations", "groups", "people", "not_actors"):
            out[section] += list(part.get(section) or [])
        for sector, words in (part.get("sectors") or {}).items():
            out["sectors"][sector] = list(out["sectors"].get(sector, [])) + list(words or [])
    return out


def _describe(entry: Entry) -> str:
    return f"{entry.code or '-'}/{entry.sector or '-'} ({entry.kind})"


def _cased(words: list[str], rules: tuple[int, ...], shouting: bool) -> bool:
    for word, rule in zip(words, rules, strict=True):
        if rule == 2 and (shouting or not word.isupper()):
            return False
        if rule == 1 and not word[:1].isupper():
            return False
    return True


class ActorCoder:
    """Source and target actors of an event stated in one sentence."""

    def __init__(self, gazetteer: Gazetteer, cues: dict[str, re.Pattern] | None = None):
        self.gazetteer = gazetteer
        self.cues = cues or {}

    def actors(self, sentence: str) -> tuple[list[Actor], list[Actor], list[tuple[str, int, int]]]:
        """Actors and locations in a sentence, and its tokens."""
        tokens = tokenize(sentence)
        words = [w for w, _, _ in tokens]
        mentions = self.gazetteer.mentions(words)
        lowered = [w.lower() for w in words]
        breaks = _breaks(sentence, tokens)
        actors: list[Actor] = []
        locations: list[Actor] = []
        current: list[Mention] = []

        def flush():
            if current:
                actors.append(_actor(sentence, tokens, current))
                current.clear()

        for m in mentions:
            e = m.entry
            if e.kind != "sector" and (
                e.kind == "place" or (m.start > 0 and lowered[m.start - 1] in _LOCATIVE)
            ) and not _sector_follows(mentions, m, lowered, breaks):
                flush()
                locations.append(Actor(sentence[tokens[m.start][1] : tokens[m.end - 1][2]], e.code, None, m.start, m.end))
                continue
            if current and _joinable(current[-1], m, words, lowered, breaks):
                current.append(m)
            else:
                flush()
                current.append(m)
        flush()
        return actors, locations, tokens

    def code(self, sentence: str, event_type: str, context_code: str | None = None) -> dict:
        """``{"source": [actor...], "target": [actor...]}`` for the event ``event_type``."""
        sentence = sentence[:MAX_SENTENCE_CHARS]
        actors, locations, tokens = self.actors(sentence)
        lowered = [w.lower() for w, _, _ in tokens]
        place_codes = {loc.code for loc in locations if loc.code}
        actor_codes = {a.code for a in actors if a.code and a.code != "IGO"}
        default_code = (
            next(iter(place_codes)) if len(place_codes) == 1
            else next(iter(actor_codes)) if len(actor_codes) == 1 and not place_codes
            else context_code
        )
        for actor in actors:
            if actor.code is None and actor.sector not in (None, "NGO", "MED") and default_code:
                actor.code = default_code
        if not actors and not locations:
            return {"source": [], "target": []}
        trigger = self._trigger(sentence, tokens, event_type, actors)
        breaks = _breaks(sentence, tokens)
        source, target = _roles(actors, locations, lowered, breaks, trigger, event_type)
        return {"source": [a.as_dict() for a in _unique(source)], "target": [a.as_dict() for a in _unique(target)]}

    def _trigger(self, sentence: str, tokens, event_type: str, actors: list[Actor]) -> int:
        """The word where the event is stated: its cue, else the first lower-case word after the first actor."""
        pattern = self.cues.get(event_type)
        if pattern is not None:
            lowered = sentence.lower()
            for match in pattern.finditer(lowered):
                at = _token_at(tokens, match.start())
                if not any(a.start <= at < a.end for a in actors):
                    return at
        after = actors[0].end if actors else 0
        inside = {i for a in actors for i in range(a.start, a.end)}
        for i in range(after, len(tokens)):
            word = tokens[i][0]
            if word.islower() and i not in inside and word not in _JOINERS and word not in ("and", "or", "the", "a", "an"):
                return i
        return len(tokens)


def _token_at(tokens, offset: int) -> int:
    for i, (_, _start, end) in enumerate(tokens):
        if end > offset:
            return i
    return len(tokens)


def _breaks(sentence: str, tokens) -> set[int]:
    """Indices i where a clause break (comma, dash, bracket, quote) falls before token i."""
    out = set()
    for i in range(1, len(tokens)):
        if _CLAUSE_BREAK.search(sentence[tokens[i - 1][2] : tokens[i][1]]):
            out.add(i)
    return out


def _sector_follows(mentions: list[Mention], m: Mention, lowered: list[str], breaks: set[int]) -> bool:
    """A sector word right after a place makes it an actor: "Kunduz police", "in Kabul's government"."""
    for other in mentions:
        if other.start >= m.end:
            gap = lowered[m.end : other.start]
            return other.entry.kind == "sector" and len(gap) <= 1 and all(g in _JOINERS for g in gap) and other.start not in breaks
    return False


def _joinable(prev: Mention, m: Mention, words: list[str], lowered: list[str], breaks: set[int]) -> bool:
    """Mentions that name one actor: adjacent, or apart by a title, a name or "of"."""
    if any(b in breaks for b in range(prev.end, m.start + 1)):
        return False
    gap = range(prev.end, m.start)
    if len(gap) > 3:
        return False
    for i in gap:
        if lowered[i] in ("s", "of", "for") or (lowered[i] == "the" and i > 0 and lowered[i - 1] in ("of", "for")):
            continue
        if words[i][:1].isupper():  # a title or a person's name: "British Defence Secretary Tom King"
            continue
        return False
    # Two countries side by side are two actors ("Israeli Palestinian"), unless one is a sector word.
    if prev.entry.kind != "sector" and m.entry.kind != "sector" and prev.entry.code and m.entry.code and prev.entry.code != m.entry.code:
        return False
    return True


def _actor(sentence: str, tokens, mentions: list[Mention]) -> Actor:
    code = next((m.entry.code for m in mentions if m.entry.kind != "sector" and m.entry.code), None)
    named = next((m.entry.sector for m in mentions if m.entry.kind != "sector" and m.entry.sector), None)
    word = next((m.entry.sector for m in reversed(mentions) if m.entry.kind == "sector"), None)
    sector = named or word
    start, end = mentions[0].start, mentions[-1].end
    return Actor(sentence[tokens[start][1] : tokens[end - 1][2]], code, sector, start, end)


def _groups(actors: list[Actor], lowered: list[str], breaks: set[int]) -> list[list[Actor]]:
    """Actors joined by "and", "or", "as well as" (or a comma in a list) form one group."""
    groups: list[list[Actor]] = []
    for actor in actors:
        if groups:
            prev = groups[-1][-1]
            gap = " ".join(lowered[prev.end : actor.start])
            gap = re.sub(r"^(?:the|its|their)\s+|\s+(?:the|its|their)$", "", gap).replace(" the ", " ")
            if gap in _CONJ or (gap == "" and actor.start in breaks and _list_continues(actors, actor, lowered)):
                groups[-1].append(actor)
                continue
        groups.append([actor])
    return groups


def _list_continues(actors: list[Actor], actor: Actor, lowered: list[str]) -> bool:
    """A comma that continues a list "X, Y and Z": a later actor of the list follows "and"."""
    for other in actors:
        if other.start > actor.end:
            return " ".join(lowered[actor.end : other.start]) in _CONJ
    return False


def _speakers(groups: list[list[Actor]], lowered: list[str], breaks: set[int], lo: int, hi: int) -> set[int]:
    """Actors named as the source of a report by a speech verb in tokens [lo, hi)."""
    out: set[int] = set()
    for v in range(lo, hi):
        if lowered[v] not in _SPEECH:
            continue
        if lowered[v] == "according":
            group = next((g for g in groups if v < g[0].start <= v + 4), None)
        else:
            group = next((g for g in reversed(groups) if g[-1].end <= v and v - g[-1].end <= 3
                          and not any(g[-1].end <= b <= v for b in breaks)), None)
        if group is not None:
            out.update(id(a) for a in group)
    return out


def _roles(actors, locations, lowered, breaks, trigger: int, event_type: str):
    groups = _groups(actors, lowered, breaks)
    # Reported speech after the cue names the speaker (", officials said"; "according to X").
    speakers = _speakers(groups, lowered, breaks, trigger + 1, len(lowered))
    # A speech verb before the cue: the speaker acts only when the reported clause has no
    # actor of its own ("Pakistan said it would release ...").
    speech_before = [i for i in range(0, trigger) if lowered[i] in _SPEECH and lowered[i] != "according"]
    if speech_before and any(speech_before[-1] < a.start <= speech_before[-1] + 3 and a.start < trigger and a.code for a in actors):
        speakers |= {id(a) for a in actors if a.start < speech_before[-1]}
    speakers |= _speakers(groups, lowered, breaks, 0, trigger) if any(lowered[i] == "according" for i in range(trigger)) else set()
    groups = [g for g in ([a for a in g if id(a) not in speakers] for g in groups) if g]
    segment_start = max([b for b in breaks if b <= trigger] or [0])
    before = [g for g in groups if g[-1].end <= trigger]
    after = [g for g in groups if g[0].start > trigger]
    # The subject: the first group of the cue's clause; a clause without one (", warning
    # that ...", ", killing six") belongs to the sentence's first group.
    in_clause = [g for g in before if g[0].start >= segment_start]
    subject = in_clause[0] if in_clause else (before[0] if before else [])
    middle = in_clause[1:]
    passive = any(lowered[i] in _BE for i in range(max(0, trigger - 2), trigger)) and event_type not in SYMMETRIC
    if passive:
        by_group = next((g for g in after if "by" in lowered[max(trigger, g[0].start - 3) : g[0].start]), None)
        return list(by_group or []), list(subject)
    between = _between(groups, lowered, trigger)
    if between:
        # "talks between X and Y": every party is a source; "X mediated between Y and Z":
        # the parties are the target.
        if subject and not any(a in between for a in subject):
            return list(subject), between
        return between, []
    coded = [g for g in after if any(a.code for a in g)]
    target = list(coded[0] if coded else (after[0] if after else (middle[-1] if middle else [])))
    if not target:
        place = next((loc for loc in locations if loc.start > trigger and loc.code), None)
        target = [place] if place is not None else []
    return list(subject), target


def _between(groups: list[list[Actor]], lowered: list[str], trigger: int) -> list[Actor]:
    """The parties of the cue named after "between" or "among" ("talks between X and Y")."""
    for i, group in enumerate(groups):
        if _preceded_by(lowered, group[0].start, ("between", "among")) and trigger < group[0].start <= trigger + 8:
            parties = list(group)
            if len(group) == 1 and i + 1 < len(groups):
                gap = lowered[group[-1].end : groups[i + 1][0].start]
                if "and" in gap and len(gap) <= 4:
                    parties += groups[i + 1]
            return parties
    return []


def _preceded_by(lowered: list[str], start: int, words: tuple[str, ...]) -> bool:
    """The word before ``start``, skipping "the", is one of ``words``."""
    i = start - 1
    while i >= 0 and lowered[i] in ("the", "a", "an"):
        i -= 1
    return i >= 0 and lowered[i] in words


def _merge(first: list[Actor], second: list[Actor]) -> list[Actor]:
    return first + [a for a in second if a not in first]


def _unique(actors: list[Actor]) -> list[Actor]:
    seen, out = set(), []
    for a in actors:
        key = (a.code, a.sector, a.text)
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


def codes(actors: list[dict]) -> list[str]:
    """The distinct country/IGO codes of a list of actors, in order."""
    return list(dict.fromkeys(a["code"] for a in actors if a.get("code")))


def primary_codes(event_actors, event_type: str | None) -> tuple[list[str], list[str]]:
    """The distinct source and target codes of ``event_type``'s entry ([] and [] without one)."""
    entry = next((e for e in event_actors if e["event_type"] == event_type), None)
    return ([], []) if entry is None else (codes(entry["source"]), codes(entry["target"]))


def dominant_code(coder: ActorCoder, texts: list[str]) -> str | None:
    """The country most named across ``texts`` (title and lead), when one clearly leads."""
    counts: Counter = Counter()
    for text in texts:
        actors, locations, _ = coder.actors(text)
        counts.update(a.code for a in actors + locations if a.code and a.code != "IGO")
    if not counts:
        return None
    (top, n), *rest = counts.most_common(2) + [(None, 0)]
    return top if n > rest[0][1] else None
