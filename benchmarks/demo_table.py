"""The README's demo table, from the records of an actual `albert-bench demo` run (never typed by hand).

    python benchmarks/demo_table.py reports/demo/results

One row per task: its scored metrics (the main one first, MRPC as F1/accuracy like the GLUE
tables), the median over seeds and each seed's value, beside what a trivial answer gets.
"""
from __future__ import annotations

import statistics
import sys

from albert_bench.records import load_records

ORDER = ("sst2", "cola", "mrpc", "rte", "stsb", "squad_v2", "race")
METRICS = {"mrpc": ("f1", "accuracy"), "stsb": ("pearson", "spearmanr"), "squad_v2": ("f1", "exact")}
# What a trivial answer scores on balanced synthetic sets; SQuAD 2.0's is read from the record.
CHANCE = {"sst2": "0.50", "cola": "0.00", "mrpc": "0.50 (accuracy)", "rte": "0.50", "stsb": "0.00", "race": "0.25"}


def fmt(value: float, task: str) -> str:
    return f"{value:.1f}" if task.startswith("squad") else f"{value:.3f}"


def demo_table(results_dir: str) -> str:
    runs: dict[str, list[dict]] = {}
    for record in load_records(results_dir, kind="finetune"):
        runs.setdefault(record["task"], []).append(record)
    lines = ["| task | metric | median of seeds | seeds | trivial answer |", "|---|---|---|---|---|"]
    for task in [t for t in ORDER if t in runs] + sorted(set(runs) - set(ORDER)):
        records = sorted(runs[task], key=lambda r: r["seed"])
        split = next(iter(records[0]["metrics"]["best"]))
        names = METRICS.get(task, (records[0]["main_metric"],))
        values = {m: [r["metrics"]["best"][split][m] for r in records] for m in names}
        median = "/".join(fmt(statistics.median(values[m]), task) for m in names)
        seeds = ", ".join("/".join(fmt(values[m][k], task) for m in names) for k in range(len(records)))
        if task == "squad_v2":
            best = records[0]["metrics"]["best"][split]
            chance = f"{100 * best['NoAns_total'] / best['total']:.1f} (answer nothing)"
        else:
            chance = CHANCE.get(task, "–")
        lines.append(f"| {task} | {'/'.join(names)} | {median} | {seeds} | {chance} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(demo_table(sys.argv[1] if len(sys.argv) > 1 else "reports/demo/results"))
