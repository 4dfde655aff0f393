"""A sweep in the tables: one (model, task) run with several settings (suite --sweep lr=1e-5,2e-5).

    from albert_bench.reports import load_results, sweep
    results = load_results("results")
    picked, lines = sweep.select(results, "best-median")    # or "all": one row per setting

A setting is what differs among the recipes of one (model, task)'s records: the recipe keys whose
values vary there (lr, batch_size...), read from the records themselves, so a folder of runs made
without the suite sweeps the same way. Rules:
* best-median (the default): per (model, task), the setting whose median over seeds of the task's
  main metric (dev, the chosen checkpoint) is highest stays; the other settings' runs leave the
  table. The notes name each choice and say that choosing on dev makes the dev score optimistic;
* all: every setting is its own row, "MODEL [lr=2e-05]".
A (model, task) with one setting is left as it is.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import replace

import pandas as pd

from albert_bench.reports.frame import Results
from albert_bench.reports.tables import fmt, main_metrics

SELECT = ("best-median", "all")
ALL_ROWS = "Sweep: each setting of a (model, task) is its own row (--select all); the row names the setting."
OPTIMISTIC = ("Sweep: choosing the setting on the dev set makes its dev score optimistic (the choice saw these "
              "examples); report a held-out or test score for an unbiased number.")


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def swept(results: Results) -> dict[tuple[str, str], tuple[list[str], dict[str, dict]]]:
    """(model, task) -> (the recipe keys that vary among its finetune records, run_id -> recipe), for
    the (model, task)s whose recipes differ."""
    out = {}
    finetuned = results.runs[results.runs["kind"] == "finetune"]     # an evaluate record's recipe is another kind
    for key, runs in finetuned.groupby(["model", "task"], sort=False):
        recipes = {run_id: results.records[run_id].get("recipe") or {} for run_id in runs["run_id"]}
        keys = list(dict.fromkeys(k for r in recipes.values() for k in r))
        varying = [k for k in keys if len({_text(r.get(k)) for r in recipes.values()}) > 1]
        if varying:
            out[key] = (varying, recipes)
    return out


def settings(results: Results) -> dict[str, str]:
    """run_id -> its setting ('lr=2e-05,batch_size=16') for the runs of a (model, task) whose recipes
    differ; runs of a (model, task) with one recipe are not listed."""
    return {run_id: ",".join(f"{k}={_text(r.get(k))}" for k in varying)
            for varying, recipes in swept(results).values() for run_id, r in recipes.items()}


def select(results: Results, mode: str = "best-median", checkpoint: str = "best",
           candidates: Results | None = None) -> tuple[Results, list[str]]:
    """(the Results the table should see, the notes naming what was chosen). `candidates`: the runs the
    medians are taken over (the health-screened ones); default `results`."""
    if mode not in SELECT:
        raise ValueError(f"--select {mode!r}: choose best-median (each (model, task)'s best dev median) or all")
    named = settings(results)
    if not named:
        return results, []
    if mode == "all":
        relabel = {run_id: f"{model} [{named[run_id]}]" for run_id, model in zip(results.runs["run_id"],
                                                                                 results.runs["model"])
                   if run_id in named}
        frame, runs = results.frame.copy(), results.runs.copy()
        for table in (frame, runs):
            table["model"] = [relabel.get(r, m) for r, m in zip(table["run_id"], table["model"])]
        return replace(results, frame=frame, runs=runs), [ALL_ROWS]
    pool = candidates if candidates is not None else results
    mains = main_metrics(pool)
    frame = pool.frame[(pool.frame["checkpoint"] == checkpoint) & pool.frame["score"].notna()]
    dropped, lines = set(), []
    for (model, task), runs in results.runs[results.runs["run_id"].isin(named)].groupby(["model", "task"], sort=True):
        split, metric = mains.get(task, (None, None))
        medians = {}
        for setting in dict.fromkeys(named[r] for r in runs["run_id"]):
            ids = [r for r in runs["run_id"] if named[r] == setting]
            scores = frame[frame["run_id"].isin(ids) & (frame["split"] == split) & (frame["metric"] == metric)]["score"]
            medians[setting] = (statistics.median(scores), len(scores)) if len(scores) else (float("nan"), 0)
        scored = {s: m for s, m in medians.items() if not pd.isna(m[0])}
        if not scored:
            continue
        best = max(scored, key=lambda s: scored[s][0])
        dropped |= {r for r in runs["run_id"] if named[r] != best}
        others = "; ".join(f"{s} {fmt(m)} (n={n})" for s, (m, n) in medians.items() if s != best)
        lines.append(f"Sweep: {model} {task}: {best} chosen, the best median {split} {metric} over seeds "
                     f"({fmt(scored[best][0])}, n={scored[best][1]}; others: {others}).")
    keep = set(results.runs["run_id"]) - dropped
    chosen = replace(results, frame=results.frame[results.frame["run_id"].isin(keep)],
                     runs=results.runs[results.runs["run_id"].isin(keep)])
    return chosen, lines + ([OPTIMISTIC] if lines else [])
