"""The run record: one self-describing JSON per run (schema_version 1, ARCHITECTURE.md), with
its per-example predictions and step log beside it. Reports are pure functions of these.

    results/
      rte-20250101T120000Z-3f9a1c.json                 the record
      rte-20250101T120000Z-3f9a1c/predictions-dev.jsonl  one line per dev example
      rte-20250101T120000Z-3f9a1c/log.jsonl              the training step log

    from albert_bench.records import load_records
    for r in load_records("results"):
        print(r["task"], r["metrics"]["best"])
"""
from __future__ import annotations

import json
import math
import platform
import secrets
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from albert_bench.io import atomic_write_json, atomic_write_text

SCHEMA_VERSION = 1
KINDS = ("finetune", "evaluate", "predict", "bias", "pretrain")   # bias: albert_bench.bias (probe outputs in "bias");
# pretrain: albert_bench.pretraining (held-out scores in metrics["heldout"], the run under "pretraining")
# Every record has these keys (values may be None / empty where a kind has nothing to say).
FIELDS = ("schema_version", "run_id", "kind", "task", "splits", "model", "tokenizer", "recipe", "seed",
          "metrics", "best_step", "examples", "predictions", "log", "wall_time_s", "device", "versions",
          "git_commit", "created_at")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def new_run_id(task: str, when: datetime | None = None) -> str:
    """`<task>-<UTC time>-<6 hex>`: sorts by time, unique across parallel runs."""
    when = when or utc_now()
    return f"{task}-{when.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def versions() -> dict[str, str]:
    import torch

    import albert_bench
    return {"albert_bench": albert_bench.__version__, "torch": torch.__version__,
            "python": platform.python_version(), "numpy": np.__version__}


def git_commit() -> str | None:
    """HEAD of the repository this package lives in, or None (installed from a wheel, no git)."""
    repo = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def device_string(device: Any, processes: int = 1) -> str:
    """E.g. 'cuda:0 (NVIDIA H100 80GB HBM3) x2' (two data-parallel processes) or 'cpu (2 threads)'."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        text = f"{device} ({torch.cuda.get_device_name(device)})"
    else:
        text = f"{device} ({torch.get_num_threads()} threads)"
    return text + (f" x{processes}" if processes > 1 else "")


def to_jsonable(obj: Any) -> Any:
    """numpy scalars/arrays, tuples and paths -> plain JSON values; NaN/inf -> None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> Path:
    text = "".join(json.dumps(to_jsonable(r), ensure_ascii=False) + "\n" for r in rows)
    return atomic_write_text(path, text)


def read_jsonl(path: str | Path) -> list[dict]:
    """Every row of a JSONL file; a damaged line raises naming the file and line. The whole file is
    parsed in one call first (fast for 10,000-row prediction files), line by line only to find an error."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    filled = [line for line in lines if line.strip()]
    try:
        rows = json.loads("[" + ",".join(filled) + "]")
        if len(rows) == len(filled):        # not fooled by a line holding two values ("{...}, {...}")
            return rows
    except json.JSONDecodeError:
        pass
    rows = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n} is not valid JSON ({e.msg})") from None
    return rows


def count_examples(examples: Any) -> dict:
    """{"seen", "skipped", "skipped_reasons"} from a task's Examples list."""
    skipped = list(getattr(examples, "skipped", []) or [])
    return {"seen": len(examples), "skipped": int(sum(s.get("count", 1) for s in skipped)),
            "skipped_reasons": skipped}


# Checkpoint folder names that say nothing about the model: the parent's name is kept too.
GENERIC_DIRS = {"best", "last", "checkpoint", "final", "model"}


def model_name(source: str) -> str:
    """What a run started from, as a name: a hub id as it is, a local directory by its name
    (with the parent's name where the folder is just `best` / `last`), a preset by its name."""
    text = str(source).strip()
    if text.startswith("preset:"):
        return text[len("preset:"):]
    path = Path(text)
    looks_local = text.startswith(("/", ".", "~")) or path.exists() or len(path.parts) > 2
    if not looks_local:
        return text                       # "albert-base-v2" or "org/model"
    parts = [p for p in path.parts if p not in ("/", ".")]
    if len(parts) >= 2 and parts[-1].lower() in GENERIC_DIRS:
        return f"{parts[-2]}/{parts[-1]}"
    return parts[-1] if parts else text


def fine_tuned_name(base_model: str, task: str, base_name: str | None = None) -> str:
    """A fine-tuned checkpoint's name: the model it was fine-tuned from plus its task,
    "albert-base-v2 (rte)" (base_name, when given, instead of the base model's own name)."""
    return f"{base_name or model_name(base_model)} ({task})"


def build_record(*, run_id: str, kind: str, task: str, splits: dict, model: dict, tokenizer: str | None,
                 recipe: dict | None, seed: int | None, metrics: dict, best_step: int | None,
                 examples: dict, predictions: dict, log: str | None, wall_time_s: float, device: str,
                 created_at: datetime | None = None, **extra: Any) -> dict:
    """A schema_version 1 record. `extra` adds kind-specific fields (output_dir, label_map...)."""
    if kind not in KINDS:
        raise ValueError(f"record kind {kind!r} is not one of {KINDS}")
    record = {
        "schema_version": SCHEMA_VERSION, "run_id": run_id, "kind": kind, "task": task, "splits": splits,
        "model": model, "tokenizer": tokenizer, "recipe": recipe, "seed": seed, "metrics": metrics,
        "best_step": best_step, "examples": examples, "predictions": predictions, "log": log,
        "wall_time_s": round(float(wall_time_s), 3), "device": device, "versions": versions(),
        "git_commit": git_commit(), "created_at": (created_at or utc_now()).isoformat(timespec="seconds"),
    }
    record.update(extra)
    return to_jsonable(record)


def run_folder(results_dir: str | Path, run_id: str) -> Path:
    """Where a run's predictions and log live, beside its record."""
    return Path(results_dir) / run_id


def write_predictions(results_dir: str | Path, run_id: str, split: str, rows: Iterable[dict]) -> str:
    """Write per-example predictions; returns the path relative to results_dir (for the record)."""
    path = run_folder(results_dir, run_id) / f"predictions-{split}.jsonl"
    write_jsonl(path, rows)
    return path.relative_to(results_dir).as_posix()


def record_path(results_dir: str | Path, run_id: str) -> Path:
    """Where write_record puts the record of `run_id`."""
    return Path(results_dir) / f"{run_id}.json"


def write_record(record: dict, results_dir: str | Path) -> Path:
    """Atomically write `record` as results_dir/<run_id>.json; returns the path."""
    missing = [k for k in FIELDS if k not in record]
    if missing:
        raise ValueError(f"run record lacks field(s) {missing}; build it with records.build_record")
    return atomic_write_json(record_path(results_dir, record["run_id"]), to_jsonable(record))


def load_records(results_dir: str | Path, kind: str | None = None, task: str | None = None) -> list[dict]:
    """Every run record in results_dir (oldest first), optionally only one kind / task.
    Files that are not schema-1 records (other JSON) are skipped; a broken record file raises
    naming the file. Each record gets `path` (its file) added."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results folder {results_dir} does not exist; run `albert-bench finetune` "
                                "or `albert-bench evaluate` first, or pass --results-dir")
    records = []
    for path in sorted(results_dir.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} (line {e.lineno}) is not valid JSON: {e.msg}; delete or fix it") from None
        if not isinstance(record, dict) or "schema_version" not in record or "run_id" not in record:
            continue
        if record["schema_version"] != SCHEMA_VERSION:
            print(f"warning: skipping {path}: schema_version {record['schema_version']} "
                  f"(this version reads {SCHEMA_VERSION})", file=sys.stderr)
            continue
        if (kind and record.get("kind") != kind) or (task and record.get("task") != task):
            continue
        record["path"] = str(path)
        records.append(record)
    records.sort(key=lambda r: (r.get("created_at") or "", r["run_id"]))
    return records


def load_predictions(record: dict, split: str) -> list[dict]:
    """The per-example predictions a record points to."""
    rel = (record.get("predictions") or {}).get(split)
    if rel is None:
        raise KeyError(f"run {record.get('run_id')} has no predictions for split {split!r}; "
                       f"it has {sorted(record.get('predictions') or {})}")
    base = Path(record["path"]).parent if "path" in record else Path(".")
    return read_jsonl(base / rel)
