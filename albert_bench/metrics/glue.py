"""GLUE and RACE metrics, computed with scikit-learn / scipy, each with its direction.

    from albert_bench.metrics.glue import METRICS, compute
    fn, higher_is_better = METRICS["matthews_correlation"]
    fn(predictions=[1, 0, 1], references=[1, 1, 1])
    compute("f1", [1, 0, 1], [1, 1, 0])

Conventions (the same as Hugging Face `evaluate`, so numbers compare one to one):
* Every function takes (predictions, references) and returns a plain float.
* GLUE / RACE values are FRACTIONS: accuracy 0.85, not 85. Correlations are in -1..1.
  SQuAD values (albert_bench.metrics.squad) are PERCENTAGES (exact 85.0), as the official
  SQuAD scripts print them. Tables multiply GLUE/RACE by 100 when they show percent.
* `f1` is binary F1 of the positive class: label id 1 (GLUE MRPC "equivalent", QQP
  "duplicate"); pass `positive=` when labels are names.
* Pearson / Spearman of a constant input are undefined: they return nan (as scipy does)
  instead of a number that would look like a real result.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable, Sequence

import numpy as np
from scipy import stats
from sklearn.metrics import f1_score, matthews_corrcoef


def _pair(predictions: Sequence, references: Sequence) -> tuple[np.ndarray, np.ndarray]:
    pred, ref = np.asarray(list(predictions)), np.asarray(list(references))
    if len(pred) != len(ref):
        raise ValueError(f"got {len(pred)} predictions for {len(ref)} references")
    if len(ref) == 0:
        raise ValueError("no examples to score: a metric of an empty set is undefined")
    return pred, ref


def accuracy(predictions: Sequence, references: Sequence) -> float:
    """Fraction of predictions equal to their reference (ids or names alike)."""
    pred, ref = _pair(predictions, references)
    return float(np.mean(pred == ref))


def f1(predictions: Sequence, references: Sequence, positive=1) -> float:
    """Binary F1 of the `positive` class (0.0 when it is never predicted nor gold)."""
    pred, ref = _pair(predictions, references)
    return float(f1_score(ref, pred, pos_label=positive, average="binary", zero_division=0.0))


def matthews_correlation(predictions: Sequence, references: Sequence) -> float:
    """Matthews correlation coefficient (CoLA's metric); 0.0 when one side is constant."""
    pred, ref = _pair(predictions, references)
    return float(matthews_corrcoef(ref, pred))


def _correlation(fn, predictions, references) -> float:
    pred, ref = _pair(predictions, references)
    pred, ref = pred.astype(np.float64), ref.astype(np.float64)
    if len(ref) < 2 or np.all(pred == pred[0]) or np.all(ref == ref[0]):
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # scipy's near-constant warnings; the value is still right
        return float(fn(pred, ref)[0])


def pearson(predictions: Sequence[float], references: Sequence[float]) -> float:
    """Pearson correlation (STS-B)."""
    return _correlation(stats.pearsonr, predictions, references)


def spearmanr(predictions: Sequence[float], references: Sequence[float]) -> float:
    """Spearman rank correlation (STS-B); the name is Hugging Face's."""
    return _correlation(stats.spearmanr, predictions, references)


# name -> (function, higher_is_better). The names are the ones users know from Hugging Face.
METRICS: dict[str, tuple[Callable[..., float], bool]] = {
    "accuracy": (accuracy, True),
    "f1": (f1, True),
    "matthews_correlation": (matthews_correlation, True),
    "pearson": (pearson, True),
    "spearmanr": (spearmanr, True),
}

# Directions of every other score name a run record can hold (SQuAD keys, RACE levels), so a
# table can put an arrow on any column. None = not a score (counts, thresholds).
_OTHER_DIRECTIONS: dict[str, bool | None] = {
    "accuracy_middle": True, "accuracy_high": True,
    "exact_match": True, "exact": True, "HasAns_exact": True, "HasAns_f1": True,
    "NoAns_exact": True, "NoAns_f1": True, "best_exact": True, "best_f1": True,
    "total": None, "HasAns_total": None, "NoAns_total": None,
    "best_exact_thresh": None, "best_f1_thresh": None, "null_threshold": None,
    "loss": False, "eval_loss": False,
}


def higher_is_better(name: str) -> bool | None:
    """Direction of a metric name: True / False, or None for a count or threshold.
    Unknown names raise KeyError, so a table never shows a guessed arrow."""
    if name in METRICS:
        return METRICS[name][1]
    if name in _OTHER_DIRECTIONS:
        return _OTHER_DIRECTIONS[name]
    raise KeyError(f"unknown metric {name!r}; known: {', '.join([*METRICS, *_OTHER_DIRECTIONS])}")


def compute(name: str, predictions: Sequence, references: Sequence, **kwargs) -> float:
    """METRICS[name] applied to (predictions, references)."""
    if name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    return METRICS[name][0](predictions, references, **kwargs)
