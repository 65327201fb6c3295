"""Train the word weights of story similarity: how rare each content word is in news.

Two articles tell the same story when they share the *rare* words of it (names, places,
the particulars), not when they share common ones ("government", "killed"). Each content
word's weight is its inverse document frequency, log(1 / p), where p is the share of
training documents that contain it: a mix of FNC-1's bodies (general news; only the
stories not held back for evaluation, ``data.fnc_story_groups``) and, at a quarter of
the weight, ACLED's event notes (conflict reporting, so that "Taliban", "province" or
"clashes" count as the common words they are in that beat). A word seen in none of them
gets the highest weight.

The table keeps the CRC-32 of each word seen in at least two documents (the signatures
already carry those hashes) and its weight as float16: a few hundred KB, shipped in the
package. Writes newsbeam/tagging/models/story_weights.npz.

    .venv/bin/python -m training.train_stories
"""

from __future__ import annotations

import collections
import json
import sys
import zlib

import numpy as np

from newsbeam.stories import content_words
from training import data

MODEL = data.REPO / "newsbeam" / "tagging" / "models" / "story_weights.npz"
# Share of the ACLED notes in the document frequency (0.25: best ARI on FNC-1's tuning
# stories among 0, 0.25 and 0.5, by a hair over 0; kept for the conflict beat's sake).
ACLED_SHARE = 0.25
MIN_DF = 2


def document_frequencies(texts: list[str]) -> tuple[collections.Counter, int]:
    df: collections.Counter = collections.Counter()
    for text in texts:
        df.update(content_words(text))
    return df, len(texts)


def training_texts() -> tuple[list[str], list[str]]:
    """(news bodies, event notes): FNC-1 bodies of the stories not held back, and ACLED notes."""
    stances = data.fnc_stances()
    find, held_roots = data.fnc_story_groups(stances)
    bodies = [text for body_id, text in sorted(data.fnc_bodies().items()) if find(f"b{body_id}") not in held_roots]
    notes = [note for note, _ in data.acled()] + [note for note, _ in data.acled_extra()]
    return bodies, notes


def weights(news: list[str], notes: list[str]) -> tuple[np.ndarray, np.ndarray, float]:
    """(sorted word hashes, their weights, the weight of an unseen word)."""
    df_news, n_news = document_frequencies(news)
    df_notes, n_notes = document_frequencies(notes)
    floor = 1.0 / (n_news + n_notes)  # an unseen word counts as about one document in all
    words = sorted(w for w in set(df_news) | set(df_notes) if df_news[w] + df_notes[w] >= MIN_DF)
    share = np.asarray([(1 - ACLED_SHARE) * df_news[w] / n_news + ACLED_SHARE * df_notes[w] / n_notes for w in words])
    hashes = np.asarray([zlib.crc32(w.encode()) for w in words], np.uint32)
    order = np.argsort(hashes, kind="stable")
    hashes, values = hashes[order], np.log(1.0 / (share[order] + floor))
    keep = np.r_[True, hashes[1:] != hashes[:-1]]  # a CRC-32 collision keeps its first word
    return hashes[keep], values[keep].astype(np.float16), float(np.log(1.0 / floor))


def main(argv: list[str] | None = None) -> int:
    news, notes = training_texts()
    hashes, values, unseen = weights(news, notes)
    meta = {"news_documents": len(news), "note_documents": len(notes), "acled_share": ACLED_SHARE, "min_df": MIN_DF,
            "data_hash": data.file_hash(data.SHARED / "stance" / "fnc1_train_bodies.csv",
                                        data.SHARED / "events" / "acled_afg_taliban_2019.csv",
                                        data.SHARED / "events" / "acled_extra_dev.csv")}
    np.savez_compressed(MODEL, hashes=hashes, weights=values, unseen=np.float32(unseen), meta=np.asarray(json.dumps(meta)))
    print(f"story weights: {len(hashes)} words from {len(news)} bodies and {len(notes)} notes, unseen word"
          f" {unseen:.2f} -> {MODEL} ({MODEL.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
