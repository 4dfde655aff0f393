"""Degenerate and diverged runs in the tables: marked, left out of the aggregate, counted.

    from albert_bench.reports import health, load_results
    results = load_results("results")
    kept, screen = health.screen(results)               # keep_degenerate=True keeps them in
    table = health.annotate(model_card_table(kept), screen, "model-card")

A finetune record's "health" (albert_bench/engine/health.py) is ok, degenerate or diverged; records
without one (older records, evaluate records) count as ok. Rules:
* an unhealthy run is left out of the median (mean, max) by default; `keep_degenerate` keeps it;
* a run that a suite restart replaced (another record's `restart_of` names it) is always left out:
  its restart stands for that job's seed, so every job counts once, by its last attempt;
* every cell of a (model, task) with an unhealthy run is marked ‡; the notes give each such run's
  reason (with the trivial baseline it was judged against) and the footer counts them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from albert_bench.reports.frame import Results
from albert_bench.reports.tables import CARD_COLUMNS, GLUE_COLUMNS

UNHEALTHY = ("degenerate", "diverged")
MARK = "‡"


def status(record: dict) -> tuple[str, str | None]:
    h = record.get("health") or {}
    return h.get("status") or "ok", h.get("reason")


@dataclass
class Screen:
    keep_degenerate: bool
    unhealthy: list = field(default_factory=list)    # (run_id, model, task, seed, status, reason, baseline)
    superseded: set = field(default_factory=set)     # run_ids a restart replaced
    left_out: set = field(default_factory=set)       # run_ids not in the aggregate

    @property
    def marked(self) -> set:
        return {(u[1], u[2]) for u in self.unhealthy}


def subset(results: Results, run_ids) -> Results:
    """The same Results with only these runs' rows (records stay, for their files and paths)."""
    ids = set(run_ids)
    return replace(results, frame=results.frame[results.frame["run_id"].isin(ids)],
                   runs=results.runs[results.runs["run_id"].isin(ids)])


def screen(results: Results, keep_degenerate: bool = False) -> tuple[Results, Screen]:
    """(the Results the aggregate should see, what was marked and left out: module docstring)."""
    out = Screen(keep_degenerate)
    present = set(results.runs["run_id"]) if not results.runs.empty else set()
    out.superseded = {r.get("restart_of") for r in results.records.values() if r.get("restart_of")} & present
    for run in results.runs.itertuples():
        state, reason = status(results.records[run.run_id])
        if state in UNHEALTHY:
            base = (results.records[run.run_id].get("health") or {}).get("baseline")
            out.unhealthy.append((run.run_id, run.model, run.task, run.seed, state, reason, base))
    out.left_out = set(out.superseded) | (set() if keep_degenerate else {u[0] for u in out.unhealthy})
    return subset(results, present - out.left_out), out


def notes(info: Screen) -> list[str]:
    """The footer lines: counts, then one line per unhealthy run (its reason)."""
    if not info.unhealthy and not info.superseded:
        return []
    counts = {s: sum(u[4] == s for u in info.unhealthy) for s in UNHEALTHY}
    lines = [f"{MARK} Health: {counts['degenerate']} degenerate, {counts['diverged']} diverged run(s) "
             + ("kept in the aggregate (--keep-degenerate)" if info.keep_degenerate else
                "left out of the aggregate (table --keep-degenerate keeps them)")
             + (f"; {len(info.superseded)} run(s) replaced by their restart (the restart counts as the job's seed)"
                if info.superseded else "") + "."]
    for run_id, model, task, seed, state, reason, _ in info.unhealthy:
        seed = "?" if pd.isna(seed) else int(seed)
        replaced = " (replaced by a restart)" if run_id in info.superseded else ""
        lines.append(f"{MARK} {model} {task} seed {seed} ({run_id}): {state}{replaced}: {reason}")
    return lines


def annotate(table: pd.DataFrame, info: Screen, kind: str) -> pd.DataFrame:
    """Mark the cells of (model, task) pairs with an unhealthy run; add the notes. `runs` tables get a
    health column instead (every run listed, none left out)."""
    if kind == "runs":
        by_id = {u[0]: f"{MARK} {u[4]}" for u in info.unhealthy}
        table["health"] = [by_id.get(run_id, "ok") for run_id in table.index]
    else:
        columns = {"model-card": CARD_COLUMNS, "glue": GLUE_COLUMNS}.get(kind, ())
        for model, task in info.marked:
            for name, col_task, *_ in columns:
                if col_task == task and model in table.index and name in table.columns:
                    table.loc[model, name] = f"{table.loc[model, name]} {MARK}"
    table.attrs["notes"] = list(table.attrs.get("notes", [])) + notes(info)
    return table
