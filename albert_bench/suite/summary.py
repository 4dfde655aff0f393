"""What a suite run ends with: its Summary (done / skipped / failed / restarted / stopped jobs and the
exit status) and the reports tables of the grid's records (final_tables)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from albert_bench.engine.signals import EXIT_STOPPED, TrainingStopped
from albert_bench.suite.plan import GLUE_TASKS, MODEL_CARD_TASKS


@dataclass
class Summary:
    done: list = field(default_factory=list)      # (job, record) trained now (resumed or new)
    skipped: list = field(default_factory=list)   # (job, record) found in the results folder
    failed: list = field(default_factory=list)    # (job, "ErrorType: message")
    resumed: list = field(default_factory=list)   # jobs that continued from a checkpoint
    stopped: TrainingStopped | None = None        # a stop signal ended the suite (the job it hit: .job)
    restarted: list = field(default_factory=list) # (job, its restart job): a degenerate / diverged attempt
    unhealthy: list = field(default_factory=list) # (job, status, reason, stopped): unhealthy, no restart left

    @property
    def exit_code(self) -> int:
        """75 stopped, 1 when a job failed or its last attempt stopped on a NaN / inf loss (a degenerate run,
        or one whose loss only rose, finished: its record is marked, the exit code stays 0)."""
        stopped = any(u[3] for u in self.unhealthy)
        return EXIT_STOPPED if self.stopped else 1 if self.failed or stopped else 0

    @property
    def records(self) -> list[dict]:
        return [r for _, r in self.done + self.skipped]

    def format(self) -> str:
        lines = [f"suite: {len(self.done)} done ({len(self.resumed)} resumed), {len(self.skipped)} skipped "
                 f"(record already there), {len(self.failed)} failed"]
        lines += [f"  FAILED {job.label}: {error}" for job, error in self.failed]
        if self.restarted:
            lines.append(f"  {len(self.restarted)} restart(s) of degenerate / diverged runs")
        lines += [f"  {status.upper()} {job.label}: {reason}" for job, status, reason, _ in self.unhealthy]
        if self.stopped:
            lines.append(f"  STOPPED: {self.stopped}")
        return "\n".join(lines)


# ---- the table at the end ----------------------------------------------------------------

def tables_for(tasks: str | Sequence[str], ran: Sequence[str]) -> list[str]:
    """Which reports tables show a grid: the model card's for `model-card`, GLUE's for `glue`,
    both for `all`; for a task list, GLUE's when a GLUE task ran and the card's when SQuAD or RACE did."""
    spec = tasks.lower() if isinstance(tasks, str) else None
    if spec in ("model-card", "glue"):
        return [spec]
    wanted = []
    if spec == "all" or any(t in ran for t in MODEL_CARD_TASKS if t not in GLUE_TASKS):
        wanted.append("model-card")
    if spec == "all" or any(t in ran for t in GLUE_TASKS):
        wanted.append("glue")
    return wanted


def final_tables(summary: Summary, tasks: str | Sequence[str]) -> str:
    """The tables (albert_bench.reports, markdown) of this suite's records: the jobs done now
    and those skipped because their record was there. Other records in the folder are left out."""
    from dataclasses import replace

    from albert_bench.reports import glue_table, load_results, model_card_table, render, sweep
    mine = {r["run_id"]: r for r in summary.records if r.get("path")}
    if not mine:
        return "(no finished jobs: no table)"
    makers = {"model-card": model_card_table, "glue": glue_table}
    blocks = []
    for results_dir in dict.fromkeys(job.results_dir for job, _ in summary.done + summary.skipped):
        results = load_results(results_dir)
        kept = {k: v for k, v in results.records.items() if k in mine}
        results = replace(results, frame=results.frame[results.frame["run_id"].isin(kept)],
                          runs=results.runs[results.runs["run_id"].isin(kept)], records=kept, read=len(kept),
                          skipped=0, warnings=[w for w in results.warnings if any(k in w for k in kept)])
        ran = sorted({r["task"] for r in results.records.values()})
        results, chosen = sweep.select(results)          # a --sweep: each (model, task)'s best dev median
        for name in tables_for(tasks, ran):
            table = makers[name](results)
            table.attrs["notes"] = list(table.attrs["notes"]) + chosen
            blocks.append(render(table, "md"))
    return "\n".join(blocks) or "(no table for these tasks)"
