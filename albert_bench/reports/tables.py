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

from albert_bench.reports.frame import SIZES, VERSIONS, Results, label_for
from albert_bench.reports.reference import MODEL_CARD, SOURCE
from albert_bench.reports.render import render  # noqa: F401  (part of this module's API)

MISSING = "–"
MARK = "†"
AGGREGATES = ("median", "mean", "max")
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
            row = stats.loc[key]
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


# ---------------------------------------------------------------- the tables

def model_card_table(results: Results, agg: str = "median", checkpoint: str = "best", show_spread: bool = False,
                     reference: bool = False, tolerance: float = 1.0, intervals: pd.DataFrame | None = None,
                     ci: str | None = None) -> pd.DataFrame:
    """The model card's table: Average, SQuAD1.1 F1/EM, SQuAD2.0 F1/EM, MNLI, SST-2, RACE.
    reference=True adds the published number and our difference beside each column, marked
    with † where it is more than `tolerance` points away."""
    stats = aggregate(results, agg, checkpoint, intervals)
    models = model_order(stats.index.get_level_values("model"))
    table = {}
    for model in models:
        picked = {name: [_pick(stats, model, task, m, splits) for m in metrics]
                  for name, task, metrics, splits in CARD_COLUMNS}
        shown = {name: [None if r is None else round1(r["value"]) for r in rows] for name, rows in picked.items()}
        parts = [sum(vals) / len(vals) for vals in shown.values() if None not in vals]
        average = sum(parts) / len(parts) if len(parts) == len(CARD_COLUMNS) else None
        row = {"Average": fmt(average)}
        for name, rows in picked.items():
            row[name] = _cell(rows, show_spread, ci)
        if reference:
            row = _with_reference(row, model, average, shown, tolerance)
        table[model] = row
    columns = ["Average"] + [c[0] for c in CARD_COLUMNS]
    if reference:
        columns = [x for c in columns for x in (c, f"{c} (paper)", f"Δ {c}")]
    out = pd.DataFrame.from_dict(table, orient="index", columns=columns)
    out.index.name = "model"
    out.attrs["title"] = "Model card table (dev; SQuAD cells F1/EM)"
    notes = [CARD_RULE, CARD_SPLITS] + _notes(results, agg, checkpoint, show_spread, ci)
    if reference:
        notes.insert(1, f"(paper) = published number; Δ = ours − published; {MARK} = more than {tolerance:g} "
                        f"point(s) away. Source: {SOURCE}.")
    out.attrs["notes"] = notes
    return out


def _with_reference(row: dict, model: str, average: float | None, shown: dict, tolerance: float) -> dict:
    published = MODEL_CARD.get(model, {})
    ours = {"Average": [round1(average)], **shown}
    out = {}
    for name, cell in row.items():
        paper = published.get(name)
        paper = list(paper) if isinstance(paper, tuple) else ([paper] if paper is not None else None)
        out[name] = cell
        out[f"{name} (paper)"] = "/".join(f"{p:.1f}" for p in paper) if paper else MISSING
        if paper and None not in ours[name]:
            deltas = [round1(o - p) for o, p in zip(ours[name], paper)]
            far = any(abs(d) > tolerance + 1e-9 for d in deltas)
            out[f"Δ {name}"] = "/".join(fmt(d, signed=True) for d in deltas) + (f" {MARK}" if far else "")
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
    table = {}
    for model in models:
        row = {name: _cell([_pick(stats, model, task, m, splits) for m in metrics], show_spread, ci)
               for name, task, metrics, splits in GLUE_COLUMNS}
        scores = glue_scores(stats, model)
        row["GLUE"], row["GLUE (no WNLI)"] = fmt(glue_average(scores)), fmt(glue_average(scores, False))
        table[model] = row
    columns = [c[0] for c in GLUE_COLUMNS] + ["GLUE", "GLUE (no WNLI)"]
    out = pd.DataFrame.from_dict(table, orient="index", columns=columns)
    out.index.name = "model"
    out.attrs["title"] = "GLUE dev (CoLA MCC; MRPC, QQP F1/acc; STS-B Pearson/Spearman; others accuracy)"
    out.attrs["notes"] = [GLUE_RULE] + _notes(results, agg, checkpoint, show_spread, ci)
    return out


def leaderboard_table(results: Results, by: str = "glue", agg: str = "median", checkpoint: str = "best") -> pd.DataFrame:
    """Models ranked by `by`: 'glue', 'glue-no-wnli', 'average' (the card's), or 'TASK[:METRIC]'
    (e.g. 'rte' or 'mrpc:f1'; the first split of the task, dev_matched for MNLI)."""
    stats = aggregate(results, agg, checkpoint)
    models = model_order(stats.index.get_level_values("model"))
    if by in ("glue", "glue-no-wnli"):
        name = "GLUE" if by == "glue" else "GLUE (no WNLI)"
        score = {m: glue_average(glue_scores(stats, m), by == "glue") for m in models}
    elif by == "average":
        name = "Average"
        card = model_card_table(results, agg, checkpoint)
        score = {m: None if card.loc[m, "Average"] == MISSING else float(card.loc[m, "Average"]) for m in models}
    else:
        task, _, metric = by.partition(":")
        known = stats.reset_index()
        rows = known[known["task"] == task]
        if rows.empty:
            raise ValueError(f"--by {by!r}: no task {task!r} in the results; use glue, glue-no-wnli, average or one of "
                             f"{sorted(set(known['task']))} (optionally TASK:METRIC)")
        metric = metric or rows["metric"].iloc[0]
        if metric not in set(rows["metric"]):
            raise ValueError(f"--by {by!r}: {task} has no metric {metric!r}; it has {sorted(set(rows['metric']))}")
        splits = tuple(sorted(set(rows["split"]), key=lambda s: (s != "dev_matched", s != "dev", s)))
        name = f"{task} {metric}"
        score = {m: (lambda r: None if r is None else float(r["value"]))(_pick(stats, m, task, metric, splits))
                 for m in models}
    ranked = sorted(models, key=lambda m: (score[m] is None, -(score[m] or 0.0), m))
    params = results.runs.groupby("model")["num_parameters"].median() if not results.runs.empty else {}
    covered = results.frame.groupby("model")["task"].nunique() if not results.frame.empty else {}
    table = {}
    for rank, model in enumerate(ranked, 1):
        n = params.get(model) if len(params) else None
        table[model] = {"Rank": str(rank) if score[model] is not None else MISSING, name: fmt(score[model]),
                        "Tasks": str(int(covered.get(model, 0))) if len(covered) else "0",
                        "Parameters": MISSING if n is None or pd.isna(n) else f"{n / 1e6:.1f}M"}
    out = pd.DataFrame.from_dict(table, orient="index", columns=["Rank", name, "Tasks", "Parameters"])
    out.index.name = "model"
    out.attrs["title"] = f"Leaderboard by {name}"
    out.attrs["notes"] = [f"Ranked by {name} ({agg} over runs, {checkpoint} checkpoint); Tasks = tasks with any "
                          "metric; Parameters = the fine-tuned model's, head included (median over its runs).",
                          results.footer()]
    return out


def runs_table(results: Results) -> pd.DataFrame:
    """One line per run: the audit trail (task, model, seed, steps, best step, wall time, metrics)."""
    table = {}
    for run in results.runs.sort_values(["task", "model", "created_at"], na_position="last").itertuples():
        record = results.records[run.run_id]
        metrics = []
        for split, values in ((record.get("metrics") or {}).get("best") or {}).items():
            shown = ", ".join(f"{m} {v:.4g}" for m, v in (values or {}).items() if isinstance(v, (int, float)))
            metrics.append(f"{split}: {shown}")
        wall = run.wall_time_s
        table[run.run_id] = {"kind": run.kind, "task": run.task, "model": run.model,
                             "seed": MISSING if pd.isna(run.seed) else str(int(run.seed)),
                             "steps": MISSING if pd.isna(run.steps) else str(int(run.steps)),
                             "best step": MISSING if pd.isna(run.best_step) else str(int(run.best_step)),
                             "wall time": MISSING if pd.isna(wall) else f"{wall / 60:.1f} min",
                             "best-checkpoint metrics (raw)": "; ".join(metrics) or MISSING}
    columns = ["kind", "task", "model", "seed", "steps", "best step", "wall time", "best-checkpoint metrics (raw)"]
    out = pd.DataFrame.from_dict(table, orient="index", columns=columns)
    out.index.name = "run_id"
    out.attrs["title"] = "Runs"
    out.attrs["notes"] = ["Metrics as the record holds them (fractions; SQuAD in percent).", results.footer()]
    return out


TABLES = {"model-card": model_card_table, "glue": glue_table, "leaderboard": leaderboard_table, "runs": runs_table}
