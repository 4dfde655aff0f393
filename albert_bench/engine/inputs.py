"""The settings that shape a checkpoint's inputs travel with the checkpoint, so scoring it later
(evaluate, predict, the suite) featurizes exactly as fine-tuning did.

`finetune` writes, beside config.json of every checkpoint it saves (best/, last/):

    albert_bench_inputs.json
    {"format": "albert-bench-inputs", "version": 1,
     "task": "squad_v2", "labels": [],                    # label names in model-id order (classification)
     "base_model": "albert-base-v2",                      # the --model it was fine-tuned from
     "base_name": "my-albert",                            # only with finetune --name: what to call that model
     "base_pretraining": {"objective": "sop", ...},       # only for a base albert-bench pretrained (its summary)
     "max_seq_length": 384,                               # every task
     "doc_stride": 128, "max_query_length": 64,           # SQuAD: windows and question cut
     "max_answer_length": 30, "n_best": 20,               # SQuAD: span decoding
     "null_threshold": null,                              # SQuAD v2: null = tune on the scored split (best F1)
     "max_qa_length": 128}                                # RACE: question-option tokens kept

transformers ignores the file, so the directory still loads there unchanged. When scoring, each
value comes from, in this order: the command-line flag, the checkpoint's file, the task's paper
recipe (ALBERT_FACTS.md section 3). Every record states each value and where it came from.
The task and base model name the checkpoint ("albert-base-v2 (rte)", `default_name`) and let
evaluate / predict refuse it on another task (`check_task`).

    from albert_bench.engine import inputs
    values, sources = inputs.resolve(task, flags={"max_seq_length": 128}, saved=inputs.read(ckpt))
    task = inputs.configure(task, values)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from albert_bench import records
from albert_bench.io import atomic_write_json

INPUTS_FILE = "albert_bench_inputs.json"
FORMAT, VERSION = "albert-bench-inputs", 1
SOURCES = ("flag", "checkpoint", "recipe")
# Every input setting a task may have, with its type (the flags of evaluate / predict, the --set keys).
TYPES = {"max_seq_length": int, "doc_stride": int, "max_query_length": int, "max_answer_length": int,
         "n_best": int, "null_threshold": float | None, "max_qa_length": int}


def names(task: Any) -> tuple[str, ...]:
    """Every input setting of `task`: max_seq_length plus the task's own (task.input_settings)."""
    return ("max_seq_length", *getattr(task, "input_settings", ()))


def recipe_values(task: Any, version: str = "v2") -> dict:
    """The paper's values: the recipe's max_seq_length and the task's defaults for the rest."""
    values = {"max_seq_length": task.get_recipe("paper", version=version).max_seq_length}
    values.update({name: getattr(task, name) for name in getattr(task, "input_settings", ())})
    return values


def check_flags(task: Any, flags: dict, where: str = "flag") -> None:
    """A setting the task does not have is a user error, not something to ignore."""
    unknown = sorted(k for k, v in flags.items() if v is not None and k not in names(task))
    if unknown:
        shown = ", ".join("--" + k.replace("_", "-") for k in unknown)
        raise ValueError(f"{shown} does not apply to task {task.name!r}; its input settings are "
                         f"{', '.join(names(task))} ({where})")


def resolve(task: Any, flags: dict | None = None, saved: dict | None = None,
            version: str = "v2") -> tuple[dict, dict]:
    """(values, sources): each setting from the flag, else the checkpoint, else the recipe."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    check_flags(task, flags)
    saved = saved or {}
    values, sources = {}, {}
    for name, default in recipe_values(task, version).items():
        if name in flags:
            values[name], sources[name] = flags[name], "flag"
        elif name in saved:
            values[name], sources[name] = saved[name], "checkpoint"
        else:
            values[name], sources[name] = default, "recipe"
    return values, sources


def configure(task: Any, values: dict) -> Any:
    """The task with its own input settings (not max_seq_length) set to `values`."""
    own = {k: values[k] for k in getattr(task, "input_settings", ()) if k in values}
    return task.with_inputs(**own) if own else task


def describe(values: dict, sources: dict, max_len: int) -> dict:
    """What a record says: {name: {"value", "source"}}; a max_seq_length cut to the model's
    position table shows the requested value too."""
    out = {name: {"value": values[name], "source": sources[name]} for name in values}
    if max_len != values["max_seq_length"]:
        out["max_seq_length"] = {"value": max_len, "source": sources["max_seq_length"],
                                 "requested": values["max_seq_length"],
                                 "note": "cut to the model's max_position_embeddings"}
    return out


def file_content(task: Any, values: dict, base_model: str | None = None, base_name: str | None = None,
                 base_pretraining: dict | None = None) -> dict:
    """The file's object. base_model: the --model it was fine-tuned from, as given; base_name: the
    name that model goes by (finetune's --name, or its own checkpoint's name), when it has one;
    base_pretraining: how albert-bench pretrained that model (loading.pretraining_of), when it did."""
    base = {"base_model": str(base_model)} if base_model is not None else {}
    base.update({"base_name": base_name} if base_name else {})
    base.update({"base_pretraining": base_pretraining} if base_pretraining else {})
    return {"format": FORMAT, "version": VERSION, "task": task.name, "labels": list(task.labels), **base,
            **{name: values[name] for name in names(task)}}


def default_name(saved: dict | None) -> str | None:
    """A fine-tuned checkpoint's name: the model it was fine-tuned from plus its task,
    "albert-base-v2 (rte)"; None when its file does not say (older files, other checkpoints)."""
    if not saved or not saved.get("task") or not saved.get("base_model"):
        return None
    return records.fine_tuned_name(saved["base_model"], saved["task"], saved.get("base_name"))


def check_task(task: Any, saved: dict | None, model: str, force: bool = False) -> dict:
    """A checkpoint fine-tuned on another task is refused (its head predicts that task's labels),
    unless `task.scored_with` names that task (AX with an MNLI model) or `force`. Returns what the
    record says: {"checkpoint_task": ...} (when the file names it), plus "forced": True."""
    trained = (saved or {}).get("task")
    if not trained:
        return {}
    if trained == task.name or trained in getattr(task, "scored_with", ()):
        return {"checkpoint_task": trained}
    if not force:
        raise ValueError(f"{model} was fine-tuned on {trained} (its {INPUTS_FILE}), not {task.name}: its head "
                         f"predicts {trained}'s labels. Score it with --task {trained}, fine-tune on {task.name} "
                         f"first, or pass --force to score it on {task.name} anyway (the record says so)")
    return {"checkpoint_task": trained, "forced": True}


def write(directory: str | Path, task: Any, values: dict, base_model: str | None = None) -> Path:
    return atomic_write_json(Path(directory) / INPUTS_FILE, file_content(task, values, base_model))


def read(directory: str | Path | None) -> dict | None:
    """The saved settings of a checkpoint directory, or None (a checkpoint from elsewhere)."""
    if directory is None:
        return None
    path = Path(directory) / INPUTS_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} (line {e.lineno}) is not valid JSON: {e.msg}; delete it to score with "
                         "the recipe's settings, or fix it") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not an albert-bench inputs file (no \"format\": \"{FORMAT}\")")
    if data.get("version", 0) > VERSION:
        raise ValueError(f"{path} has version {data['version']}; this albert-bench reads version {VERSION}: "
                         "upgrade albert-bench")
    return {k: v for k, v in data.items() if k not in ("format", "version")}
