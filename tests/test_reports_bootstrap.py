"""Bootstrap intervals (recomputed metrics match the official scorers; coverage near 95%) and
the paired comparison (finds a planted difference, not a null one; clear errors)."""
import numpy as np
import pytest

from albert_bench.metrics import glue as glue_metrics
from albert_bench.metrics import squad as squad_metrics
from albert_bench.reports import load_results
from albert_bench.reports import stats as st
from albert_bench.reports.bootstrap import compare, interval, intervals, resample
from reports_fixtures import classification_rows, race_rows, regression_rows, squad_rows, write_run


def _glue_metrics(rows, names):
    pred, gold = [r["prediction"] for r in rows], [r["label"] for r in rows]
    if names[0] in ("pearson", "spearmanr"):
        return {m: glue_metrics.compute(m, pred, gold) for m in names}
    pred, gold = [int(p) for p in pred], [int(g) for g in gold]
    return {m: glue_metrics.compute(m, pred, gold) for m in names}


def test_recomputed_metrics_equal_the_scorers(tmp_path):
    rng = np.random.default_rng(0)
    cola = classification_rows(300, 0.8, rng)
    stsb = regression_rows(200, 0.8, rng)
    race = race_rows(120, 0.6, rng)
    v1, v2 = squad_rows(150, 0.6, rng), squad_rows(150, 0.6, rng, v2=True)
    golds = lambda rows: {r["id"]: r["label"] for r in rows}           # noqa: E731
    preds = lambda rows: {r["id"]: r["prediction"] for r in rows}      # noqa: E731
    expected = {
        "cola": _glue_metrics(cola, ["matthews_correlation", "accuracy", "f1"]),
        "stsb": _glue_metrics(stsb, ["pearson", "spearmanr"]),
        "race": {"accuracy": np.mean([r["prediction"] == r["label"] for r in race]),
                 "accuracy_middle": np.mean([r["prediction"] == r["label"] for r in race if r["level"] == "middle"])},
        "squad_v1": squad_metrics.squad_v1(golds(v1), preds(v1)),
        "squad_v2": {k: v for k, v in squad_metrics.squad_v2(golds(v2), preds(v2), None).items()
                     if k in ("exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1")},
    }
    for task, rows in [("cola", cola), ("stsb", stsb), ("race", race), ("squad_v1", v1), ("squad_v2", v2)]:
        write_run(tmp_path, task=task, metrics={"dev": expected[task]}, predictions={"dev": rows})
    results = load_results(tmp_path)
    ci = intervals(results, resamples=200, seed=0, progress=False, workers=1)
    assert not results.warnings
    for task, metrics in expected.items():
        for metric, value in metrics.items():
            row = ci[(ci["run_id"].str.startswith(task + "-")) & (ci["metric"] == metric)]
            assert len(row) == 1, (task, metric)
            scale = 1.0 if task.startswith("squad") else 100.0
            assert row["point"].iloc[0] == pytest.approx(scale * value, abs=1e-9), (task, metric)
            assert row["low"].iloc[0] <= row["point"].iloc[0] <= row["high"].iloc[0]
    again = intervals(load_results(tmp_path), resamples=200, seed=0, progress=False, workers=2)
    assert again.equals(ci)                       # seeded per run: the same in worker processes


def test_drawn_indices_and_weights_agree():
    """Each statistic's two resample paths (from drawn indices, from draw counts) give the same numbers."""
    rng = np.random.default_rng(3)
    rows = {"cola": classification_rows(80, 0.7, rng), "stsb": regression_rows(80, 0.5, rng),
            "race": race_rows(80, 0.5, rng), "squad_v2": squad_rows(80, 0.5, rng, v2=True)}
    idx = rng.integers(0, 80, size=(7, 80))
    w = st.weights_from_indices(idx, 80)
    for task, task_rows in rows.items():
        for name, stat in st.statistics(task, task_rows).items():
            if stat.from_indices is not None:
                np.testing.assert_allclose(stat.from_indices(idx), stat.from_weights(w), err_msg=f"{task} {name}")


def test_interval_covers_the_true_value_at_about_95_percent():
    rng = np.random.default_rng(123)
    hits_acc, hits_mean, reps = 0, 0, 150
    for _ in range(reps):
        correct = rng.random(200) < 0.7                              # true accuracy 0.7
        lo, hi = interval(resample(st.accuracy(correct), 400, rng))
        hits_acc += lo <= 0.7 <= hi
        values = rng.normal(50.0, 10.0, size=80)                     # true mean 50 (weights path)
        lo, hi = interval(resample(st.mean(values), 200, rng))
        hits_mean += lo <= 50.0 <= hi
    assert 0.89 <= hits_acc / reps <= 0.99, hits_acc / reps
    assert 0.87 <= hits_mean / reps <= 0.99, hits_mean / reps


def _pair(root, flip, rng, n=1000):
    a = classification_rows(n, 0.7, rng)
    b = [dict(r) for r in a]
    if flip == "planted":                                            # B fixes 15% of the examples A gets wrong
        for r in b:
            if r["prediction"] != r["label"] and rng.random() < 0.5:
                r["prediction"] = r["label"]
    else:                                                            # B: an independent run, same accuracy
        b = classification_rows(n, 0.7, np.random.default_rng(99))
        for r_b, r_a in zip(b, a):
            r_b["label"] = r_a["label"]
            r_b["prediction"] = r_a["label"] if rng.random() < 0.7 else str(1 - int(r_a["label"]))
    ra = write_run(root, task="sst2", metrics={"dev": {"accuracy": 0.7}}, predictions={"dev": a})
    rb = write_run(root, task="sst2", metrics={"dev": {"accuracy": 0.7}}, predictions={"dev": b})
    return ra["run_id"], rb["run_id"]


def test_paired_compare_finds_planted_difference_and_not_a_null_one(tmp_path):
    rng = np.random.default_rng(5)
    a, b = _pair(tmp_path / "planted", "planted", rng)
    result = compare(tmp_path / "planted", a, b, resamples=500)
    assert result["difference"] > 10 and result["ci_low"] > 0 and result["p_value"] < 0.01
    assert result["n"] == 1000 and result["metric"] == "accuracy"
    assert result["difference"] == pytest.approx(result["score_b"] - result["score_a"])
    a, b = _pair(tmp_path / "null", "null", rng)
    result = compare(tmp_path / "null", a, b, resamples=500)
    assert result["ci_low"] < 0 < result["ci_high"] and result["p_value"] > 0.05


def test_compare_errors(tmp_path):
    rng = np.random.default_rng(1)
    a = write_run(tmp_path, task="sst2", metrics={"dev": {"accuracy": 0.7}},
                  predictions={"dev": classification_rows(10, 0.7, rng)})
    b = write_run(tmp_path, task="rte", metrics={"dev": {"accuracy": 0.7}},
                  predictions={"dev": classification_rows(10, 0.7, rng)})
    c = write_run(tmp_path, task="sst2", metrics={"dev": {"accuracy": 0.7}},
                  predictions={"dev": classification_rows(10, 0.7, rng, prefix="other")})
    with pytest.raises(ValueError, match="different tasks"):
        compare(tmp_path, a["run_id"], b["run_id"])
    with pytest.raises(ValueError, match="share no example ids"):
        compare(tmp_path, a["run_id"], c["run_id"])
    with pytest.raises(ValueError, match="neither a run id"):
        compare(tmp_path, a["run_id"], "nope")
    by_path = compare(tmp_path, a["path"], a["run_id"], resamples=50)
    assert by_path["difference"] == 0 and by_path["p_value"] == 1.0
