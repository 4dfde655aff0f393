"""The leaderboard: models ranked by one score, the GLUE score, the card's Average or one task's metric.

    from albert_bench.reports import load_results
    from albert_bench.reports.leaderboard import leaderboard_table
    print(render(leaderboard_table(load_results("results")), "md"))    # by what the records can fill

Without `by`, the table ranks by the aggregate the records can fill, in this order: the GLUE score
(every GLUE task), the model card's Average (its five tasks), else the main metric of the task the
most models have; its footer says which it used and what the others lack.
"""
from __future__ import annotations

import pandas as pd

from albert_bench.reports.frame import Results
from albert_bench.reports.tables import (CARD_COLUMNS, GLUE_TASKS, MISSING, _cell, _datum, _pick, aggregate,
                                         fmt, glue_average, glue_scores, main_metrics, model_card_table, model_order)

AGGREGATE_BYS = ("glue", "glue-no-wnli", "average")
CARD_TASKS = tuple(task for _, task, _, _ in CARD_COLUMNS)
TASK_ORDER = GLUE_TASKS + tuple(t for t in CARD_TASKS if t not in GLUE_TASKS)


def _lacking(present: set[str], needed: tuple[str, ...], models_with_all: int) -> str:
    missing = [t for t in needed if t not in present]
    return f"no runs of {', '.join(missing)}" if missing else \
        ("no model has all of them" if not models_with_all else "")


def default_by(results: Results, stats: pd.DataFrame, models: list[str]) -> tuple[str, str]:
    """(by, why): the first aggregate some model can fill, and one sentence on what the others lack."""
    present = set(stats.index.get_level_values("task")) if len(stats) else set()
    glue = sum(glue_average(glue_scores(stats, m)) is not None for m in models)
    card = model_card_table(results) if models else None
    average = 0 if card is None else int((card["Average"] != MISSING).sum())
    lack_glue = f"the GLUE score needs all nine GLUE tasks ({_lacking(present, GLUE_TASKS, glue)})"
    lack_card = f"the card's Average needs {', '.join(CARD_TASKS)} ({_lacking(present, CARD_TASKS, average)})"
    if glue:
        return "glue", "Ranked by the GLUE score: every GLUE task has runs."
    if average:
        return "average", f"Ranked by the card's Average: {lack_glue}."
    if not present:
        return "glue", f"Nothing to rank: {lack_glue}; {lack_card}."
    covered = stats.reset_index().groupby("task")["model"].nunique()
    task = max(sorted(present, key=lambda t: (TASK_ORDER.index(t) if t in TASK_ORDER else len(TASK_ORDER), t)),
               key=lambda t: covered[t])                     # most models; ties: GLUE order, then the card's
    return task, (f"Ranked by {task}'s main metric (the task most models have; others: --by "
                  f"{', '.join(sorted(present - {task}))}), as {lack_glue} and {lack_card}.")


def resolve_by(results: Results, by: str | None, agg: str = "median", checkpoint: str = "best",
               show_spread: bool = False, ci: str | None = None,
               stats: pd.DataFrame | None = None) -> tuple[str, str | None]:
    """(by, why it was chosen or None when given); ValueError for a seed spread or interval of an
    aggregate over tasks (called before any bootstrap is run)."""
    why = None
    if by is None:
        stats = aggregate(results, agg, checkpoint) if stats is None else stats
        by, why = default_by(results, stats, model_order(stats.index.get_level_values("model")))
    if (show_spread or ci) and by in AGGREGATE_BYS:
        flag = "--show-spread" if show_spread else "--ci"
        raise ValueError(f"{flag} with --kind leaderboard: the {by} score is a mean over tasks and has no seed "
                         f"spread or interval; rank by one task for them (--by TASK[:METRIC])")
    return by, why


def leaderboard_table(results: Results, by: str | None = None, agg: str = "median", checkpoint: str = "best",
                      show_spread: bool = False, intervals: pd.DataFrame | None = None,
                      ci: str | None = None) -> pd.DataFrame:
    """Models ranked by `by`: 'glue', 'glue-no-wnli', 'average' (the card's), 'TASK[:METRIC]' (e.g. 'rte'
    or 'mrpc:f1'; the task's main metric on its first dev split), or None (see default_by).
    show_spread / intervals + ci: the seed spread / bootstrap interval of the score, for a TASK ranking
    (an aggregate over tasks has neither)."""
    stats = aggregate(results, agg, checkpoint, intervals)
    models = model_order(stats.index.get_level_values("model"))
    by, why = resolve_by(results, by, agg, checkpoint, show_spread, ci, stats)
    picked: dict[str, pd.Series | None] = {}
    metric = by
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
        main_split, main = main_metrics(results).get(task, (None, rows["metric"].iloc[0]))
        metric = metric or main
        if metric not in set(rows["metric"]):
            raise ValueError(f"--by {by!r}: {task} has no metric {metric!r}; it has {sorted(set(rows['metric']))}")
        splits = tuple(sorted(set(rows["split"]), key=lambda s: (s != main_split, s != "dev_matched", s != "dev", s)))
        name = f"{task} {metric}"
        picked = {m: _pick(stats, m, task, metric, splits) for m in models}
        score = {m: None if r is None else float(r["value"]) for m, r in picked.items()}
    ranked = sorted(models, key=lambda m: (score[m] is None, -(score[m] or 0.0), m))
    params = results.runs.groupby("model")["num_parameters"].median() if not results.runs.empty else {}
    covered = results.frame.groupby("model")["task"].nunique() if not results.frame.empty else {}
    table, data = {}, []
    for rank, model in enumerate(ranked, 1):
        n = params.get(model) if len(params) else None
        tasks = int(covered.get(model, 0)) if len(covered) else 0
        cell = _cell([picked[model]], show_spread, ci) if picked else fmt(score[model])
        table[model] = {"Rank": str(rank) if score[model] is not None else MISSING, name: cell, "Tasks": str(tasks),
                        "Parameters": MISSING if n is None or pd.isna(n) else f"{n / 1e6:.1f}M"}
        datum = _datum(model, name, picked.get(model), metric, value=score[model])
        data.append({"rank": rank if score[model] is not None else None, **datum, "tasks": tasks,
                     "parameters": None if n is None or pd.isna(n) else int(n)})
    out = pd.DataFrame.from_dict(table, orient="index", columns=["Rank", name, "Tasks", "Parameters"])
    out.index.name = "model"
    out.attrs["title"] = f"Leaderboard by {name}"
    notes = [f"Ranked by {name} ({agg} over runs, {checkpoint} checkpoint); Tasks = tasks with any "
             "metric; Parameters = the fine-tuned model's, head included (median over its runs)."]
    if why:
        notes.append(why)
    if show_spread:
        notes.append("sd = standard deviation over seeds (run-to-run spread), n = number of runs.")
    if ci:
        notes.append("± / [lo, hi]: bootstrap 95% interval over the dev examples (example sampling, not seed "
                     "spread); with several runs, the runs' mean half-widths around the aggregate.")
    out.attrs["notes"] = notes + [results.footer()]
    out.attrs["data"] = data
    return out
