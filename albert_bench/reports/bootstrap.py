"""Bootstrap 95% intervals for every metric of a run, and a paired comparison of two runs.

    from albert_bench.reports import load_results
    from albert_bench.reports.bootstrap import intervals, compare
    ci = intervals(load_results("results"), resamples=1000, seed=0)   # one row per run/split/metric
    compare("results", "rte-...-aaaaaa", "rte-...-bbbbbb")             # B - A, its interval, a p-value

Resampling is over examples, with replacement; each metric is recomputed on every resample
(stats.py). Seeded per run (the seed and the run id), so intervals do not depend on the order
runs are read in. Per-example files are read once, only when an interval is asked for.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from albert_bench.records import read_jsonl
from albert_bench.reports.frame import Results, load_results, score_of
from albert_bench.reports.stats import Statistic, statistics

LEVEL = 0.95
CHUNK = 200          # resamples per weight matrix (CHUNK x n floats in memory at once)
INTERVAL_COLUMNS = ("run_id", "checkpoint", "split", "metric", "point", "low", "high", "n")


def draws(rng: np.random.Generator, b: int, n: int) -> np.ndarray:
    """(b, n) indices of b resamples of n examples with replacement."""
    return rng.integers(0, n, size=(b, n), dtype=np.int32 if n < 2**31 else np.int64)


def resample_all(stats: dict[str, Statistic], resamples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each statistic on `resamples` bootstrap resamples of its examples. Categorical ones draw their
    category counts directly (a resample's counts are exactly multinomial); the others share the
    same drawn indices, CHUNK resamples at a time."""
    out, shared = {}, {}
    for name, stat in stats.items():
        if stat.from_counts is not None:
            p = np.bincount(stat.codes, minlength=stat.k) / stat.n
            out[name] = stat.from_counts(rng.multinomial(stat.n, p, size=resamples))
        else:
            shared[name] = stat
    if shared:
        n = next(iter(shared.values())).n
        parts = {name: [] for name in shared}
        for start in range(0, resamples, CHUNK):
            idx, cache = draws(rng, min(CHUNK, resamples - start), n), {}
            for name, stat in shared.items():
                parts[name].append(stat.on_resamples(idx, cache))
        out.update({name: np.concatenate(values) for name, values in parts.items()})
    return out


def resample(stat: Statistic, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The statistic on `resamples` bootstrap resamples."""
    return resample_all({"stat": stat}, resamples, rng)["stat"]


def interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval; resamples where the metric is undefined (NaN) are left out."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


def run_seed(seed: int, run_id: str, split: str, checkpoint: str) -> int:
    return zlib.crc32(f"{seed}/{run_id}/{split}/{checkpoint}".encode()) & 0x7FFFFFFF


def prediction_path(record: dict, split: str, checkpoint: str) -> Path | None:
    key = "predictions" if checkpoint == "best" else "predictions_last"
    rel = (record.get(key) or {}).get(split)
    return None if rel is None else Path(record["path"]).parent / rel


def _run_intervals(job: tuple) -> tuple[list[dict], list[str]]:
    """Intervals of one run: job = (run_id, task, [(checkpoint, split, path, metric names)], resamples,
    seed). Top level, so that worker processes can run it. Returns (rows, warnings)."""
    run_id, task, items, resamples, seed = job
    rows, warnings = [], []
    for checkpoint, split, path, metrics in items:
        try:
            stats = statistics(task, read_jsonl(path))
        except (ValueError, OSError, TypeError, KeyError) as err:
            warnings.append(f"{path}: predictions unusable ({err}); no interval for run {run_id}")
            continue
        wanted = {m: stats[m] for m in metrics if m in stats}
        rng = np.random.default_rng(run_seed(seed, run_id, split, checkpoint))
        for metric, values in resample_all(wanted, resamples, rng).items():
            lo, hi = interval(values)
            rows.append({"run_id": run_id, "checkpoint": checkpoint, "split": split, "metric": metric,
                         "point": score_of(task, metric, wanted[metric].point()), "low": score_of(task, metric, lo),
                         "high": score_of(task, metric, hi), "n": wanted[metric].n})
    return rows, warnings


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def intervals(results: Results, resamples: int = 1000, seed: int = 0, checkpoints=("best",),
              progress: bool = True, workers: int | None = None) -> pd.DataFrame:
    """One row per (run, checkpoint, split, metric) whose predictions allow it: the metric recomputed
    on all examples (`point`) and its bootstrap interval, in table units (percent). Unreadable
    prediction files add a warning to `results` and give no row. Runs are spread over `workers`
    processes (default: the CPUs this process may use); the result does not depend on it."""
    if resamples < 1:
        raise ValueError(f"--bootstrap {resamples}: the number of resamples must be at least 1 (default 1000)")
    jobs = []
    for run in (results.runs.itertuples() if not results.runs.empty else []):
        record = results.records[run.run_id]
        items = []
        for checkpoint in checkpoints:
            for split, metrics in ((record.get("metrics") or {}).get(checkpoint) or {}).items():
                path = prediction_path(record, split, checkpoint)
                if path is not None and path.is_file():
                    items.append((checkpoint, split, path, list(metrics or {})))
        if items:
            jobs.append((run.run_id, run.task, items, resamples, seed))
    workers = min(workers or default_workers(), len(jobs))
    # A bar only for a person at a terminal: in a log file it is one endless line of carriage returns.
    bar = dict(desc="bootstrap", unit="run", total=len(jobs), file=sys.stderr,
               disable=not progress or len(jobs) < 2 or not sys.stderr.isatty() or bool(os.environ.get("CI")))
    if workers > 1:
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            done = list(tqdm(pool.map(_run_intervals, jobs, chunksize=4), **bar))
    else:
        done = [_run_intervals(job) for job in tqdm(jobs, **bar)]
    rows = [row for run_rows, _ in done for row in run_rows]
    for _, warnings in done:
        for text in warnings:
            results.warn(text)
    return pd.DataFrame(rows, columns=INTERVAL_COLUMNS)


# ---------------------------------------------------------------- paired comparison

def _find_run(results: Results, ref: str) -> dict:
    if ref in results.records:
        return results.records[ref]
    path = Path(ref)
    if path.suffix == ".json" and path.is_file():
        for record in results.records.values():
            if Path(record["path"]).resolve() == path.resolve():
                return record
        record = json.loads(path.read_text(encoding="utf-8"))
        record["path"] = str(path)
        return record
    raise ValueError(f"run {ref!r} is neither a run id in {results.results_dir} nor a record file; "
                     "`albert-bench table --kind runs` lists the run ids")


def compare(results: Results | str | Path, run_a: str, run_b: str, metric: str | None = None,
            split: str | None = None, checkpoint: str = "best", resamples: int = 1000, seed: int = 0) -> dict:
    """Paired bootstrap over the examples both runs scored: B - A with its 95% interval and a
    two-sided p-value (the share of resampled differences, centred on the observed one, at least as
    far from it as the observed difference is from 0). Scores in table units (percent)."""
    if not isinstance(results, Results):
        results = load_results(results)
    a, b = _find_run(results, run_a), _find_run(results, run_b)
    if a.get("task") != b.get("task"):
        raise ValueError(f"runs are on different tasks ({a['run_id']}: {a.get('task')}, {b['run_id']}: "
                         f"{b.get('task')}); compare two runs of one task")
    task = a["task"]
    splits_a = set((a.get("predictions") if checkpoint == "best" else a.get("predictions_last")) or {})
    splits_b = set((b.get("predictions") if checkpoint == "best" else b.get("predictions_last")) or {})
    common = sorted(splits_a & splits_b, key=lambda s: (s not in ("dev", "dev_matched"), s))
    split = split or (common[0] if common else None)
    if split is None or split not in common:
        raise ValueError(f"no {checkpoint}-checkpoint predictions for split {split!r} in both runs "
                         f"({a['run_id']}: {sorted(splits_a)}, {b['run_id']}: {sorted(splits_b)}); pass --split")
    rows_a = {r["id"]: r for r in read_jsonl(prediction_path(a, split, checkpoint))}
    rows_b = {r["id"]: r for r in read_jsonl(prediction_path(b, split, checkpoint))}
    shared = [i for i in rows_a if i in rows_b]
    if not shared:
        raise ValueError(f"runs {a['run_id']} and {b['run_id']} share no example ids on {split}; "
                         "were they scored on the same data?")
    stats_a, stats_b = statistics(task, [rows_a[i] for i in shared]), statistics(task, [rows_b[i] for i in shared])
    metric = metric or a.get("main_metric") or next(iter(stats_a), None)
    if metric not in stats_a or metric not in stats_b:
        raise ValueError(f"--metric {metric!r} cannot be recomputed for {task}; choose one of {sorted(stats_a)}")
    sa, sb = stats_a[metric], stats_b[metric]
    rng = np.random.default_rng(run_seed(seed, a["run_id"] + b["run_id"], split, metric))
    diffs = []
    for i in range(0, resamples, CHUNK):
        idx, cache = draws(rng, min(CHUNK, resamples - i), sa.n), {}     # the same resamples for both runs
        diffs.append(sb.on_resamples(idx, cache) - sa.on_resamples(idx, cache))
    diffs = np.concatenate(diffs)
    point_a, point_b = sa.point(), sb.point()
    observed = point_b - point_a
    lo, hi = interval(diffs)
    finite = diffs[np.isfinite(diffs)]
    p = (1 + np.sum(np.abs(finite - observed) >= abs(observed) - 1e-12)) / (1 + finite.size)
    scale = score_of(task, metric, 1.0)
    return {"task": task, "split": split, "metric": metric, "checkpoint": checkpoint, "run_a": a["run_id"],
            "run_b": b["run_id"], "score_a": scale * point_a, "score_b": scale * point_b,
            "difference": scale * observed, "ci_low": scale * lo, "ci_high": scale * hi, "p_value": float(min(1.0, p)),
            "n": len(shared), "resamples": resamples, "method": "paired bootstrap"}


def format_comparison(result: dict) -> str:
    r = result
    return (f"{r['task']} {r['split']} {r['metric']} ({r['checkpoint']} checkpoint), {r['n']} shared examples\n"
            f"  A {r['run_a']}: {r['score_a']:.2f}\n  B {r['run_b']}: {r['score_b']:.2f}\n"
            f"  B - A = {r['difference']:+.2f}  95% CI [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]  "
            f"p = {r['p_value']:.4f}  ({r['method']}, {r['resamples']} resamples)")
