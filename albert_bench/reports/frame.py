"""Run records -> one pandas DataFrame, the working form of every table, plot and report.

    from albert_bench.reports import load_results
    results = load_results("results")          # warnings for unusable files, never silent drops
    results.frame                              # one row per (record, checkpoint, split, metric)
    results.runs                               # one row per run

Rows are named after the model a run started from: the record's model.name when it has one
(--name; an albert-bench checkpoint's base model and task, "albert-base-v2 (rte)"), else the
preset's card label ("V2 base") when the architecture equals an ALBERT preset, else the hub id
or the checkpoint directory's name.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from albert_bench.modeling.config import PRESETS
from albert_bench import records
from albert_bench.records import SCHEMA_VERSION

# The sizes of the model card, in its row order; V2 rows come before V1 rows.
SIZES = ("base", "large", "xlarge", "xxlarge")
VERSIONS = ("v2", "v1")
CARD_PRESETS = {f"albert-{size}-{v}": (v, size) for v in VERSIONS for size in SIZES}
# The fields that make two configs the same network (dropout and labels do not).
ARCHITECTURE_KEYS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "embedding_size", "vocab_size", "num_hidden_groups", "inner_group_num")
# SQuAD metrics are already percentages (the official script's x100); every other task's
# scores are fractions. Counts and thresholds are not scores at all.
PERCENT_TASKS = ("squad_v1", "squad_v2")
NOT_SCORES = {"total", "HasAns_total", "NoAns_total", "best_exact_thresh", "best_f1_thresh", "null_threshold"}
METRIC_KINDS = ("finetune", "evaluate")          # kinds whose metrics go into the tables

FRAME_COLUMNS = ("run_id", "kind", "task", "model", "source", "version", "size", "num_parameters", "seed",
                 "checkpoint", "split", "metric", "value", "score")
HOW_TO_MAKE_RECORDS = ("run `albert-bench demo` (offline, minutes), `albert-bench finetune` or `albert-bench suite` "
                       "first, or pass --results DIR of their records")


class NoRecordsError(FileNotFoundError):
    """The results folder is missing or holds no usable run record (the report commands exit 1)."""


RUN_COLUMNS = ("run_id", "kind", "task", "model", "source", "version", "size", "num_parameters", "seed",
               "steps", "best_step", "wall_time_s", "created_at", "path")


def label_for(version: str | None, size: str | None) -> str | None:
    """('v2', 'base') -> 'V2 base', the model card's row name."""
    return f"{version.upper()} {size}" if version and size else None


source_name = records.model_name   # kept under its old name: reports and tests import it from here


def recognise_preset(source: str, config: dict | None) -> tuple[str | None, str | None]:
    """(version, size) of the card preset whose architecture `config` equals, else (None, None).
    v1 and v2 share architectures: the name says which ("...-v2"), else the dropout does
    (v1 0.1, v2 0 — except xxlarge, 0 in both, which stays unknown without a name)."""
    if not config:
        return None, None
    matches = [(v, size) for name, (v, size) in CARD_PRESETS.items()
               if all(config.get(k) == PRESETS[name][k] for k in ARCHITECTURE_KEYS)]
    if not matches:
        return None, None
    size = matches[0][1]
    hint = re.search(r"(?:^|[^a-z0-9])v([12])(?:$|[^0-9])", str(source).lower())
    if hint:
        return f"v{hint.group(1)}", size
    by_dropout = [v for v, s in matches
                  if config.get("hidden_dropout_prob") == PRESETS[f"albert-{s}-{v}"]["hidden_dropout_prob"]]
    return (by_dropout[0], size) if len(by_dropout) == 1 else (None, size)


def score_of(task: str, metric: str, value: float | None) -> float | None:
    """A metric in percentage points (SQuAD's are already), the unit of every table."""
    if value is None or metric in NOT_SCORES:
        return value
    return float(value) if task in PERCENT_TASKS else 100.0 * float(value)


@dataclass
class Results:
    """Everything the reports read from one results folder."""
    results_dir: Path
    frame: pd.DataFrame                      # one row per (record, checkpoint, split, metric)
    runs: pd.DataFrame                       # one row per record with metrics (finetune / evaluate)
    records: dict[str, dict]                 # run_id -> record (with "path"), every kind incl. bias
    warnings: list[str] = field(default_factory=list)   # "file: why", one per unusable thing
    read: int = 0
    skipped: int = 0
    ignored: int = 0                         # JSON files that are not run records (config.json, ...)
    rescored: int = 0                        # evaluate records of a checkpoint a finetune record here made

    @property
    def bias_records(self) -> list[dict]:
        return [r for r in self.records.values() if r.get("kind") == "bias"]

    def footer(self) -> str:
        return (f"{self.read} record(s) read from {self.results_dir}, {self.skipped} skipped"
                + (f", {len(self.warnings)} warning(s)" if self.warnings else "")
                + (f", {self.ignored} other JSON file(s) ignored" if self.ignored else "")
                + (f", {self.rescored} evaluate record(s) of checkpoints fine-tuned here not counted as "
                   "runs again" if self.rescored else ""))

    def warn(self, text: str) -> None:
        self.warnings.append(text)


def _parse_pairs(rename: Any) -> dict[str, str]:
    """{"OLD": "NEW"} from a dict or from ["OLD=NEW", ...] (the --rename flag)."""
    if not rename:
        return {}
    if isinstance(rename, dict):
        return dict(rename)
    out = {}
    for pair in rename:
        if "=" not in pair:
            raise ValueError(f"--rename expects OLD=NEW, got {pair!r} (e.g. --rename 'albert-base-v2=V2 base')")
        old, new = pair.split("=", 1)
        out[old.strip()] = new.strip()
    return out


def _read_record(path: Path, results: Results) -> dict | None:
    """The record in `path`, or None with one warning naming the file and why."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        results.warn(f"{path}: not valid JSON (line {e.lineno}: {e.msg}), truncated or damaged; "
                     "re-run it or delete the file")
        return None
    except (OSError, UnicodeDecodeError) as e:
        results.warn(f"{path}: cannot be read ({e})")
        return None
    if not isinstance(record, dict) or ("schema_version" not in record and "run_id" not in record):
        results.ignored += 1          # another JSON (a checkpoint's config.json...): not a record at all
        return None
    if "schema_version" not in record or "run_id" not in record:
        results.warn(f"{path}: run record without {'run_id' if 'schema_version' in record else 'schema_version'}; "
                     "re-run it or delete the file")
        return None
    if record["schema_version"] != SCHEMA_VERSION:
        results.warn(f"{path}: schema_version {record['schema_version']!r}, this albert-bench reads "
                     f"{SCHEMA_VERSION}; upgrade albert-bench to read it")
        return None
    if not isinstance(record.get("metrics"), dict) and record.get("kind") != "bias":
        results.warn(f"{path}: record has no metrics object")
        return None
    record["path"] = str(path)
    return record


def _check_files(record: dict, results: Results) -> None:
    """Warn (once, at load) for a predictions file or step log the record names but that is gone:
    its interval / curve will be missing, its metrics still count."""
    base = Path(record["path"]).parent
    for key in ("predictions", "predictions_last"):
        for split, rel in (record.get(key) or {}).items():
            if not (base / rel).is_file():
                results.warn(f"{record['path']}: predictions file {base / rel} ({split}) is missing; "
                             "no interval for this run")
    if record.get("log") and not (base / record["log"]).is_file():
        results.warn(f"{record['path']}: step log {base / record['log']} is missing; no training curve")


def _resolved(path: str) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):
        return path


def _checkpoints_made_here(records: list[dict | None]) -> set[str]:
    """The best/last checkpoint folders that the finetune records name (resolved)."""
    return {_resolved(p) for r in records if r and r.get("kind") == "finetune"
            for p in (r.get("checkpoints") or {}).values() if p}


def _check_selection(results: Results, wanted: list[str] | None, renames: dict[str, str],
                     before: dict[str, set[str]]) -> None:
    """--models and --rename name rows: one that matches nothing is an error listing what exists.
    before: the row names and sources as read, before renaming."""
    rows = sorted({r["label"] for r in results.records.values() if r.get("kind") in METRIC_KINDS})
    if not results.records:
        return                     # nothing to select from: the commands say so (require_records)
    for old, new in renames.items():
        if old not in before["rows"] | before["sources"]:
            raise ValueError(f"--rename {old}={new}: no row or source is named {old!r}; rows: "
                             f"{', '.join(sorted(before['rows']))}; sources: {', '.join(sorted(before['sources']))}")
    missing = [m for m in wanted or [] if m not in rows]
    if missing:
        raise ValueError(f"--models {','.join(missing)}: no such row in {results.results_dir}; rows there: "
                         f"{', '.join(rows) or 'none'} (names after --rename)")


def require_records(results: Results, scored: bool = True) -> Results:
    """`results`, or NoRecordsError saying where we looked and how to make records. scored: a
    finetune / evaluate record is needed (tables, plots); else any record will do (the report)."""
    if len(results.runs) if scored else len(results.records):
        return results
    what = "finetune / evaluate run records" if scored else "run records"
    seen = [f"{results.read} other record(s) read"] if results.read else []
    seen += [f"{results.skipped} unusable (see the warnings)"] if results.skipped else []
    raise NoRecordsError(f"no {what} in {results.results_dir} (read every *.json under it, recursively"
                         + "".join(f"; {x}" for x in seen) + f"); {HOW_TO_MAKE_RECORDS}")


def load_results(results_dir: str | Path = "results", strict: bool = False, models: Any = None,
                 rename: Any = None) -> Results:
    """Read every record under `results_dir` (recursively) into a Results.

    strict: raise ValueError listing every warning instead of going on.
    models: keep only these row names (a list, or "A,B"), matched after renaming.
    rename: {"OLD": "NEW"} or ["OLD=NEW"]: relabel rows (OLD is a row name or a source)."""
    root = Path(results_dir)
    if not root.is_dir():
        raise NoRecordsError(f"results folder {root} does not exist; {HOW_TO_MAKE_RECORDS}")
    results = Results(results_dir=root, frame=pd.DataFrame(columns=FRAME_COLUMNS),
                      runs=pd.DataFrame(columns=RUN_COLUMNS), records={})
    renames = _parse_pairs(rename)
    wanted = [m.strip() for m in models.split(",")] if isinstance(models, str) else models
    rows, runs = [], []
    read = []
    names_read: dict[str, set[str]] = {"rows": set(), "sources": set()}
    for path in sorted(root.rglob("*.json")):
        before = results.ignored
        record = _read_record(path, results)
        read.append((path, record, results.ignored > before))   # not a run record at all: ignored, not skipped
    made_here = _checkpoints_made_here([record for _, record, _ in read])
    for path, record, not_a_record in read:
        if record is None:
            results.skipped += not not_a_record
            continue
        if record["run_id"] in results.records:
            results.warn(f"{path}: run_id {record['run_id']} already read from "
                         f"{results.records[record['run_id']]['path']}; this copy is ignored")
            results.skipped += 1
            continue
        results.read += 1
        model = record.get("model") or {}
        source = str(model.get("source", "?"))
        version, size = recognise_preset(source, model.get("config"))
        # A name the record carries (--name, or a fine-tuned checkpoint's "base (task)") wins. A model we
        # pretrained ourselves (its record names the pretraining) is not the released preset its shape equals.
        preset_label = None if model.get("pretraining") or record.get("kind") == "pretrain" else label_for(version, size)
        name = model.get("name") or preset_label or source_name(source)
        names_read["rows"].add(name)
        names_read["sources"].add(source)
        name = renames.get(name, renames.get(source, name))
        record["label"] = name
        results.records[record["run_id"]] = record
        if record.get("kind") not in METRIC_KINDS:
            continue
        if wanted is not None and name not in wanted:
            continue
        if record.get("kind") == "evaluate" and _resolved(source) in made_here:
            # Scoring a checkpoint again gives its fine-tuning numbers (albert_bench/engine/inputs.py): the
            # same run, not another seed. Its row is the finetune record's.
            results.rescored += 1
            continue
        _check_files(record, results)
        info = dict(run_id=record["run_id"], kind=record["kind"], task=record.get("task"), model=name,
                    source=source, version=version, size=size, num_parameters=model.get("num_parameters"),
                    seed=record.get("seed"))
        runs.append({**info, "steps": record.get("steps"), "best_step": record.get("best_step"),
                     "wall_time_s": record.get("wall_time_s"), "created_at": record.get("created_at"),
                     "path": record["path"]})
        for checkpoint in ("best", "last"):
            for split, metrics in ((record["metrics"] or {}).get(checkpoint) or {}).items():
                for metric, value in (metrics or {}).items():
                    if isinstance(value, (int, float)) or value is None:
                        rows.append({**info, "checkpoint": checkpoint, "split": split, "metric": metric,
                                     "value": value, "score": score_of(info["task"], metric, value)})
    _check_selection(results, wanted, renames, names_read)
    if rows:
        results.frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    if runs:
        results.runs = pd.DataFrame(runs, columns=RUN_COLUMNS)
    if strict and results.warnings:
        raise ValueError(f"{len(results.warnings)} problem(s) in {root} (--strict):\n  "
                         + "\n  ".join(results.warnings))
    return results
