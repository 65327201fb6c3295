"""How often the event model finds a political event where there is none.

The labelled sets have no real ``NONE`` items, so this check takes real text whose label
follows from where it was published: the items (headline and summary) of the English
feeds in ``../shared/data/feeds`` whose whole beat reports no political event (software
and cloud blogs, gadget and fitness reviews, plant-biology preprints, a wellness column,
fantasy baseball, housing ads). Every item is ``NONE`` by the label conventions (a product
launch, a study, a listing); any event type is a false alarm. No feed is a training
source. Scored with the shipped models.

    .venv/bin/python -m training.evaluate_none
"""

from __future__ import annotations

import sys
from collections import Counter

from training import data

# (file, what it publishes): English feeds with no political beat.
FEEDS = (
    ("feedjira__TechCrunch.xml", "start-ups and gadgets"),
    ("feedjira__AmazonWebServicesBlog.xml", "cloud computing"),
    ("rssparser__feedburner.atom", "advertising API notes"),
    ("rssparser__xml2js-options.rss", "Science magazine research items"),
    ("rsparser__macworld.rss", "Apple products"),
    ("rsparser__cloudblog.rss", "cloud computing"),
    ("rsparser__bio.rdf", "plant-biology preprints"),
    ("rsparser__dcrainmaker.xml", "fitness gadgets"),
    ("rsparser__natasha.xml", "iOS programming"),
    ("nodefeedparser__wapowellness.xml", "health and fitness"),
    ("nodefeedparser__intertwingly.atom", "web standards"),
    ("nodefeedparser__illegally-nested.xml", "technology columns"),
    ("feedjira__TypePadNews.xml", "blogging platform news"),
    ("feedjira__FeedBurnerXHTML.xml", "fantasy baseball"),
    ("feedjira__youtube_atom.xml", "a company's videos"),
    ("feedjira__google_alerts_atom.xml", "business news about one company"),
    ("feedrs__atom_mediarss_reddit_1.xml", "home computer labs"),
    ("rssparser__craigslist.rss", "housing ads"),
)
SUMMARY_CHARS = 1500


def items() -> list[tuple[str, str, str]]:
    """(feed, headline, summary as plain text) of every item of FEEDS; the HTML becomes text
    as the pipeline's does for a feed entry's body."""
    import feedparser

    from newsbeam.extraction import fragment_text

    out = []
    for name, _what in FEEDS:
        parsed = feedparser.parse(str(data.SHARED / "feeds" / name))
        for entry in parsed.entries:
            title = fragment_text(entry.get("title") or "")
            out.append((name, title, fragment_text(entry.get("summary") or "")[:SUMMARY_CHARS]))
    return out


def eval_none(tiers: list[str]) -> tuple[list[str], dict]:
    import yaml

    from newsbeam.tagging import Tagger
    from training import train_events

    taxonomy = yaml.safe_load(train_events.TAXONOMY.read_text())
    rows = items()
    lines = ["| tier | items | tagged NONE | false events, by type |", "|---|---|---|---|"]
    numbers = {}
    for tier in tiers:
        tagger = Tagger(taxonomy, {}, [], tier=tier)
        found = Counter(tagger.tag(title or None, summary, claims=[]).event_type for _feed, title, summary in rows)
        share = found["NONE"] / max(1, len(rows))
        numbers["events_nonpolitical_none_share" + ("" if tier == "fast" else f"_{tier}")] = share
        wrong = ", ".join(f"{label} {n}" for label, n in found.most_common() if label != "NONE")
        lines.append(f"| {tier} | {len(rows)} | **{share:.1%}** | {wrong or '-'} |")
    sections = [
        "## Event type: no event where there is none (non-political feeds)",
        f"Headline and summary of the {len(rows)} items of {len(FEEDS)} English feeds with no political beat"
        " (software, gadgets, science preprints, wellness, sport, housing ads): all `NONE` by the label conventions,"
        " so every event type is a false alarm. No feed is trained on; the shipped models.",
        "",
        *lines,
        "",
    ]
    return sections, numbers


def main() -> int:
    from training.evaluate import TIERS

    sections, numbers = eval_none(list(TIERS))
    print("\n".join(sections))
    print({k: round(v, 4) for k, v in numbers.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
