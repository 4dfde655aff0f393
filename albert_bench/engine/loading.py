"""Loading for the run functions: the model class a task needs, models (a checkpoint, a Hub id or
"preset:NAME"), tokenizers, recipes with their --set overrides, data splits, and the dev scorer
that training and scoring share. runs.py (finetune) and checkpoint_scoring.py (evaluate / predict)
build on it."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Sequence

import torch

from albert_bench.engine import fields, inputs
from albert_bench.modeling.config import AlbertConfig
from albert_bench.engine.evaluation import collect_outputs
from albert_bench.modeling.model import (AlbertForMultipleChoice, AlbertForQuestionAnswering,
                                AlbertForSequenceClassification)

PRESET_PREFIX = "preset:"
# Loop options `overrides` may also carry (besides recipe fields such as lr or batch_size), with their types.
LOOP_OPTIONS = {"checkpoint_every": int, "eval_batch_size": int}


# ---- models, tokenizers, data ------------------------------------------------------------

def model_class(task: Any, qa_head: str = "hf", architectures: Sequence[str] | None = None) -> type:
    """The head class for task.head (ARCHITECTURE.md). For QA, qa_head="albert" (or a checkpoint
    saved from AlbertForSquadV2) gives ALBERT's original SQuAD 2.0 head."""
    if task.head in ("classification", "regression"):
        return AlbertForSequenceClassification
    if task.head == "multiple_choice":
        return AlbertForMultipleChoice
    if task.head == "question_answering":
        if qa_head == "albert" or "AlbertForSquadV2" in (architectures or ()):
            from albert_bench.modeling.squad_head import AlbertForSquadV2
            return AlbertForSquadV2
        if qa_head != "hf":
            raise ValueError(f"--qa-head {qa_head!r}: choose hf or albert")
        return AlbertForQuestionAnswering
    raise ValueError(f"task {task.name!r} has head {task.head!r}, which the engine does not know")


def label_overrides(task: Any) -> dict:
    """Config fields that make a fresh head fit the task."""
    if task.head == "regression":
        return {"num_labels": 1, "problem_type": "regression"}
    if task.head == "classification":
        return {"id2label": dict(enumerate(task.labels)), "problem_type": "single_label_classification"}
    return {}


def load_model(source: str, cls: type, vocab_size: int | None = None, **config_overrides) -> torch.nn.Module:
    """A checkpoint directory / Hub id via from_pretrained, or "preset:NAME" randomly initialised
    (with the tokenizer's vocabulary size)."""
    source = str(source)
    if source.startswith(PRESET_PREFIX):
        extra = {"vocab_size": vocab_size} if vocab_size else {}
        config = AlbertConfig.from_preset(source[len(PRESET_PREFIX):], **extra, **config_overrides)
        return cls(config)
    return cls.from_pretrained(source, **config_overrides)


def load_tokenizer(tokenizer: Any, model: str):
    """A tokenizer object as is; else AlbertTokenizer from `tokenizer` or the model's directory."""
    if tokenizer is not None and not isinstance(tokenizer, (str, os.PathLike)):
        return tokenizer
    from albert_bench.modeling.tokenizer import AlbertTokenizer
    if tokenizer is None:
        if str(model).startswith(PRESET_PREFIX):
            raise ValueError(f"--model {model} is a random preset without a tokenizer; pass --tokenizer DIR "
                             "(a folder with spiece.model)")
        from albert_bench.modeling.checkpoint import resolve_model_dir
        tokenizer = resolve_model_dir(model)
    return AlbertTokenizer.from_pretrained(tokenizer)


def infer_version(model: str) -> str:
    """"v1" for names like albert-base-v1, else "v2" (the recipes differ only on RACE)."""
    return "v1" if re.search(r"v1(\b|_|$)", Path(str(model)).name or str(model)) else "v2"


def resolve_recipe(task: Any, recipe: Any, version: str, overrides: dict, max_steps: int | None):
    """The Recipe object: `recipe` as given when it is one, else looked up by name. `overrides`
    may also hold loop options and the task's input settings (doc_stride...), which are not
    recipe fields. Every override is checked against its field's type here, before any data or
    model loads (a bad --set is one line naming the key, the value and the type wanted)."""
    if isinstance(recipe, str):
        # Recipes are data in tasks/recipes.py; the task looks its own up, so core never imports tasks.
        base = task.get_recipe(recipe, version=version)
    else:
        base = recipe
    own_inputs = tuple(getattr(task, "input_settings", ()))
    kinds = {**fields.field_types(type(base)), **LOOP_OPTIONS,
             **{k: inputs.TYPES.get(k, Any) for k in own_inputs}}
    examples = {**base.to_dict(), "checkpoint_every": 500, "eval_batch_size": 64,
                **{k: getattr(task, k, None) for k in own_inputs}}
    checked = fields.check_values(overrides, kinds, examples, what="recipe field, loop option or input setting")
    fields_set = {k: v for k, v in checked.items() if k in base.__dataclass_fields__ and v is not None}
    if max_steps is not None:
        fields_set["train_steps"] = max_steps
    from dataclasses import replace
    # --max-steps shortens the run: keep the paper's warmup FRACTION unless warmup is set too.
    if "train_steps" in fields_set and "warmup_steps" not in fields_set:
        fields_set["warmup_steps"] = round(base.warmup_steps * fields_set["train_steps"] / base.train_steps)
    return replace(base, **fields_set)


def load_split(task: Any, split: str, data_dir: Any, limit: int | None):
    examples = task.load(split, data_dir)
    if limit is not None and len(examples) > limit:
        examples = type(examples)(examples[:limit], skipped=getattr(examples, "skipped", None)) \
            if hasattr(examples, "skipped") else examples[:limit]
    return examples


def model_summary(source: str, model: torch.nn.Module, name: str | None = None) -> dict:
    """The record's model: its source, config, size, head, its name when it has one (--name, or an
    albert-bench checkpoint's "base (task)"; without one the reports name it by its source), and
    "pretraining" when albert-bench pretrained it (pretraining_of)."""
    n = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    pretraining = pretraining_of(source)
    return {"source": str(source), **({"name": name} if name else {}), "config": model.config.to_dict(),
            "num_parameters": n, "head": type(model).__name__, **({"pretraining": pretraining} if pretraining else {})}


PRETRAIN_SUMMARY = "pretrain_summary.json"   # what `albert-bench pretrain` leaves in its output folder


def sharing_strategy(config: dict) -> str:
    """Cross-layer sharing in words: "all" (one group), "none" (a group per layer), else "G groups"."""
    # TODO: switch to albert_bench.modeling.params.sharing_strategy once that module lands (issue #18).
    groups, layers = config.get("num_hidden_groups", 1), config.get("num_hidden_layers")
    return "all" if groups == 1 else "none" if groups == layers else f"{groups} groups"


def pretraining_of(source: str | os.PathLike) -> dict | None:
    """How albert-bench pretrained a local model folder: {objective, sharing, embedding_size, run_id,
    steps} from its pretrain_summary.json (pretrain's output folder; "sop" for summaries from before
    --objective), or the "base_pretraining" that finetune saved in a checkpoint's inputs file. None
    for anything else (a Hub id, a preset, a checkpoint fine-tuned from one)."""
    folder = Path(str(source))
    if not folder.is_dir():
        return None
    path = folder / PRETRAIN_SUMMARY
    if path.is_file():
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} (line {e.lineno}) is not valid JSON: {e.msg}; fix it or delete it") from None
        config = summary.get("config") or {}
        return {"objective": summary.get("objective", "sop"),
                "sharing": summary.get("sharing") or (sharing_strategy(config) if config else None),
                "embedding_size": summary.get("embedding_size", config.get("embedding_size")),
                "run_id": summary.get("run_id"), "steps": summary.get("steps")}
    return (inputs.read(folder) or {}).get("base_pretraining")


def checkpoint_name(model: str) -> str | None:
    """A local albert-bench checkpoint's own name ("albert-base-v2 (rte)"), else None (no download)."""
    return inputs.default_name(inputs.read(model)) if Path(str(model)).is_dir() else None


def tokenizer_name(tokenizer: Any, model: str) -> str | None:
    """What the record says the tokenizer was: its folder, the model's folder, or the object's type."""
    if isinstance(tokenizer, (str, os.PathLike)):
        return str(tokenizer)
    if tokenizer is None:
        return str(model)
    return getattr(tokenizer, "name_or_path", None) or type(tokenizer).__name__


def main_rank() -> int:
    return int(os.environ.get("RANK", "0"))


def scorer(task, split_data: dict, batch_size: int, pad_id: int, transform=None):
    """score(model, precision) for the training loop / evaluate: run, (permute,) task.score."""
    def score(model, precision):
        metrics, predictions = {}, {}
        for split, (examples, features) in split_data.items():
            outputs = collect_outputs(model, features, batch_size=batch_size, precision=precision,
                                      pad_id=pad_id, desc=split)
            if transform is not None:
                outputs = transform(outputs)
            metrics[split], predictions[split] = task.score(examples, features, outputs)
        return metrics, predictions
    return score


# ---- finetune ----------------------------------------------------------------------------

