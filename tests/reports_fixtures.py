"""Synthetic run records for the report tests (and benchmarks/gen_results.py): records written
through albert_bench.records exactly as finetune / evaluate write them, with per-example
predictions and step logs beside them. No model is run."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from albert_bench import records
from albert_bench.modeling.config import PRESETS
from albert_bench.reports.reference import MODEL_CARD

_COUNTER = itertools.count()
_T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def write_run(results_dir, *, task: str, metrics: dict, source: str = "albert-base-v2", preset: str | None = None,
              seed: int | None = 0, kind: str = "finetune", last: dict | None = None, predictions: dict | None = None,
              log: list[dict] | None = None, num_parameters: int = 11_685_122, config: dict | None = None,
              pretraining: dict | None = None, name: str | None = None) -> dict:
    """Write one record. metrics: {split: {metric: value}} for the best checkpoint (`last` defaults
    to the same); predictions: {split: rows}; preset: the config's preset (default: source's name
    when it is one, else albert-tiny)."""
    n = next(_COUNTER)
    when = _T0 + timedelta(minutes=n)
    run_id = f"{task}-{when.strftime('%Y%m%dT%H%M%SZ')}-{n:06x}"
    if config is None:
        config = dict(PRESETS[preset or (source if source in PRESETS else "albert-tiny")])
    paths = {split: records.write_predictions(results_dir, run_id, split, rows)
             for split, rows in (predictions or {}).items()}
    log_path = None
    if log is not None:
        records.write_jsonl(records.run_folder(results_dir, run_id) / "log.jsonl", log)
        log_path = f"{run_id}/log.jsonl"
    steps = log[-1]["step"] if log else 100
    record = records.build_record(
        run_id=run_id, kind=kind, task=task, splits={"eval": list(metrics)},
        model={"source": source, "config": config, "num_parameters": num_parameters, "head": "X",
               **({"pretraining": pretraining} if pretraining else {}), **({"name": name} if name else {})},
        tokenizer=None, recipe={"lr": 2e-5}, seed=seed, metrics={"best": metrics, "last": last or metrics},
        best_step=steps if kind == "finetune" else None, examples={s: {"seen": 10, "skipped": 0} for s in metrics},
        predictions=paths, log=log_path, wall_time_s=60.0 + n, device="cpu", created_at=when, steps=steps)
    record["path"] = str(records.write_record(record, results_dir))
    return record


def write_published(results_dir) -> None:
    """The model card's published numbers as records (one run per model and task), in the units
    runs write: SQuAD in percent, other tasks as fractions."""
    for label, cells in MODEL_CARD.items():
        version, size = label.lower().split()
        source = f"albert-{size}-{version}"
        (f1_1, em_1), (f1_2, em_2) = cells["SQuAD1.1"], cells["SQuAD2.0"]
        write_run(results_dir, task="squad_v1", source=source, metrics={"dev": {"f1": f1_1, "exact_match": em_1}})
        write_run(results_dir, task="squad_v2", source=source, metrics={"dev": {"f1": f1_2, "exact": em_2}})
        write_run(results_dir, task="mnli", source=source, metrics={"dev_matched": {"accuracy": cells["MNLI"] / 100}})
        write_run(results_dir, task="sst2", source=source, metrics={"dev": {"accuracy": cells["SST-2"] / 100}})
        write_run(results_dir, task="race", source=source, metrics={"test": {"accuracy": cells["RACE"] / 100}})


def classification_rows(n: int, accuracy: float, rng: np.random.Generator, labels=("0", "1"),
                        prefix: str = "ex") -> list[dict]:
    """n GLUE-style rows {id, prediction, label} with about `accuracy` of them right."""
    gold = rng.choice(labels, size=n)
    right = rng.random(n) < accuracy
    wrong = np.array([labels[(labels.index(g) + 1) % len(labels)] for g in gold])
    pred = np.where(right, gold, wrong)
    return [{"id": f"{prefix}{i}", "prediction": str(p), "label": str(g)} for i, (p, g) in enumerate(zip(pred, gold))]


def regression_rows(n: int, noise: float, rng: np.random.Generator) -> list[dict]:
    gold = rng.uniform(0, 5, size=n)
    pred = gold + rng.normal(0, noise, size=n)
    return [{"id": str(i), "prediction": float(p), "label": float(g)} for i, (p, g) in enumerate(zip(pred, gold))]


def squad_rows(n: int, right: float, rng: np.random.Generator, v2: bool = False) -> list[dict]:
    """SQuAD rows as squad_decode writes them: label = every gold answer (empty = unanswerable)."""
    rows = []
    for i in range(n):
        unanswerable = v2 and rng.random() < 0.5
        gold = [] if unanswerable else ["the red fox", "red fox"]
        ok = rng.random() < right
        if unanswerable:
            pred = "" if ok else "a dog"
        else:
            pred = "red fox" if ok else ("red" if rng.random() < 0.5 else "blue whale")
        row = {"id": f"q{i}", "prediction": pred, "label": gold}
        if v2:
            row.update(na_prob=float(rng.normal()), best_non_null=pred or "a dog")
        rows.append(row)
    return rows


def race_rows(n: int, accuracy: float, rng: np.random.Generator) -> list[dict]:
    rows = classification_rows(n, accuracy, rng, labels=("A", "B", "C", "D"))
    for i, row in enumerate(rows):
        row["level"] = "middle" if i % 3 == 0 else "high"
    return rows


def step_log(steps: int, eval_every: int, metric: str, rng: np.random.Generator, split: str = "dev") -> list[dict]:
    """A training step log as train.py writes it: loss per step, an `eval` entry every eval_every."""
    out = []
    for step in range(1, steps + 1):
        entry = {"step": step, "epoch": 0, "loss": float(1.0 / (1 + step / 20) + 0.05 * rng.random()),
                 "lr": 2e-5, "grad_norm": 1.0}
        if step % eval_every == 0 or step == steps:
            entry["eval"] = {split: {metric: float(min(0.99, 0.5 + step / (2 * steps)))}}
        out.append(entry)
    return out


def path_of(results_dir, record: dict) -> Path:
    return Path(results_dir) / f"{record['run_id']}.json"
