"""Per-example statistics that a bootstrap can recompute on any resample, vectorised with numpy.

A resample is a row of a weight matrix W (B, n): W[b, j] = how many times example j was drawn
(each row sums to n). Every metric is recomputed from W, never averaged per example:
accuracy / F1 / MCC / EM from the resample's confusion counts, Pearson from weighted moments,
Spearman from the ranks the resample's own values get (ties averaged, as scipy does), SQuAD
EM/F1 per question against all its gold answers, RACE per question (and per level).

Metrics that are functions of per-example categories (accuracy, F1, MCC, EM) also expose
`codes` / `from_counts`: a bootstrap resample's category counts are exactly multinomial, so
those draw counts directly (milliseconds for 1,000 resamples of any n).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from albert_bench.metrics.squad import normalize_answer, token_f1


@dataclass
class Statistic:
    """One metric over n examples. `from_weights(W (B, n)) -> (B,)`; `from_indices(idx (B, n))`, where
    given, computes the same from the drawn indices (cheaper than building W); categorical metrics
    also carry `codes` (n,) in range(k) and `from_counts(counts (B, k)) -> (B,)`."""
    from_weights: Callable[[np.ndarray], np.ndarray]
    n: int
    codes: np.ndarray | None = None
    k: int = 0
    from_counts: Callable[[np.ndarray], np.ndarray] | None = None
    from_indices: Callable[[np.ndarray], np.ndarray] | None = None

    def point(self) -> float:
        return float(self.from_weights(np.ones((1, self.n)))[0])

    def on_resamples(self, idx: np.ndarray, cache: dict) -> np.ndarray:
        """The statistic on the resamples `idx` (B, n); `cache` shares W between statistics."""
        if self.from_indices is not None:
            return self.from_indices(idx)
        if "weights" not in cache:
            cache["weights"] = weights_from_indices(idx, self.n)
        return self.from_weights(cache["weights"])


def weights_from_indices(idx: np.ndarray, n: int) -> np.ndarray:
    """(B, n) draw counts from (B, n) drawn indices."""
    b = idx.shape[0]
    flat = (idx + (np.arange(b, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)


def _counts_from_indices(codes: np.ndarray, k: int, idx: np.ndarray) -> np.ndarray:
    drawn = codes[idx]                                                  # (B, n) categories
    b = idx.shape[0]
    return np.bincount((drawn + (np.arange(b) * k)[:, None]).ravel(), minlength=b * k).reshape(b, k)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def categorical(codes: np.ndarray, k: int, from_counts: Callable[[np.ndarray], np.ndarray]) -> Statistic:
    codes = np.asarray(codes, dtype=np.int64)
    onehot = np.eye(k)[codes]                                           # (n, k)
    return Statistic(from_weights=lambda w: from_counts(w @ onehot), n=len(codes), codes=codes, k=k,
                     from_counts=from_counts, from_indices=lambda idx: from_counts(_counts_from_indices(codes, k, idx)))


def accuracy(correct: np.ndarray) -> Statistic:
    return categorical(correct.astype(int), 2, lambda c: _ratio(c[:, 1], c[:, 0] + c[:, 1]))


def subset_accuracy(correct: np.ndarray, member: np.ndarray) -> Statistic:
    """Accuracy over the examples where `member` (RACE's level, SQuAD's HasAns): codes 2*member + correct."""
    return categorical(2 * member.astype(int) + correct.astype(int), 4, lambda c: _ratio(c[:, 3], c[:, 2] + c[:, 3]))


def _confusion(pred_pos: np.ndarray, gold_pos: np.ndarray) -> np.ndarray:
    return 2 * pred_pos.astype(int) + gold_pos.astype(int)             # 0 tn, 1 fn, 2 fp, 3 tp


def binary_f1(pred_pos: np.ndarray, gold_pos: np.ndarray) -> Statistic:
    """F1 of the positive class; 0 where it is undefined (sklearn's zero_division=0)."""
    return categorical(_confusion(pred_pos, gold_pos), 4,
                       lambda c: _ratio(2 * c[:, 3], 2 * c[:, 3] + c[:, 2] + c[:, 1]))


def binary_mcc(pred_pos: np.ndarray, gold_pos: np.ndarray) -> Statistic:
    """Matthews correlation from the resample's confusion counts; 0 where undefined (as sklearn)."""
    def mcc(c):
        tn, fn, fp, tp = (c[:, i].astype(float) for i in range(4))
        den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        return _ratio(tp * tn - fp * fn, den)
    return categorical(_confusion(pred_pos, gold_pos), 4, mcc)


def mean(values: np.ndarray, member: np.ndarray | None = None) -> Statistic:
    """Mean of per-example values (SQuAD F1 per question), optionally over a subset."""
    values = np.asarray(values, dtype=float)
    member = np.ones(len(values)) if member is None else np.asarray(member, dtype=float)
    kept, everyone = values * member, bool(member.all())

    def from_indices(idx: np.ndarray) -> np.ndarray:
        total = kept[idx].sum(axis=1)
        return total / idx.shape[1] if everyone else _ratio(total, member[idx].sum(axis=1))
    return Statistic(from_weights=lambda w: _ratio(w @ kept, w @ member), n=len(values), from_indices=from_indices)


def _weighted_corr(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of x, y under weights w (B, n); x and y are (n,) or (B, n). NaN where a side is constant."""
    total = w.sum(axis=1)
    mx, my = (w * x).sum(axis=1) / total, (w * y).sum(axis=1) / total
    dx, dy = x - mx[:, None], y - my[:, None]
    sxy, sxx, syy = (w * dx * dy).sum(axis=1), (w * dx * dx).sum(axis=1), (w * dy * dy).sum(axis=1)
    den = np.sqrt(sxx * syy)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-12 * np.maximum(1.0, sxx + syy), sxy / den, np.nan)


def _row_corr(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of xs, ys (B, n); NaN where a side is constant."""
    dx, dy = xs - xs.mean(axis=1, keepdims=True), ys - ys.mean(axis=1, keepdims=True)
    sxy, sxx, syy = (dx * dy).sum(axis=1), (dx * dx).sum(axis=1), (dy * dy).sum(axis=1)
    den = np.sqrt(sxx * syy)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-12 * np.maximum(1.0, sxx + syy), sxy / den, np.nan)


def pearson(pred: np.ndarray, gold: np.ndarray) -> Statistic:
    x, y = np.asarray(pred, dtype=float), np.asarray(gold, dtype=float)
    x, y = x - x.mean(), y - y.mean()                                   # centred: no cancellation
    return Statistic(from_weights=lambda w: _weighted_corr(w, x, y), n=len(x),
                     from_indices=lambda idx: _row_corr(x[idx], y[idx]))


def _rank_maker(values: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A function W (B, n) -> midranks (B, n) of each example among the resample's drawn values:
    ties (equal values, and every repeat of a drawn example) share their average rank."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    new_value = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    starts = np.flatnonzero(new_value)
    group_of = np.empty(len(values), dtype=np.int64)
    group_of[order] = np.cumsum(new_value) - 1
    ties = len(starts) < len(values)

    def ranks(w: np.ndarray) -> np.ndarray:
        counts = w[:, order]                                            # draws per example, in value order
        if ties:
            counts = np.add.reduceat(counts, starts, axis=1)            # draws per distinct value
        midrank = np.cumsum(counts, axis=1)
        midrank -= (counts - 1) * 0.5                                    # last rank of the group -> its mean
        return midrank[:, group_of]                                     # (B, n)
    return ranks


def spearman(pred: np.ndarray, gold: np.ndarray) -> Statistic:
    rank_x, rank_y = _rank_maker(np.asarray(pred, dtype=float)), _rank_maker(np.asarray(gold, dtype=float))
    n = len(pred)

    def from_weights(w: np.ndarray) -> np.ndarray:
        # Midranks of n drawn values always average (n + 1) / 2, so only three weighted sums are needed.
        rx, ry = rank_x(w), rank_y(w)
        wrx = w * rx
        centre = n * ((n + 1) / 2) ** 2
        sxy, sxx, syy = (wrx * ry).sum(axis=1) - centre, (wrx * rx).sum(axis=1) - centre, (w * ry * ry).sum(axis=1) - centre
        den = np.sqrt(sxx * syy)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 1e-9 * centre, sxy / den, np.nan)
    return Statistic(from_weights=from_weights, n=n)


# ---------------------------------------------------------------- from prediction rows

def squad_scores(rows: list[dict], v2: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per question: EM and F1 (x100, max over all gold answers, the official rules of
    squad_metrics) and whether it is answerable. v2: golds that normalize to empty are dropped,
    none left means the answer is ""; an empty side scores F1 1 only if both are empty."""
    em, f1, has = np.zeros(len(rows)), np.zeros(len(rows)), np.zeros(len(rows), dtype=bool)
    for i, row in enumerate(rows):
        golds = [normalize_answer(g) for g in (row.get("label") or [])]
        if v2:
            golds = [g for g in golds if g]
        has[i] = bool(golds)
        pred = normalize_answer(row.get("prediction") or "")
        golds = golds or [""]
        if pred in golds:                      # exact match: F1 is 1 too (both empty only where v2 allows it)
            em[i], f1[i] = 100.0, 100.0 if (pred or v2) else 0.0
            continue
        pred_tokens = pred.split()
        f1[i] = 100.0 * max(token_f1(g.split(), pred_tokens, v2) for g in golds)
    return em, f1, has


def statistics(task: str, rows: list[dict]) -> dict[str, Statistic]:
    """Every metric of `task` that can be recomputed from its prediction rows (labelled rows only).
    Names are the record's metric names."""
    rows = [r for r in rows if r.get("label") is not None]
    if not rows:
        return {}
    if task in ("squad_v1", "squad_v2"):
        v2 = task == "squad_v2"
        em, f1, has = squad_scores(rows, v2)
        em_right = em > 0
        if not v2:
            return {"exact_match": categorical(em_right.astype(int), 2, lambda c: 100.0 * _ratio(c[:, 1], c.sum(1))),
                    "f1": mean(f1)}
        out = {"exact": categorical(em_right.astype(int), 2, lambda c: 100.0 * _ratio(c[:, 1], c.sum(1))),
               "f1": mean(f1)}
        if has.any():
            out["HasAns_exact"] = _scaled(subset_accuracy(em_right, has))
            out["HasAns_f1"] = mean(f1, has)
        if (~has).any():
            out["NoAns_exact"] = _scaled(subset_accuracy(em_right, ~has))
            out["NoAns_f1"] = mean(f1, ~has)
        return out
    pred = [r["prediction"] for r in rows]
    gold = [r["label"] for r in rows]
    if task == "stsb" or isinstance(gold[0], float):
        return {"pearson": pearson(np.array(pred, float), np.array(gold, float)),
                "spearmanr": spearman(np.array(pred, float), np.array(gold, float))}
    pred_s, gold_s = np.array([str(p) for p in pred]), np.array([str(g) for g in gold])
    correct = pred_s == gold_s
    out = {"accuracy": accuracy(correct)}
    if set(gold_s) | set(pred_s) <= {"0", "1"}:      # GLUE's binary tasks: the positive label is "1"
        out["f1"] = binary_f1(pred_s == "1", gold_s == "1")
        out["matthews_correlation"] = binary_mcc(pred_s == "1", gold_s == "1")
    levels = [r.get("level") for r in rows]
    for level in sorted({lv for lv in levels if lv}):
        out[f"accuracy_{level}"] = subset_accuracy(correct, np.array([lv == level for lv in levels]))
    return out


def _scaled(stat: Statistic, factor: float = 100.0) -> Statistic:
    counts, indices = stat.from_counts, stat.from_indices
    return Statistic(from_weights=lambda w: factor * stat.from_weights(w), n=stat.n, codes=stat.codes, k=stat.k,
                     from_counts=lambda c: factor * counts(c), from_indices=lambda idx: factor * indices(idx))
