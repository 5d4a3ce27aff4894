"""Would MiniLM sentence embeddings help the injection detector? A measurement, not a model.

    python -m evals.probe_injection_embeddings --shared-data ../shared/data

Same splits as `evals/train_injection.py` (train halves to fit, held-out halves to score; the
SMS sources subsampled to a quarter to keep the embedding time modest). Three scorers, each
with its threshold from out-of-fold scores on the hard benign training texts at ≤ 2 % false
positives (never from the held-out halves): the hashed n-gram logistic regression alone; a
logistic regression on the normalised all-MiniLM-L6-v2 embedding (first 1,000 characters);
and both stacked (the n-gram logit as one more input). Prints recall and false-positive rate
per source on the held-out halves. Finding (see README): embeddings alone are weak (the model
is English-only; deepset is half German) and stacking adds about one point.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from brand_guardrails.checks.injection import features
from evals import train_injection as ti
from evals.injection_data import halves, sources

Row = tuple[str, str, bool]


def _quarter(items: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    return [it for it in items if int(hashlib.md5(it[0].encode()).hexdigest(), 16) % 4 == 0]


def _lr(x: np.ndarray, y: np.ndarray, sw: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Weighted logistic regression, full-batch Adam from zero (bias last)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    v, m, s = np.zeros(xb.shape[1]), np.zeros(xb.shape[1]), np.zeros(xb.shape[1])
    for i in range(1, 801):
        p = 1 / (1 + np.exp(-xb @ v))
        g = xb.T @ ((p - y) * sw) / len(y)
        g[:-1] += l2 * v[:-1]
        m, s = 0.9 * m + 0.1 * g, 0.999 * s + 0.001 * g * g
        v -= 0.05 * (m / (1 - 0.9**i)) / (np.sqrt(s / (1 - 0.999**i)) + 1e-8)
    return v


def _pred(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-(np.hstack([x, np.ones((len(x), 1))]) @ v))))


def main(argv: list[str] | None = None) -> None:
    """Fit the three scorers on the train halves and print held-out figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared-data", type=Path, default=Path("../shared/data"))
    args = ap.parse_args(argv)
    from brand_guardrails.store import embed

    train: list[Row] = []
    test: list[Row] = []
    for name, items in sources(args.shared_data).items():
        h = halves(items)
        fit_on, score_on = h["train"], h["held_out"]
        if "sms" in name:
            fit_on, score_on = _quarter(fit_on), _quarter(score_on)
        train += [(name, t, y) for t, y in fit_on]
        test += [(name, t, y) for t, y in score_on]
    y_tr = np.array([y for *_, y in train], dtype=float)
    y_te = np.array([y for *_, y in test], dtype=float)
    n_tr = np.array([n for n, *_ in train])
    n_te = np.array([n for n, *_ in test])
    n_pos = y_tr.sum()
    sw = np.array(
        [
            (0.5 / n_pos if y else 0.5 / (len(y_tr) - n_pos) * ti._BENIGN_WEIGHT.get(n, 1.0))
            * len(y_tr)
            for n, y in zip(n_tr, y_tr, strict=True)
        ]
    )
    d_tr = ti._Data([features(t)[:2] for _, t, _ in train], list(y_tr > 0), list(sw))
    d_te = ti._Data([features(t)[:2] for _, t, _ in test], list(y_te > 0), [1.0] * len(test))
    e_tr = embed([t[:1000] for _, t, _ in train]).astype(np.float64)
    e_te = embed([t[:1000] for _, t, _ in test]).astype(np.float64)
    folds = np.array([ti._fold(t) for _, t, _ in train])
    oof_ngram = np.zeros(len(train))
    for k in range(3):
        w, b = ti.fit(d_tr.subset(folds != k), l2=1e-5)
        oof_ngram[folds == k] = d_tr.subset(folds == k).logits(w, b)
    w, b = ti.fit(d_tr, l2=1e-5)
    te_ngram = d_te.logits(w, b)

    def stacked(x: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        oof = np.zeros(len(train))
        for k in range(3):
            oof[folds == k] = _pred(
                _lr(x[folds != k], y_tr[folds != k], sw[folds != k]), x[folds == k]
            )
        return oof, _pred(_lr(x, y_tr, sw), x_test)

    sig = 1 / (1 + np.exp(-oof_ngram)), 1 / (1 + np.exp(-te_ngram))
    both = stacked(
        np.hstack([oof_ngram[:, None] / 5, e_tr]), np.hstack([te_ngram[:, None] / 5, e_te])
    )
    hard = np.isin(n_tr, list(ti.HARD_BENIGN))
    for label, (oof, held) in (
        ("ngram", sig),
        ("embedding", stacked(e_tr, e_te)),
        ("stacked", both),
    ):
        benign = np.sort(oof[(y_tr == 0) & hard])
        thr = max(0.5, benign[len(benign) - int(0.02 * len(benign)) - 1] + 1e-6)
        parts = []
        for src in dict.fromkeys(n_te.tolist()):
            pos, neg = (n_te == src) & (y_te == 1), (n_te == src) & (y_te == 0)
            rec = f"{np.mean(held[pos] >= thr):.3f}" if pos.any() else "-"
            fpr = f"{np.mean(held[neg] >= thr):.3f}" if neg.any() else "-"
            parts.append(f"{src} recall={rec} fpr={fpr}")
        print(f"{label}: threshold={thr:.3f} | " + " | ".join(parts))


if __name__ == "__main__":
    main()
