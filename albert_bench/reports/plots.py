"""Figures from a Results, PNG and SVG, with matplotlib's headless Agg backend.

    from albert_bench.reports import load_results
    from albert_bench.reports.plots import write_plots
    write_plots(load_results("results"), "reports/plots")   # scores, params, seeds, curves (.png, .svg)

scores  score per task and model (the main metric): points, bars = 95% bootstrap interval when given
params  score against parameter count (millions, log axis), one marker per model named in the legend
seeds   every run's score per task and model (seed spread), the median marked
curves  training loss and the dev metric against step, from the step logs
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import matplotlib.lines
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from albert_bench.io import atomic_write  # noqa: E402
from albert_bench.records import read_jsonl  # noqa: E402
from albert_bench.reports.frame import Results  # noqa: E402
from albert_bench.reports.tables import aggregate, main_metrics, model_order  # noqa: E402,F401

NAMES = ("scores", "params", "seeds", "curves", "sweep")   # "sweep" only when the records hold one
MAX_MODELS = 12          # bars per task group; more would be unreadable
MAX_LEGEND_RUNS = 8      # training curves: a legend only up to this many runs per task
SIGNED_METRICS = {"matthews_correlation", "pearson", "spearmanr"}   # scores that run from -100 to 100
MIN_SPAN = 5.0           # points: the least height of a score axis


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


def percent_limits(ax, values, metric: str) -> None:
    """A score axis: the data with a margin, at least 5 points tall, never past 100 (nor below 0, or -100
    for a correlation). Points on the edge stay whole (the callers draw them with clip_on=False)."""
    floor = -100.0 if metric in SIGNED_METRICS else 0.0
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    if not finite:
        ax.set_ylim(floor, 100.0)
        return
    lo, hi = min(finite), max(finite)
    pad = max(1.0, 0.1 * (hi - lo))
    top, bottom = min(100.0, hi + pad), max(floor, lo - pad)
    if top - bottom < MIN_SPAN:
        bottom = max(floor, top - MIN_SPAN)
        top = min(100.0, bottom + MIN_SPAN)
    ax.set_ylim(bottom, top)


def _model_styles(models: list[str]) -> dict[str, dict]:
    markers = "osD^vP*Xh<>p"
    return {m: {"color": f"C{i % 10}", "marker": markers[i % len(markers)]} for i, m in enumerate(models)}


def _figure_legend(fig, styles: dict[str, dict], models: list[str]) -> float:
    """One legend for the figure, the model names, under the panels; returns the room it takes."""
    handles = [matplotlib.lines.Line2D([], [], linestyle="none", markersize=6, **styles[m]) for m in models]
    cols = min(6, max(1, len(models)))
    fig.legend(handles, [str(m)[:40] for m in models], loc="lower center", ncol=cols, fontsize=8, frameon=False)
    return 0.04 + 0.035 * -(-len(models) // cols)


def scores_figure(results: Results, intervals: pd.DataFrame | None = None):
    stats = aggregate(results, "median", "best", intervals)
    mains = main_metrics(results)
    models = model_order(stats.index.get_level_values("model"))[:MAX_MODELS]
    fig, axes = _grid(len(mains))
    if not mains or not models:
        return _empty(fig, "no scored runs in the results folder")
    styles = _model_styles(models)
    for ax, (task, (split, metric)) in zip(axes, mains.items()):
        shown = [m for m in models if (m, task, split, metric) in stats.index]
        rows = [stats.loc[(m, task, split, metric)] for m in shown]
        for i, (model, r) in enumerate(zip(shown, rows)):
            value = float(r["value"])
            lo, hi = float(r["lo"]), float(r["hi"])
            err = [[max(0.0, value - lo)], [max(0.0, hi - value)]] if np.isfinite(lo) and np.isfinite(hi) else None
            ax.errorbar([i], [value], yerr=err, fmt=styles[model]["marker"], color=styles[model]["color"],
                        capsize=4, markersize=7, clip_on=False, zorder=3)
        ax.set_xticks(range(len(shown)), [str(m)[:16] for m in shown], rotation=30, ha="right", fontsize=7)
        ax.set_xlim(-0.6, len(shown) - 0.4)
        ax.set_title(f"{task}: {metric} ({split})", fontsize=10)
        ax.set_ylabel("score (%)")
        percent_limits(ax, [v for r in rows for v in (r["value"], r["lo"], r["hi"])], metric)
        ax.grid(axis="y", alpha=0.3)
    what = "bars: 95% bootstrap interval over examples" if intervals is not None and not intervals.empty \
        else "no intervals (no per-example predictions read)"
    fig.suptitle(f"Score per task and model (main metric, median over seeds; {what})")
    fig.tight_layout(rect=(0, _figure_legend(fig, styles, models), 1, 0.96))
    return fig


def params_figure(results: Results, intervals: pd.DataFrame | None = None):
    stats = aggregate(results, "median", "best", intervals).reset_index()
    mains = main_metrics(results)
    fig, axes = _grid(len(mains))
    if not mains:
        return _empty(fig, "no scored runs in the results folder")
    runs = results.runs
    params = runs.groupby("model")["num_parameters"].median() / 1e6
    version = runs.groupby("model")["version"].first()
    models = [m for m in model_order(stats["model"]) if m in params.index and pd.notna(params[m])][:MAX_MODELS]
    styles = _model_styles(models)
    for ax, (task, (split, metric)) in zip(axes, mains.items()):
        rows = stats[(stats["task"] == task) & (stats["split"] == split) & (stats["metric"] == metric)
                     & stats["model"].isin(models)].copy()
        rows["params"] = rows["model"].map(params)
        rows["version"] = rows["model"].map(version)
        rows = rows.sort_values("params")
        for v in ("v1", "v2"):                    # a preset family as a thin line through its sizes
            part = rows[rows["version"] == v]
            if len(part) > 1:
                ax.plot(part["params"], part["value"], "-", color="grey", lw=0.8, zorder=1)
        for r in rows.itertuples():
            err = [[max(0.0, r.value - r.lo)], [max(0.0, r.hi - r.value)]] \
                if np.isfinite(r.lo) and np.isfinite(r.hi) else None
            ax.errorbar([r.params], [r.value], yerr=err, fmt=styles[r.model]["marker"], color=styles[r.model]["color"],
                        capsize=3, markersize=7, clip_on=False, zorder=3)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ticks = sorted(set(rows["params"]))
        if ticks:
            ax.set_xticks(ticks, [f"{t:.3g}M" for t in ticks], fontsize=7)
            ax.set_xlim(min(ticks) / 2, max(ticks) * 2)
        ax.set_title(f"{task}: {metric} ({split})", fontsize=10)
        ax.set_xlabel("parameters (millions, log scale)")
        ax.set_ylabel("score (%)")
        percent_limits(ax, list(rows["value"]) + list(rows["lo"]) + list(rows["hi"]), metric)
        ax.grid(alpha=0.3, which="both")
    fig.suptitle("Score against parameter count (median over seeds; grey lines join ALBERT v1 / v2 sizes)")
    fig.tight_layout(rect=(0, _figure_legend(fig, styles, models), 1, 0.96))
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
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(values)), values, s=14, alpha=0.7, clip_on=False)
            if len(values):
                ax.hlines(np.median(values), i - 0.3, i + 0.3, color="black", lw=1.5)
        ax.set_xticks(range(len(models)), [str(m)[:16] for m in models], rotation=30, ha="right", fontsize=7)
        ax.set_title(f"{task}: {metric} ({split})", fontsize=10)
        ax.set_ylabel("score (%)")
        percent_limits(ax, list(rows.loc[rows["model"].isin(models), "score"]), metric)
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
        shown: list[float] = []
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
                bottom.plot([s for s, _ in evals], [scale * v for _, v in evals], "o-", ms=3, lw=1, label=label,
                            clip_on=False)
                shown += [scale * v for _, v in evals]
        top.set_title(f"{task}: training loss ({len(runs)} run(s))", fontsize=10)
        top.set_xlabel("step")
        top.set_ylabel("loss (running mean)")
        bottom.set_title(f"{task}: {metric} on {split}", fontsize=10)
        bottom.set_xlabel("step")
        bottom.set_ylabel("score (%)")
        percent_limits(bottom, shown, metric)
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
        if len(runs) <= MAX_LEGEND_RUNS:
            top.legend(fontsize=7)
    fig.suptitle("Training curves from the step logs")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def sweep_figure(results: Results):
    """Per task of a sweep (suite --sweep): the dev main metric against the swept setting (lr when it
    is swept, else the first numeric key that varies), a line per model and setting of the other swept
    keys; points are medians over seeds, bars span the seeds' min to max. None without a sweep."""
    from albert_bench.reports.sweep import swept
    found = swept(results)
    mains = main_metrics(results)
    lines: dict[str, list] = {}   # task -> [(label, x key, {x: [scores]})]
    frame = results.frame[(results.frame["checkpoint"] == "best") & results.frame["score"].notna()]
    for (model, task), (varying, recipes) in found.items():
        numeric = [k for k in varying if all(isinstance(r.get(k), (int, float)) for r in recipes.values())]
        if task not in mains or not numeric:
            continue
        x_key = "lr" if "lr" in numeric else numeric[0]
        split, metric = mains[task]
        groups: dict[str, dict] = {}
        for run_id, recipe in recipes.items():
            rest = ",".join(f"{k}={recipe.get(k)}" for k in varying if k != x_key)
            scores = frame[(frame["run_id"] == run_id) & (frame["split"] == split) & (frame["metric"] == metric)]
            groups.setdefault(f"{model}" + (f" [{rest}]" if rest else ""), {}).setdefault(
                recipe[x_key], []).extend(scores["score"])
        lines.setdefault(task, []).extend((label, x_key, points) for label, points in groups.items())
    if not lines:
        return None
    fig, axes = _grid(len(lines))
    for ax, (task, task_lines) in zip(axes, lines.items()):
        split, metric = mains[task]
        shown = []
        for label, x_key, points in task_lines:
            xs = sorted(x for x in points if points[x])
            med = np.array([np.median(points[x]) for x in xs])
            low = med - np.array([min(points[x]) for x in xs])
            high = np.array([max(points[x]) for x in xs]) - med
            ax.errorbar(xs, med, yerr=[low, high], marker="o", capsize=3, label=label)
            shown += [v for x in xs for v in points[x]]
        if len({x for _, _, p in task_lines for x in p}) > 1 and min(x for _, _, p in task_lines for x in p) > 0:
            ax.set_xscale("log")
        ax.set_xlabel(task_lines[0][1])
        ax.set_ylabel("score (%)")
        ax.set_title(f"{task}: {metric} ({split})", fontsize=10)
        percent_limits(ax, shown, metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Sweep: median over seeds, bars min to max", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def figures(results: Results, intervals: pd.DataFrame | None = None) -> dict:
    """name -> matplotlib Figure, for every figure in NAMES (caller closes them); "sweep" only when the
    records hold a sweep, whose other figures show each (model, task)'s best dev-median setting, as
    the tables do (reports/sweep.py)."""
    from albert_bench.reports.sweep import select
    chosen = select(results)[0]
    out = {"scores": scores_figure(chosen, intervals), "params": params_figure(chosen, intervals),
           "seeds": seeds_figure(chosen), "curves": curves_figure(chosen)}
    sweep = sweep_figure(results)
    if sweep is not None:
        out["sweep"] = sweep
    return out


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
