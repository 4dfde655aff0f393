"""Write a synthetic results folder for timing the reports: N run records (models x tasks x
seeds, as a suite grid writes them), each with per-example predictions and a step log.
The metrics in each record are computed from its predictions, so intervals and tables agree.

    python benchmarks/gen_results.py /tmp/bench_results --records 500 --examples 10000
    time albert-bench report --results /tmp/bench_results --out /tmp/bench_report --bootstrap 1000

No model is run; the numbers are random (around the model card's, by size).
"""
from __future__ import annotations

import argparse
import itertools
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from albert_bench import records
from albert_bench.modeling.config import PRESETS
from albert_bench.io import atomic_write_text
from albert_bench.reports.stats import statistics

MODELS = [f"albert-{s}-{v}" for v in ("v2", "v1") for s in ("base", "large", "xlarge", "xxlarge")]
SKILL = {"base": 0.80, "large": 0.84, "xlarge": 0.87, "xxlarge": 0.90}     # rough accuracy by size
# task -> (kind of rows, eval splits, metric names)
TASKS = {
    "cola": ("binary", ("dev",), ("matthews_correlation", "accuracy")),
    "sst2": ("binary", ("dev",), ("accuracy",)),
    "mrpc": ("binary", ("dev",), ("accuracy", "f1")),
    "stsb": ("regression", ("dev",), ("pearson", "spearmanr")),
    "qqp": ("binary", ("dev",), ("accuracy", "f1")),
    "mnli": ("nli", ("dev_matched", "dev_mismatched"), ("accuracy",)),
    "qnli": ("binary", ("dev",), ("accuracy",)),
    "rte": ("binary", ("dev",), ("accuracy",)),
    "wnli": ("binary", ("dev",), ("accuracy",)),
    "squad_v1": ("squad", ("dev",), ("exact_match", "f1")),
    "squad_v2": ("squad2", ("dev",), ("exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1")),
    "race": ("race", ("dev",), ("accuracy", "accuracy_middle", "accuracy_high")),
}
ANSWERS = ["the red fox", "red fox", "a blue whale", "seven", "in 1848", "paris"]


def prediction_lines(kind: str, n: int, skill: float, rng: np.random.Generator) -> list[str]:
    """n JSONL lines shaped like each task's `score` rows."""
    right = rng.random(n) < skill
    if kind in ("binary", "nli", "race"):
        labels = {"binary": ["0", "1"], "nli": ["contradiction", "entailment", "neutral"],
                  "race": ["A", "B", "C", "D"]}[kind]
        gold = rng.integers(0, len(labels), n)
        pred = np.where(right, gold, (gold + rng.integers(1, len(labels), n)) % len(labels))
        level = np.where(rng.random(n) < 0.3, "middle", "high")
        extra = (lambda i: f', "level": "{level[i]}"') if kind == "race" else (lambda i: "")
        return [f'{{"id": "{i}", "prediction": "{labels[pred[i]]}", "label": "{labels[gold[i]]}"{extra(i)}}}'
                for i in range(n)]
    if kind == "regression":
        gold = rng.uniform(0, 5, n)
        pred = gold + rng.normal(0, 2.2 * (1 - skill) + 0.2, n)
        return [f'{{"id": "{i}", "prediction": {pred[i]:.4f}, "label": {gold[i]:.4f}}}' for i in range(n)]
    lines = []
    for i in range(n):
        unanswerable = kind == "squad2" and rng.random() < 0.5
        gold = [] if unanswerable else [ANSWERS[i % len(ANSWERS)], ANSWERS[(i + 1) % len(ANSWERS)]]
        if unanswerable:
            pred = "" if right[i] else ANSWERS[(i + 2) % len(ANSWERS)]
        else:
            pred = gold[0] if right[i] else (gold[0].split()[-1] if rng.random() < 0.5 else "")
        row = {"id": f"q{i}", "prediction": pred, "label": gold}
        if kind == "squad2":
            row.update(na_prob=round(float(rng.normal()), 4), best_non_null=pred or ANSWERS[0])
        lines.append(json.dumps(row))
    return lines


def step_log(steps: int, skill: float, split: str, metric: str, rng: np.random.Generator, percent: bool) -> str:
    out = []
    for step in range(1, steps + 1):
        entry = {"step": step, "epoch": 0, "loss": round(1.2 / (1 + step / 15) + 0.05 * float(rng.random()), 5),
                 "lr": 2e-5, "grad_norm": 1.0}
        if step % 20 == 0:
            value = skill * min(1.0, 0.6 + step / steps / 2)
            entry["eval"] = {split: {metric: round(100 * value if percent else value, 5)}}   # SQuAD in percent
        out.append(json.dumps(entry))
    return "\n".join(out) + "\n"


def generate(out_dir: str | Path, n_records: int = 500, n_examples: int = 10_000, seed: int = 0,
             log_steps: int = 100) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    # seed-major (every model x task cell gets its seeds evenly); product() would materialise count()
    grid = ((run_seed, model, task) for run_seed in itertools.count() for model in MODELS for task in TASKS)
    for number, (run_seed, model, task) in tqdm(zip(range(n_records), grid), total=n_records, desc="records"):
        kind, splits, metric_names = TASKS[task]
        size = model.split("-")[1]
        skill = SKILL[size] - (0.02 if model.endswith("v1") else 0.0) + rng.normal(0, 0.005)
        when = start + timedelta(minutes=number)
        run_id = f"{task}-{when.strftime('%Y%m%dT%H%M%SZ')}-{number:06x}"
        folder = records.run_folder(out, run_id)
        metrics, paths = {}, {}
        for split in splits:
            lines = prediction_lines(kind, n_examples, skill, rng)
            path = folder / f"predictions-{split}.jsonl"
            atomic_write_text(path, "\n".join(lines) + "\n")
            paths[split] = path.relative_to(out).as_posix()
            stats = statistics(task, [json.loads(line) for line in lines])
            metrics[split] = {m: stats[m].point() for m in metric_names if m in stats}
        atomic_write_text(folder / "log.jsonl", step_log(log_steps, skill, splits[0], metric_names[0], rng,
                                                                task.startswith("squad")))
        record = records.build_record(
            run_id=run_id, kind="finetune", task=task, splits={"train": "train", "eval": list(splits)},
            model={"source": model, "config": PRESETS[model], "num_parameters": 11_000_000, "head": "synthetic"},
            tokenizer=model, recipe={"lr": 2e-5, "name": "synthetic"}, seed=run_seed,
            metrics={"best": metrics, "last": metrics}, best_step=log_steps,
            examples={s: {"seen": n_examples, "skipped": 0} for s in splits}, predictions=paths,
            log=f"{run_id}/log.jsonl", wall_time_s=600.0, device="synthetic", created_at=when,
            main_metric=metric_names[0], steps=log_steps)
        record["model"]["num_parameters"] = {"base": 11_685_122, "large": 17_685_506, "xlarge": 58_728_962,
                                             "xxlarge": 222_603_778}[size]
        records.write_record(record, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(generate(args.out_dir, args.records, args.examples, args.seed))


if __name__ == "__main__":
    main()
