"""Figures from a Results, PNG and SVG, with matplotlib's headless Agg backend.

    from albert_bench.reports import load_results
    from albert_bench.reports.plots import write_plots
    write_plots(load_results("results"), "reports/plots")   # scores, params, seeds, curves (.png, .svg)

scores  score per task and model (the main metric), bars = 95% bootstrap interval when given
params  score against parameter count (log axis), v1 and v2 as separate lines
seeds   every run's score per task and model (seed spread), the median marked
curves  training loss and the dev metric against step, from the step logs
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from albert_bench.io import atomic_write  # noqa: E402
from albert_bench.records import read_jsonl  # noqa: E402
from albert_bench.reports.frame import Results  # noqa: E402
from albert_bench.reports.tables import aggregate, model_order  # noqa: E402

NAMES = ("scores", "params", "seeds", "curves")
MAX_MODELS = 12          # bars per task group; more would be unreadable
MAX_LEGEND_RUNS = 8      # training curves: a legend only up to this many runs per task
SPLIT_ORDER = ("dev", "dev_matched", "test")


def main_metrics(results: Results) -> dict[str, tuple[str, str]]:
    """task -> (split, metric) each figure plots: the runs' main metric on the first dev split."""
    out = {}
    frame = results.frame[results.frame["score"].notna()]
    for task, rows in frame.groupby("task", sort=True):
        mains = [results.records[r].get("main_metric") for r in rows["run_id"].unique()]
        main = next((m for m in mains if m in set(rows["metric"])), rows["metric"].iloc[0])
        splits = sorted(set(rows.loc[rows["metric"] == main, "split"]),
                        key=lambda s: (SPLIT_ORDER.index(s) if s in SPLIT_ORDER else len(SPLIT_ORDER), s))
        out[task] = (splits[0], main)
    return out


def _empty(fig, text: str):
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=12)
    return fig


def _grid(count: int, width: float = 4.2, height: float = 3.2):
    cols = min(4, max(1, count))
    rows = max(1, -(-count // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def scores_figure(results: Results, intervals: pd.DataFrame | None = None):
    stats = aggregate(results, "median", "best", intervals)
    mains = main_metrics(results)
    models = model_order(stats.index.get_level_values("model"))[:MAX_MODELS]
    fig, axes = _grid(len(mains))
    if not mains or not models:
        return _empty(fig, "no scored runs in the results folder")
    colors = {m: f"C{i % 10}" for i, m in enumerate(models)}
    for ax, (task, (split, metric)) in zip(axes, mains.items()):
        shown = [m for m in models if (m, task, split, metric) in stats.index]
        rows = [stats.loc[(m, task, split, metric)] for m in shown]
        values = np.array([r["value"] for r in rows])
        lo = np.array([r["lo"] for r in rows], dtype=float)
        hi = np.array([r["hi"] for r in rows], dtype=float)
        err = np.vstack([np.nan_to_num(np.maximum(0.0, values - lo)), np.nan_to_num(np.maximum(0.0, hi - values))])
        ax.bar(range(len(shown)), values, yerr=err, capsize=3, color=[colors[m] for m in shown])
        ax.set_xticks(range(len(shown)), [str(m)[:16] for m in shown], rotation=30, ha="right", fontsize=7)
        ax.set_title(f"{task}: {metric} ({split})", fontsize=10)
        ax.set_ylabel("score (%)")
        if len(values):
            top = float(np.nanmax(np.where(np.isfinite(hi), hi, values)))
            bottom = float(np.nanmin(np.where(np.isfinite(lo), lo, values)))
            ax.set_ylim(max(0.0, bottom - 0.15 * (top - bottom + 1)), top + 0.1 * (top - bottom + 1))
        ax.grid(axis="y", alpha=0.3)
    what = "95% bootstrap interval over examples" if intervals is not None and not intervals.empty else "no intervals"
    fig.suptitle(f"Score per task and model (main metric, median over seeds; bars: {what}; y axis not from 0)")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def params_figure(results: Results):
    stats = aggregate(results, "median", "best").reset_index()
    mains = main_metrics(results)
    fig, axes = _grid(len(mains))
    if not mains:
        return _empty(fig, "no scored runs in the results folder")
    runs = results.runs
    params = runs.groupby("model")["num_parameters"].median()
    version = runs.groupby("model")["version"].first()
    for ax, (task, (split, metric)) in zip(axes, mains.items()):
        rows = stats[(stats["task"] == task) & (stats["split"] == split) & (stats["metric"] == metric)].copy()
        rows["params"] = rows["model"].map(params)
        rows["version"] = rows["model"].map(version)
        rows = rows.dropna(subset=["params"]).sort_values("params")
        for v, style in (("v1", "o-"), ("v2", "s-")):
            part = rows[rows["version"] == v]
            if len(part):
                ax.plot(part["params"], part["value"], style, label=f"ALBERT {v}")
        other = rows[~rows["version"].isin(["v1", "v2"])]
        if len(other):
            ax.plot(other["params"], other["value"], "x", color="grey", label="other models")
            for r in other.itertuples():
                ax.annotate(str(r.model)[:24], (r.params, r.value), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ticks = sorted(set(rows["params"]))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        if ticks:
            ax.set_xticks(ticks, [f"{t / 1e6:.0f}M" if t >= 1e6 else f"{t:.0f}" for t in ticks], fontsize=7)
        ax.set_title(f"{task}: {metric} ({split})", fontsize=10)
        ax.set_xlabel("parameters (log scale)")
        ax.set_ylabel("score (%)")
        ax.grid(alpha=0.3, which="both")
        if len(rows):
            ax.legend(fontsize=7)
    fig.suptitle("Score against parameter count (median over seeds)")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def seeds_figure(results: Results):
    mains = main_metrics(results)
    fig, axes = _grid(len(mains))
    if not mains:
        return _empty(fig, "no scored runs in the results folder")
    frame = results.frame[(results.frame["checkpoint"] == "best")]
    rng = np.random.default_rng(0)       # jitter only
    for ax, (task, (split, metric)) in zip(axes, mains.items()):
        rows = frame[(frame["task"] == task) & (frame["split"] == split) & (frame["metric"] == metric)]
        models = model_order(rows["model"])[:MAX_MODELS]
        for i, model in enumerate(models):
            values = rows.loc[rows["model"] == model, "score"].dropna().to_numpy()
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(values)), values, s=14, alpha=0.7)
            if len(values):
                ax.hlines(np.median(values), i - 0.3, i + 0.3, color="black", lw=1.5)
        ax.set_xticks(range(len(models)), [str(m)[:16] for m in models], rotation=30, ha="right", fontsize=7)
        ax.set_title(f"{task}: {metric} ({split})", fontsize=10)
        ax.set_ylabel("score (%)")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Seed spread: one dot per run, line = median")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def _read_log(record: dict) -> list[dict]:
    if not record.get("log"):
        return []
    path = Path(record["path"]).parent / record["log"]
    try:
        return read_jsonl(path) if path.is_file() else []
    except (ValueError, OSError):
        return []


def _smooth(values: np.ndarray) -> np.ndarray:
    window = max(1, len(values) // 50)
    return np.convolve(values, np.ones(window) / window, mode="valid") if window > 1 else values


def curves_figure(results: Results):
    mains = main_metrics(results)
    logged = [(r, _read_log(results.records[r.run_id])) for r in results.runs.itertuples()
              if r.kind == "finetune" and r.task in mains]
    logged = [(r, log) for r, log in logged if log]
    tasks = sorted({r.task for r, _ in logged})
    cols = min(4, max(1, len(tasks)))
    blocks = max(1, -(-len(tasks) // cols))
    fig, axes = plt.subplots(2 * blocks, cols, figsize=(4.4 * cols, 6.0 * blocks), squeeze=False)
    for index in range(len(tasks), blocks * cols):          # unused cells of the last block
        axes[2 * (index // cols)][index % cols].set_visible(False)
        axes[2 * (index // cols) + 1][index % cols].set_visible(False)
    if not tasks:
        return _empty(fig, "no training step logs in the results folder")
    for index, task in enumerate(tasks):
        split, metric = mains[task]
        runs = [(r, log) for r, log in logged if r.task == task]
        block, col = divmod(index, cols)
        top, bottom = axes[2 * block][col], axes[2 * block + 1][col]
        for r, log in runs:
            label = f"{r.model} seed {r.seed}"
            steps = np.array([e["step"] for e in log if "loss" in e])
            loss = np.array([e["loss"] for e in log if "loss" in e], dtype=float)
            smooth = _smooth(loss)
            top.plot(steps[len(steps) - len(smooth):], smooth, lw=1, label=label)
            evals = [(e["step"], (e.get("eval") or {}).get(split, {}).get(metric)) for e in log if e.get("eval")]
            evals = [(s, v) for s, v in evals if v is not None]
            if evals:
                scale = 1.0 if task.startswith("squad") else 100.0
                bottom.plot([s for s, _ in evals], [scale * v for _, v in evals], "o-", ms=3, lw=1, label=label)
        top.set_title(f"{task}: training loss ({len(runs)} run(s))", fontsize=10)
        top.set_xlabel("step")
        top.set_ylabel("loss (running mean)")
        bottom.set_title(f"{task}: {metric} on {split}", fontsize=10)
        bottom.set_xlabel("step")
        bottom.set_ylabel("score (%)")
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
        if len(runs) <= MAX_LEGEND_RUNS:
            top.legend(fontsize=7)
    fig.suptitle("Training curves from the step logs")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def figures(results: Results, intervals: pd.DataFrame | None = None) -> dict:
    """name -> matplotlib Figure, for every figure in NAMES (caller closes them)."""
    return {"scores": scores_figure(results, intervals), "params": params_figure(results),
            "seeds": seeds_figure(results), "curves": curves_figure(results)}


def figure_bytes(fig, fmt: str, dpi: int = 110, **savefig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, **savefig)
    return buffer.getvalue()


def save_figure(fig, stem: str | Path, dpi: int = 110, **savefig) -> list[Path]:
    """STEM.png and STEM.svg, each written atomically; the figure is closed. (The bias plots use it too.)"""
    stem = Path(stem)
    try:
        paths = []
        for fmt in ("png", "svg"):
            data = figure_bytes(fig, fmt, dpi, **savefig)
            paths.append(atomic_write(stem.with_name(f"{stem.name}.{fmt}"), lambda tmp, d=data: Path(tmp).write_bytes(d)))
        return paths
    finally:
        plt.close(fig)


def write_plots(results: Results, out_dir, intervals: pd.DataFrame | None = None) -> list[Path]:
    """Write every figure as PNG and SVG into out_dir (atomically); returns the paths."""
    return [path for name, fig in figures(results, intervals).items()
            for path in save_figure(fig, Path(out_dir) / name)]
