"""Tables from a Results: the model card's, GLUE dev, a leaderboard, the run list.

    from albert_bench.reports import load_results
    from albert_bench.reports.tables import model_card_table, render
    print(render(model_card_table(load_results("results")), "md"))

Every table is a DataFrame of display strings (index = model label) with `attrs["title"]`
and `attrs["notes"]` (the footer: the rule, the aggregation, the checkpoint); `render` turns
it into md / csv / latex / html / json. Numbers are percentage points, one decimal, rounded
half up as the model card rounds. Several runs of one model and task (seeds) aggregate as
the median by default (the paper's protocol).
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from albert_bench.reports.frame import NOT_SCORES, SIZES, VERSIONS, Results, label_for, score_of
from albert_bench.reports.reference import MODEL_CARD, SOURCE
from albert_bench.reports.render import render  # noqa: F401  (part of this module's API)

MISSING = "–"
MARK = "†"
AGGREGATES = ("median", "mean", "max")
SPLIT_ORDER = ("dev", "dev_matched", "test")     # the split that stands for a task, first found
# Model card columns: (name, task, metrics shown as "a/b", split preference).
CARD_COLUMNS = (("SQuAD1.1", "squad_v1", ("f1", "exact_match"), ("dev",)),
                ("SQuAD2.0", "squad_v2", ("f1", "exact"), ("dev",)),
                ("MNLI", "mnli", ("accuracy",), ("dev_matched",)),
                ("SST-2", "sst2", ("accuracy",), ("dev",)),
                ("RACE", "race", ("accuracy",), ("test", "dev")))
# GLUE dev columns: (name, task, metrics, split preference).
GLUE_COLUMNS = (("CoLA", "cola", ("matthews_correlation",), ("dev",)),
                ("SST-2", "sst2", ("accuracy",), ("dev",)),
                ("MRPC", "mrpc", ("f1", "accuracy"), ("dev",)),
                ("STS-B", "stsb", ("pearson", "spearmanr"), ("dev",)),
                ("QQP", "qqp", ("f1", "accuracy"), ("dev",)),
                ("MNLI-m", "mnli", ("accuracy",), ("dev_matched",)),
                ("MNLI-mm", "mnli", ("accuracy",), ("dev_mismatched",)),
                ("QNLI", "qnli", ("accuracy",), ("dev",)),
                ("RTE", "rte", ("accuracy",), ("dev",)),
                ("WNLI", "wnli", ("accuracy",), ("dev",)))
GLUE_TASKS = ("cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli")
CARD_RULE = ("Average = mean of SQuAD1.1 (F1+EM)/2, SQuAD2.0 (F1+EM)/2, MNLI, SST-2 and RACE as shown, "
             "rounded half up; missing when any part is missing.")
CARD_SPLITS = "Splits: SQuAD dev, MNLI dev_matched, SST-2 dev, RACE test where a run has it, else dev (the card's RACE is test)."
GLUE_RULE = ("GLUE = mean over the nine tasks of each task's metrics averaged (MRPC, QQP: F1 and accuracy; "
             "STS-B: Pearson and Spearman; MNLI: m and mm); 'no WNLI' = the same over eight tasks, as the BERT "
             "and ALBERT papers report.")


def round1(x: float | None) -> float | None:
    """Half up to one decimal (82.34 -> 82.3, 82.35 -> 82.4), immune to binary float noise."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return float(Decimal(repr(round(float(x), 9))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def fmt(x: float | None, signed: bool = False) -> str:
    r = round1(x)
    if r is None:
        return MISSING
    r = r + 0.0                      # -0.0 -> 0.0: no "-0.0" cells
    return f"{r:+.1f}" if signed else f"{r:.1f}"


def model_order(models) -> list[str]:
    """V2 base..xxlarge, V1 base..xxlarge (the card's order), then any other model by name."""
    card = [label_for(v, s) for v in VERSIONS for s in SIZES]
    present = list(dict.fromkeys(models))
    return [m for m in card if m in present] + sorted(m for m in present if m not in card)


# ---------------------------------------------------------------- aggregation over seeds

def aggregate(results: Results, agg: str = "median", checkpoint: str = "best",
              intervals: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (model, task, split, metric): `value` (the aggregate of the runs' scores), mean,
    std, n, and where `intervals` (bootstrap.intervals) is given, lo/hi: the aggregate shifted by the
    runs' mean bootstrap half-widths (example sampling, not seed spread)."""
    if agg not in AGGREGATES:
        raise ValueError(f"--agg {agg!r}: choose one of {', '.join(AGGREGATES)}")
    if checkpoint not in ("best", "last"):
        raise ValueError(f"--checkpoint {checkpoint!r}: choose best or last")
    frame = results.frame[(results.frame["checkpoint"] == checkpoint) & results.frame["score"].notna()]
    keys = ["model", "task", "split", "metric"]
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "value", "mean", "std", "n", "lo", "hi"]).set_index(keys)
    if intervals is not None and not intervals.empty:
        frame = frame.merge(intervals[["run_id", "checkpoint", "split", "metric", "point", "low", "high"]],
                            on=["run_id", "checkpoint", "split", "metric"], how="left")
        # half-widths around the bootstrap's own point (the metric recomputed from the predictions)
        frame["down"], frame["up"] = frame["point"] - frame["low"], frame["high"] - frame["point"]
    grouped = frame.groupby(keys)["score"]
    out = pd.DataFrame({"value": getattr(grouped, agg)(), "mean": grouped.mean(), "std": grouped.std(ddof=1),
                        "n": grouped.size()})
    if "down" in frame:
        widths = frame.groupby(keys)[["down", "up"]].mean()
        out["lo"], out["hi"] = out["value"] - widths["down"], out["value"] + widths["up"]
    else:
        out["lo"], out["hi"] = float("nan"), float("nan")
    return out


def _pick(stats: pd.DataFrame, model: str, task: str, metric: str, splits: tuple[str, ...]) -> pd.Series | None:
    for split in splits:
        key = (model, task, split, metric)
        if key in stats.index:
            row = stats.loc[key].copy()
            row.name = key                      # (model, task, split, metric): which split was picked
            return None if pd.isna(row["value"]) else row
    return None


def _cell(rows: list[pd.Series | None], show_spread: bool, ci: str | None) -> str:
    """'84.6', '90.2/83.2', with '±0.3 (n=3)' seed spread and/or a bootstrap interval."""
    if any(r is None for r in rows):
        return MISSING
    text = "/".join(fmt(r["value"]) for r in rows)
    if ci and not any(pd.isna(r["lo"]) for r in rows):
        if ci == "bracket":
            text += " " + "/".join(f"[{fmt(r['lo'])}, {fmt(r['hi'])}]" for r in rows)
        else:
            text += " ±" + "/".join(fmt((r["hi"] - r["lo"]) / 2) for r in rows)
    if show_spread:
        n = int(rows[0]["n"])
        spread = "/".join(fmt(0.0 if n < 2 else r["std"]) for r in rows)
        text += f" (sd {spread}, n={n})"
    return text


def _notes(results: Results, agg: str, checkpoint: str, show_spread: bool, ci: str | None) -> list[str]:
    notes = [f"Scores in percent; several runs of a model and task: the {agg} over runs (seeds); "
             f"metrics of the {checkpoint} checkpoint."]
    if show_spread:
        notes.append("sd = standard deviation over seeds (run-to-run spread), n = number of runs.")
    if ci:
        notes.append("± / [lo, hi]: bootstrap 95% interval over the dev examples (example sampling, not seed "
                     "spread); with several runs, the runs' mean half-widths around the aggregate.")
    notes.append(results.footer())
    return notes


# ---------------------------------------------------------------- numbers for programs

DATA_KEYS = ("model", "column", "task", "split", "metric", "value", "ci_low", "ci_high", "sd", "n", "reference",
             "delta")


def _num(x) -> float | None:
    """A float for json / csv (None where missing), rounded off float noise, not to the display's digit."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x):
        return None
    return round(float(x), 4)


def _datum(model: str, column: str, row: pd.Series | None, metric: str, task: str | None = None,
           value: float | None = None, reference: float | None = None, **extra) -> dict:
    """One (model, column, metric) number with its interval, seed spread and published number."""
    if row is not None:
        _, task, split, _ = row.name
        value, lo, hi = row["value"], row["lo"], row["hi"]
        n = int(row["n"])
        sd = row["std"] if n >= 2 else None
    else:
        split, lo, hi, sd, n = None, None, None, None, None
    delta = None if value is None or reference is None or pd.isna(value) else float(value) - reference
    return {"model": model, "column": column, "task": task, "split": split, "metric": metric, "value": _num(value),
            "ci_low": _num(lo), "ci_high": _num(hi), "sd": _num(sd), "n": n, "reference": _num(reference),
            "delta": _num(delta), **extra}


# ---------------------------------------------------------------- published numbers

def published_rows(results: Results, models) -> dict[str, str | None]:
    """model row -> the published row it is compared with: its own name when that is a published row,
    else the preset its architecture equals (so a renamed or differently named copy of albert-base-v2
    still finds "V2 base"); None where neither holds (or v1/v2 cannot be told apart)."""
    runs = results.runs
    out = {}
    for model in models:
        if model in MODEL_CARD:
            out[model] = model
            continue
        mine = runs[runs["model"] == model] if not runs.empty else runs
        pairs = {(v, s) for v, s in zip(mine["version"], mine["size"]) if isinstance(s, str)}
        labels = {label_for(v, s) if isinstance(v, str) else None for v, s in pairs}
        out[model] = labels.pop() if len(labels) == 1 else None
    return out


def _no_reference_note(results: Results, unmatched: list[str]) -> str:
    runs = results.runs
    why = []
    for model in unmatched:
        sizes = set(runs.loc[runs["model"] == model, "size"].dropna()) if not runs.empty else set()
        why.append(f"{model} ({'an ALBERT ' + sizes.pop() + ' whose v1/v2 the records do not tell' if sizes else 'its architecture is no ALBERT preset'})")
    return (f"No published row for {', '.join(why)}. Published rows: {', '.join(MODEL_CARD)}; compare a row with "
            f"one by renaming it, e.g. --rename {unmatched[0]}=\"V2 base\".")


# ---------------------------------------------------------------- the tables

def card_values(stats: pd.DataFrame, model: str | None) -> tuple[dict, dict, float | None]:
    """A model's card columns: (picked rows, shown values rounded to one decimal, the Average by
    CARD_RULE or None). model None: every column missing (a published row with no run of ours)."""
    picked = {name: [None if model is None else _pick(stats, model, task, m, splits) for m in metrics]
              for name, task, metrics, splits in CARD_COLUMNS}
    shown = {name: [None if r is None else round1(r["value"]) for r in rows] for name, rows in picked.items()}
    parts = [sum(vals) / len(vals) for vals in shown.values() if None not in vals]
    average = sum(parts) / len(parts) if len(parts) == len(CARD_COLUMNS) else None
    return picked, shown, average


def model_card_table(results: Results, agg: str = "median", checkpoint: str = "best", show_spread: bool = False,
                     reference: bool = False, tolerance: float = 1.0, intervals: pd.DataFrame | None = None,
                     ci: str | None = None) -> pd.DataFrame:
    """The model card's table: Average, SQuAD1.1 F1/EM, SQuAD2.0 F1/EM, MNLI, SST-2, RACE.
    reference=True adds the published number and our difference beside each column, marked
    with † where it is more than `tolerance` points away; a model without a published row
    (see published_rows) is a note, and no model with one a ValueError listing the rows."""
    stats = aggregate(results, agg, checkpoint, intervals)
    models = model_order(stats.index.get_level_values("model"))
    matched = published_rows(results, models) if reference else {}
    if reference and models and not any(matched.values()):
        raise ValueError("--reference: " + _no_reference_note(results, models))
    table, data = {}, []
    for model in models:
        picked, shown, average = card_values(stats, model)
        published = MODEL_CARD.get(matched.get(model), {})
        row = {"Average": fmt(average)}
        data.append(_datum(model, "Average", None, "average", value=average, reference=published.get("Average")))
        for (name, task, metrics, splits), rows in zip(CARD_COLUMNS, picked.values()):
            row[name] = _cell(rows, show_spread, ci)
            paper = published.get(name)
            paper = list(paper) if isinstance(paper, tuple) else [paper] * len(metrics)
            for metric, r, p in zip(metrics, rows, paper):
                data.append(_datum(model, name, r, metric, task=task, reference=p,
                                   **({"reference_split": "test"} if task == "race" else {})))
        if reference:
            row = _with_reference(row, published, average, shown, tolerance, _race_split(picked["RACE"]))
        table[model] = row
    columns = ["Average"] + [c[0] for c in CARD_COLUMNS]
    if reference:
        columns = [x for c in columns for x in (c, f"{c} (paper)", f"Δ {c}")]
    out = pd.DataFrame.from_dict(table, orient="index", columns=columns)
    out.index.name = "model"
    out.attrs["title"] = "Model card table (dev; SQuAD cells F1/EM)"
    notes = [CARD_RULE, CARD_SPLITS] + _notes(results, agg, checkpoint, show_spread, ci)
    if reference:
        compared = [f"{m} with {p}" for m, p in matched.items() if p and p != m]
        notes.insert(1, f"(paper) = published number; Δ = ours − published; {MARK} = more than {tolerance:g} "
                        f"point(s) away. The published RACE is test accuracy: a RACE cell of ours marked (dev) "
                        f"is dev accuracy, so its Δ is dev − test. Sources: {SOURCE}."
                     + (f" Compared by architecture: {', '.join(compared)}." if compared else ""))
        unmatched = [m for m, p in matched.items() if not p]
        if unmatched:
            notes.insert(2, _no_reference_note(results, unmatched))
    out.attrs["notes"] = notes
    out.attrs["data"] = data
    return out


def _race_split(rows: list[pd.Series | None]) -> str | None:
    return rows[0].name[2] if rows and rows[0] is not None else None


def _with_reference(row: dict, published: dict, average: float | None, shown: dict, tolerance: float,
                    race_split: str | None) -> dict:
    ours = {"Average": [round1(average)], **shown}
    out = {}
    for name, cell in row.items():
        paper = published.get(name)
        paper = list(paper) if isinstance(paper, tuple) else ([paper] if paper is not None else None)
        race_dev = name == "RACE" and race_split is not None and race_split != "test"
        out[name] = cell + (f" ({race_split})" if race_dev else "")
        out[f"{name} (paper)"] = ("/".join(f"{p:.1f}" for p in paper) + (" (test)" if name == "RACE" else "")
                                  if paper else MISSING)
        if paper and None not in ours[name]:
            deltas = [round1(o - p) for o, p in zip(ours[name], paper)]
            far = any(abs(d) > tolerance + 1e-9 for d in deltas)
            out[f"Δ {name}"] = ("/".join(fmt(d, signed=True) for d in deltas) + (f" {MARK}" if far else "")
                                + (f" ({race_split} − test)" if race_dev else ""))
        else:
            out[f"Δ {name}"] = MISSING
    return out


def glue_scores(stats: pd.DataFrame, model: str) -> dict[str, float | None]:
    """Each GLUE task's score (its metrics averaged; MNLI's m and mm averaged), unrounded."""
    out = {}
    for task in GLUE_TASKS:
        values = []
        for _, col_task, metrics, splits in GLUE_COLUMNS:
            if col_task == task:
                values += [_pick(stats, model, task, m, splits) for m in metrics]
        out[task] = None if not values or any(v is None for v in values) else \
            sum(float(v["value"]) for v in values) / len(values)
    return out


def glue_average(scores: dict[str, float | None], with_wnli: bool = True) -> float | None:
    tasks = [t for t in GLUE_TASKS if with_wnli or t != "wnli"]
    if any(scores.get(t) is None for t in tasks):
        return None
    return sum(scores[t] for t in tasks) / len(tasks)


def glue_table(results: Results, agg: str = "median", checkpoint: str = "best", show_spread: bool = False,
               intervals: pd.DataFrame | None = None, ci: str | None = None) -> pd.DataFrame:
    """GLUE dev: CoLA MCC, SST-2, MRPC F1/acc, STS-B Pearson/Spearman, QQP F1/acc, MNLI-m/mm, QNLI,
    RTE, WNLI, the GLUE score and the score without WNLI."""
    stats = aggregate(results, agg, checkpoint, intervals)
    models = model_order(stats.index.get_level_values("model"))
    table, data = {}, []
    for model in models:
        row = {}
        for name, task, metrics, splits in GLUE_COLUMNS:
            picked = [_pick(stats, model, task, m, splits) for m in metrics]
            row[name] = _cell(picked, show_spread, ci)
            data += [_datum(model, name, r, m, task=task) for m, r in zip(metrics, picked)]
        scores = glue_scores(stats, model)
        for name, with_wnli in (("GLUE", True), ("GLUE (no WNLI)", False)):
            row[name] = fmt(glue_average(scores, with_wnli))
            data.append(_datum(model, name, None, "glue" if with_wnli else "glue_no_wnli",
                               value=glue_average(scores, with_wnli)))
        table[model] = row
    columns = [c[0] for c in GLUE_COLUMNS] + ["GLUE", "GLUE (no WNLI)"]
    out = pd.DataFrame.from_dict(table, orient="index", columns=columns)
    out.index.name = "model"
    out.attrs["title"] = "GLUE dev (CoLA MCC; MRPC, QQP F1/acc; STS-B Pearson/Spearman; others accuracy)"
    out.attrs["notes"] = [GLUE_RULE] + _notes(results, agg, checkpoint, show_spread, ci)
    out.attrs["data"] = data
    return out


def main_metrics(results: Results) -> dict[str, tuple[str, str]]:
    """task -> (split, metric) that stands for the task: the records' main metric on the first dev split."""
    out = {}
    frame = results.frame[results.frame["score"].notna() & ~results.frame["metric"].isin(NOT_SCORES)]
    for task, rows in frame.groupby("task", sort=True):
        mains = [results.records[r].get("main_metric") for r in rows["run_id"].unique()]
        main = next((m for m in mains if m in set(rows["metric"])), rows["metric"].iloc[0])
        splits = sorted(set(rows.loc[rows["metric"] == main, "split"]),
                        key=lambda s: (SPLIT_ORDER.index(s) if s in SPLIT_ORDER else len(SPLIT_ORDER), s))
        out[task] = (splits[0], main)
    return out


def runs_table(results: Results, checkpoint: str = "best", intervals: pd.DataFrame | None = None,
               ci: str | None = None) -> pd.DataFrame:
    """One line per run: the audit trail (task, model, seed, steps, best step, wall time, the checkpoint's
    metrics as recorded); with `intervals` and `ci`, the bootstrap interval of the run's main metric."""
    if checkpoint not in ("best", "last"):
        raise ValueError(f"--checkpoint {checkpoint!r}: choose best or last")
    mains = main_metrics(results)
    spans = intervals.set_index(["run_id", "checkpoint", "split", "metric"]) \
        if intervals is not None and not intervals.empty else None
    interval_column = f"main metric, 95% interval ({checkpoint})"
    metrics_column = f"{checkpoint}-checkpoint metrics (raw)"
    table, data = {}, []
    for run in results.runs.sort_values(["task", "model", "created_at"], na_position="last").itertuples():
        record = results.records[run.run_id]
        metrics = []
        for split, values in ((record.get("metrics") or {}).get(checkpoint) or {}).items():
            values = {m: v for m, v in (values or {}).items() if isinstance(v, (int, float))}
            metrics.append(f"{split}: " + ", ".join(f"{m} {v:.4g}" for m, v in values.items()))
            for m, v in values.items():
                key = (run.run_id, checkpoint, split, m)
                span = spans.loc[key] if spans is not None and key in spans.index else None
                data.append({"run_id": run.run_id, "kind": run.kind, "task": run.task, "model": run.model,
                             "seed": _num(run.seed), "checkpoint": checkpoint, "split": split, "metric": m,
                             "raw": _num(v), "value": _num(score_of(run.task, m, v)),
                             "ci_low": None if span is None else _num(span["low"]),
                             "ci_high": None if span is None else _num(span["high"]),
                             "n": None if span is None else int(span["n"])})
        wall = run.wall_time_s
        row = {"kind": run.kind, "task": run.task, "model": run.model,
               "seed": MISSING if pd.isna(run.seed) else str(int(run.seed)),
               "steps": MISSING if pd.isna(run.steps) else str(int(run.steps)),
               "best step": MISSING if pd.isna(run.best_step) else str(int(run.best_step)),
               "wall time": MISSING if pd.isna(wall) else f"{wall / 60:.1f} min",
               metrics_column: "; ".join(metrics) or MISSING}
        if ci:
            split, metric = mains.get(run.task, (None, None))
            key = (run.run_id, checkpoint, split, metric)
            if spans is not None and key in spans.index:
                span = spans.loc[key]
                shown = f"[{fmt(span['low'])}, {fmt(span['high'])}]" if ci == "bracket" else \
                    f"±{fmt((span['high'] - span['low']) / 2)}"
                row[interval_column] = f"{split} {metric} {fmt(span['point'])} {shown}"
            else:
                row[interval_column] = MISSING
        table[run.run_id] = row
    columns = ["kind", "task", "model", "seed", "steps", "best step", "wall time", metrics_column]
    out = pd.DataFrame.from_dict(table, orient="index", columns=columns + ([interval_column] if ci else []))
    out.index.name = "run_id"
    out.attrs["title"] = "Runs"
    notes = [f"Metrics of the {checkpoint} checkpoint as the record holds them (fractions; SQuAD in percent)."]
    if ci:
        notes.append("Interval: the run's main metric recomputed from its per-example predictions, in percent, "
                     "with a bootstrap 95% interval over the examples (– where the predictions are missing).")
    out.attrs["notes"] = notes + [results.footer()]
    out.attrs["data"] = data
    return out
