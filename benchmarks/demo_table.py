"""The README's demo table, from the records of an actual `albert-bench demo` run (never typed by hand).

    python benchmarks/demo_table.py reports/demo/results

One row per task: its scored metrics (the main one first, MRPC as F1/accuracy like the GLUE
tables), the median over seeds and each seed's value, beside the trivial baseline computed from the dev labels (tasks/baselines.py).
"""
from __future__ import annotations

import statistics
import sys

from albert_bench.records import load_records

ORDER = ("sst2", "cola", "mrpc", "rte", "stsb", "squad_v2", "race")
METRICS = {"mrpc": ("f1", "accuracy"), "stsb": ("pearson", "spearmanr"), "squad_v2": ("f1", "exact")}


def fmt(value: float, task: str) -> str:
    return f"{value:.1f}" if task.startswith("squad") else f"{value:.3f}"


def demo_table(results_dir: str) -> str:
    runs: dict[str, list[dict]] = {}
    for record in load_records(results_dir, kind="finetune"):
        runs.setdefault(record["task"], []).append(record)
    lines = ["| task | metric | median of seeds | seeds | trivial baseline (dev labels) |", "|---|---|---|---|---|"]
    for task in [t for t in ORDER if t in runs] + sorted(set(runs) - set(ORDER)):
        records = sorted(runs[task], key=lambda r: r["seed"])
        split = next(iter(records[0]["metrics"]["best"]))
        names = METRICS.get(task, (records[0]["main_metric"],))
        values = {m: [r["metrics"]["best"][split][m] for r in records] for m in names}
        median = "/".join(fmt(statistics.median(values[m]), task) for m in names)
        seeds = ", ".join("/".join(fmt(values[m][k], task) for m in names) for k in range(len(records)))
        # the trivial baseline computed from the dev labels (the record's health.baseline)
        base = (records[0].get("health") or {}).get("baseline") or {}
        chance = "/".join(fmt(base["values"][m], task) for m in names if m in base.get("values", {})) or "–"
        rule = (base.get("rules") or {}).get(names[0])
        chance += f": {rule}" if rule else ""
        lines.append(f"| {task} | {'/'.join(names)} | {median} | {seeds} | {chance} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(demo_table(sys.argv[1] if len(sys.argv) > 1 else "reports/demo/results"))
