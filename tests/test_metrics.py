"""GLUE / RACE metrics against values worked out from their textbook formulas."""
import math

import numpy as np
import pytest

from albert_bench.metrics import glue as metrics
from albert_bench.metrics.glue import METRICS, accuracy, compute, f1, higher_is_better, matthews_correlation, pearson, spearmanr

PRED = [1, 0, 1, 1, 0, 1, 0, 0, 1, 1]
GOLD = [1, 0, 0, 1, 0, 1, 1, 0, 1, 0]
# confusion counts of PRED vs GOLD (positive = 1): tp 4, fp 2, fn 1, tn 3


def test_accuracy_is_a_fraction():
    assert accuracy(PRED, GOLD) == pytest.approx(7 / 10)
    assert accuracy(["entailment", "neutral"], ["entailment", "contradiction"]) == 0.5


def test_f1_of_the_positive_class():
    tp, fp, fn = 4, 2, 1
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert f1(PRED, GOLD) == pytest.approx(2 * precision * recall / (precision + recall))
    # the other class as positive gives a different number: the positive class matters
    assert f1(PRED, GOLD, positive=0) == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    assert f1(["1", "0"], ["1", "1"], positive="1") == pytest.approx(2 / 3)
    assert f1([0, 0], [0, 0]) == 0.0   # positive never predicted nor gold


def test_matthews_from_the_confusion_matrix():
    tp, fp, fn, tn = 4, 2, 1, 3
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert matthews_correlation(PRED, GOLD) == pytest.approx(expected)
    assert matthews_correlation([1, 1, 1], [1, 0, 1]) == 0.0   # constant prediction


def test_correlations():
    pred = [0.1, 2.5, 3.0, 4.9, 1.0, 2.0]
    gold = [0.0, 3.0, 2.8, 5.0, 1.5, 1.0]
    assert pearson(pred, gold) == pytest.approx(np.corrcoef(pred, gold)[0, 1])

    def ranks(x):   # no ties in these lists
        return np.argsort(np.argsort(x)).astype(float)
    assert spearmanr(pred, gold) == pytest.approx(np.corrcoef(ranks(pred), ranks(gold))[0, 1])
    assert math.isnan(pearson([1.0, 1.0, 1.0], [0.0, 1.0, 2.0]))


def test_table_carries_direction_and_names():
    assert set(METRICS) == {"accuracy", "f1", "matthews_correlation", "pearson", "spearmanr"}
    for name, (fn, up) in METRICS.items():
        assert callable(fn) and up is True
        assert higher_is_better(name) is True
    assert higher_is_better("best_f1") is True and higher_is_better("best_f1_thresh") is None
    assert higher_is_better("loss") is False
    with pytest.raises(KeyError, match="unknown metric"):
        higher_is_better("bleu")
    assert compute("accuracy", [1, 0], [1, 1]) == 0.5


def test_bad_inputs():
    with pytest.raises(ValueError, match="2 predictions for 3 references"):
        accuracy([1, 0], [1, 0, 1])
    with pytest.raises(ValueError, match="empty"):
        metrics.accuracy([], [])
