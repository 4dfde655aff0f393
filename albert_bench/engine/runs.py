"""What the CLI runs, as keyword-argument functions that take task OBJECTS (core modules never
import the `tasks` registry; the caller looks tasks up).

    from albert_bench.engine import runs
    from albert_bench.tasks import get_task
    record = runs.finetune(task=get_task("rte"), model="albert-base-v2", data_dir="glue/RTE",
                           output_dir="runs/rte", recipe="paper")
    record["metrics"]["best"]["dev"]["accuracy"]
    record = runs.evaluate(task=get_task("mnli"), model="runs/mnli/best", data_dir="glue/MNLI")
    paths = runs.predict(task=get_task("rte"), model="runs/rte/best", data_dir="glue/RTE",
                         output_dir="submission")                   # [submission/RTE.tsv]

`model` is a checkpoint directory, a Hugging Face Hub id, or "preset:NAME" (a randomly
initialised model of an AlbertConfig preset, e.g. "preset:albert-tiny"; needs `tokenizer`).
Every run writes a record (albert_bench/records.py) into `results_dir` and returns it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from albert_bench import records
from albert_bench.engine import fields, health, inputs, tracking
from albert_bench.modeling.config import AlbertConfig
from albert_bench.engine.evaluation import collect_outputs, pick_device, resolve_precision
from albert_bench.modeling.model import (AlbertForMultipleChoice, AlbertForQuestionAnswering,
                                AlbertForSequenceClassification)
from albert_bench.engine.resumable import (RECORD_MARKER, RESUME_KEYS, check_output_dir, checkpoint_state,
                                           finished_record, run_id as saved_run_id)
from albert_bench.engine.signals import TrainingInterrupted
from albert_bench.engine.train import TrainResult, TrainSettings, set_seed, train
from albert_bench.io import atomic_write_text

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


def _model_summary(source: str, model: torch.nn.Module, name: str | None = None) -> dict:
    """The record's model: its source, config, size, head, and its name when it has one (--name, or an
    albert-bench checkpoint's "base (task)"); without one the reports name it by its source."""
    n = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    return {"source": str(source), **({"name": name} if name else {}), "config": model.config.to_dict(),
            "num_parameters": n, "head": type(model).__name__}


def _checkpoint_name(model: str) -> str | None:
    """A local albert-bench checkpoint's own name ("albert-base-v2 (rte)"), else None (no download)."""
    return inputs.default_name(inputs.read(model)) if Path(str(model)).is_dir() else None


def _tokenizer_name(tokenizer: Any, model: str) -> str | None:
    """What the record says the tokenizer was: its folder, the model's folder, or the object's type."""
    if isinstance(tokenizer, (str, os.PathLike)):
        return str(tokenizer)
    if tokenizer is None:
        return str(model)
    return getattr(tokenizer, "name_or_path", None) or type(tokenizer).__name__


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


def _scorer(task, split_data: dict, batch_size: int, pad_id: int, transform=None):
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

def finetune(task: Any, model: str, tokenizer: Any = None, data_dir: str | None = None,
             output_dir: str | None = None, results_dir: str = "results", recipe: Any = "paper",
             version: str | None = None, max_steps: int | None = None, seed: int = 42,
             overrides: dict | None = None, micro_batch_size: int | None = None, precision: str = "auto",
             gradient_checkpointing: bool = False, qa_head: str = "hf", resume: bool = False,
             overwrite: bool = False, max_train_examples: int | None = None, max_eval_examples: int | None = None,
             device: str | None = None, log_every: float | None = None, name: str | None = None,
             report_to: Any = None, tracking_dir: str | None = None, restart_of: str | None = None,
             restart_attempt: int | None = None,
             _stop_at_step: int | None = None) -> dict:
    """Fine-tune `model` on `task` with a recipe ("paper", "quick" or a Recipe object), score
    the dev splits during training, keep output_dir/best and output_dir/last, write the run
    record. Returns the record (plus "path": where it was written).

    An output_dir holding a resumable checkpoint needs `resume=True` (continue it) or
    `overwrite=True` (delete it, start over). Resuming a run that already finished returns its
    record as it is (no second record). `name` names the model in the record and tables (default:
    the base model's name; an albert-bench checkpoint's "base (task)"). `report_to` ("tensorboard,mlflow", a list, "none"): experiment
    trackers (engine/tracking.py) that get every step's loss / lr / grad_norm, each evaluation's metrics,
    the config and the final metrics, under the record's run_id; TensorBoard event files go to
    tracking_dir/RUN_ID (default OUTPUT_DIR/tensorboard/RUN_ID). A signal (SIGTERM...) stops
    training with a checkpoint and raises TrainingStopped before any record is written. The
    record's wall_time_s is the sum over its "segments" (one per start of the run). The record's "health" (engine/health.py) judges the
    run against the task's trivial baseline; a loss that turns NaN / inf stops training at that step,
    writes the record marked diverged, and raises health.TrainingDiverged (its .record set).
    `restart_of` / `restart_attempt` (the suite's --restarts) are recorded as given.

        finetune(task=get_task("mrpc"), model="albert-base-v2", data_dir="glue/MRPC",
                 output_dir="runs/mrpc", max_steps=200, overrides={"lr": 2e-5})
    """
    started = time.time()
    created_at = records.utc_now()
    version = version or infer_version(model)
    overrides = dict(overrides or {})
    rec = resolve_recipe(task, recipe, version, overrides, max_steps)
    output_dir = Path(output_dir or Path("runs") / task.name)
    # A missing tracking backend fails here, before data or a model loads.
    tracker = tracking.trackers(report_to, Path(tracking_dir or output_dir / "tensorboard"), rank=_rank())
    # Before any data is read: never start over a run that holds work, unless told to.
    check_output_dir(output_dir, resume, overwrite, clear=_rank() == 0)
    if resume:
        done = finished_record(output_dir, {k: seed if k == "seed" else getattr(rec, k) for k in RESUME_KEYS})
        if done is not None:
            if _rank() == 0:
                print(f"finetune: {output_dir} already finished; its record: {done} (no new record)", file=sys.stderr)
            return {**json.loads(done.read_text(encoding="utf-8")), "path": str(done)}
    # Named before training so the trackers' run carries it; a resumed run keeps its first start's.
    run_id = saved_run_id(output_dir, records.new_run_id(task.name, created_at), resume, write=_rank() == 0)
    set_seed(seed)

    # Data first: a wrong --data-dir fails before a large model is loaded.
    train_examples = load_split(task, task.train_split, data_dir, max_train_examples)
    eval_examples = {split: load_split(task, split, data_dir, max_eval_examples) for split in task.eval_splits}
    tok = load_tokenizer(tokenizer, model)
    # The task's own input settings (SQuAD doc_stride...) may come with --set like recipe fields.
    input_flags = {k: v for k, v in overrides.items() if k in getattr(task, "input_settings", ()) and v is not None}
    task = inputs.configure(task, input_flags)
    cls = model_class(task, qa_head)
    dropouts = {"hidden_dropout_prob": rec.albert_dropout, "attention_probs_dropout_prob": rec.albert_dropout,
                "classifier_dropout_prob": rec.classifier_dropout}
    net = load_model(model, cls, vocab_size=getattr(tok, "vocab_size", None), **label_overrides(task), **dropouts)
    max_len = min(rec.max_seq_length, net.config.max_position_embeddings)
    pad_id = getattr(tok, "pad_token_id", 0)
    # What shapes the inputs, saved with every checkpoint so that scoring it later featurizes the same.
    input_values = {name: getattr(rec if name == "max_seq_length" else task, name) for name in inputs.names(task)}
    input_sources = {name: "flag" if name in overrides else "recipe" for name in input_values}
    name = name or _checkpoint_name(model)
    saved_inputs = inputs.file_content(task, {**input_values, "max_seq_length": max_len}, base_model=str(model),
                                       base_name=name)

    train_features = task.featurize(train_examples, tok, max_len)
    evals = {split: (examples, task.featurize(examples, tok, max_len)) for split, examples in eval_examples.items()}
    eval_batch_size = int(overrides.get("eval_batch_size") or 64)
    score = _scorer(task, evals, eval_batch_size, pad_id) if evals else None
    higher = {m.name: m.higher_is_better for m in task.metrics}.get(task.main_metric, True)

    settings = TrainSettings.from_recipe(
        rec, micro_batch_size=micro_batch_size, precision=precision, gradient_checkpointing=gradient_checkpointing,
        seed=seed, eval_batch_size=eval_batch_size, checkpoint_every=int(overrides.get("checkpoint_every") or 0))
    options = {"name": recipe if isinstance(recipe, str) else "custom", "version": version,
               "micro_batch_size": micro_batch_size, "precision": precision,
               "gradient_checkpointing": gradient_checkpointing, "checkpoint_every": settings.checkpoint_every,
               "eval_batch_size": eval_batch_size, "max_train_examples": max_train_examples,
               "max_eval_examples": max_eval_examples, "qa_head": qa_head}
    tracker.start(run_id, {"run_id": run_id, "task": task.name, "seed": seed, "recipe": {**rec.to_dict(), **options},
                           "model": _model_summary(model, net), "tokenizer": _tokenizer_name(tokenizer, model),
                           "inputs": inputs.describe(input_values, input_sources, max_len),
                           "data_dir": str(data_dir) if data_dir else None, "output_dir": str(output_dir)},
                  first_step=(checkpoint_state(output_dir) or {}).get("step", 0) + 1 if resume else 1)
    diverged = None
    try:
        result = train(net, train_features, settings, output_dir, score=score, main_metric=task.main_metric,
                       higher_is_better=higher, tokenizer=tok if hasattr(tok, "save_pretrained") else None,
                       resume=resume, device=device, pad_id=pad_id, extra_files={inputs.INPUTS_FILE: saved_inputs},
                       log_every=log_every, started=started, on_log=tracker.log_entry, _stop_at_step=_stop_at_step)
    except health.TrainingDiverged as err:   # the record is still written (marked diverged), then raised
        diverged, result = err, _diverged_result(err, output_dir, started)
    except BaseException as err:   # a stop (resumable) or a failure: the trackers' run ends with that status
        tracker.finish(status="KILLED" if isinstance(err, (TrainingInterrupted, KeyboardInterrupt)) else "FAILED")
        raise

    predictions, predictions_last = _copy_run_files(result, list(evals), results_dir, run_id)
    examples = {task.train_split: records.count_examples(train_examples),
                **{s: records.count_examples(ex) for s, (ex, _) in evals.items()}}
    recipe_dict = {**rec.to_dict(), **options, "micro_batch_size": result.micro_batch_size,
                   "accumulation_steps": result.accumulation_steps, "world_size": result.world_size,
                   "precision": result.precision, "resumed": resume}
    record = records.build_record(
        run_id=run_id, kind="finetune", task=task.name,
        splits={"train": task.train_split, "eval": list(evals)},
        model=_model_summary(model, net, name), tokenizer=_tokenizer_name(tokenizer, model),
        recipe=recipe_dict, seed=seed, metrics={"best": result.best_metrics, "last": result.last_metrics},
        best_step=result.best_step, examples=examples, predictions=predictions,
        log=f"{run_id}/log.jsonl", wall_time_s=_total_wall_time(result.segments, started),
        device=records.device_string(result.device, result.world_size), created_at=created_at, predictions_last=predictions_last, main_metric=task.main_metric,
        steps=result.step, features={task.train_split: len(train_features),
                                     **{s: len(f) for s, (_, f) in evals.items()}},
        output_dir=str(output_dir), checkpoints={"best": str(result.best_dir) if result.best_dir else None,
                                                 "last": str(result.last_dir) if result.last_dir else None},
        inputs=inputs.describe(input_values, input_sources, max_len), data_dir=str(data_dir) if data_dir else None,
        segments=result.segments, health=_health(task, result, evals, higher, diverged),
        **({"restart_of": restart_of, "restart_attempt": restart_attempt} if restart_attempt else {}))
    if _rank() == 0:
        record["path"] = str(records.write_record(record, results_dir))
        # The marker that a later --resume finds the finished run by (after the record: never dangling).
        atomic_write_text(output_dir / RECORD_MARKER, str(Path(record["path"]).resolve()) + "\n")
    if diverged is not None:
        tracker.finish(status="FAILED")
        diverged.record = record
        raise diverged
    tracker.finish(tracking.final_metrics(record["metrics"], best_step=result.best_step))
    return record


def _diverged_result(err: "health.TrainingDiverged", output_dir: Path, started: float) -> TrainResult:
    """What train would have returned up to the step that diverged (no last/ checkpoint: its weights
    are not finite); the step log is written as train writes it."""
    best = err.best or {}
    log_path = output_dir / "log.jsonl"
    if _rank() == 0:
        atomic_write_text(log_path, "".join(json.dumps(e) + "\n" for e in records.to_jsonable(err.log)))
    return TrainResult(step=err.step, best_step=best.get("step"), best_metrics=best.get("metrics") or {},
                       last_metrics={}, best_dir=output_dir / "best" if best else None, last_dir=None,
                       log_path=log_path, wall_time_s=time.time() - started, log=err.log,
                       segments=err.segments or [{"wall_time_s": 0.0}], **err.loop)


def _health(task: Any, result: TrainResult, evals: dict, higher: bool, diverged) -> dict:
    """The record's "health": engine/health.assess on the first dev split, against the task's trivial
    baseline (tasks/baselines.py) of the same (possibly limited) dev examples."""
    split = next(iter(evals), None)
    baseline = None
    if split is not None and hasattr(task, "baseline"):
        try:
            baseline = task.baseline(evals[split][0], split).to_dict()
        except (ValueError, AttributeError, KeyError):   # unlabelled dev set, a task without a rule
            baseline = None
    predictions = None
    path = result.best_dir / f"predictions-{split}.jsonl" if result.best_dir and split else None
    if path is not None and path.is_file():
        predictions = records.read_jsonl(path)
    metrics = {split: result.best_metrics[split]} if split in result.best_metrics else {}
    return health.assess(result.log, metrics, task.main_metric, higher, baseline, predictions, diverged)


def _total_wall_time(segments: list[dict], started: float) -> float:
    """Close this segment (it began when finetune was called) and sum every segment's wall time."""
    segments[-1]["wall_time_s"] = round(time.time() - started, 3)
    return round(sum(seg["wall_time_s"] for seg in segments), 3)


def _copy_run_files(result, splits: list[str], results_dir: str, run_id: str) -> tuple[dict, dict]:
    """Copy the best and last dev predictions and the step log beside the record (rank 0 only);
    returns {split: relative path} for best and for last."""
    best, last = {}, {}
    if _rank() != 0:
        return best, last
    folder = records.run_folder(results_dir, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    for split in splits:
        for source, found, suffix in ((result.best_dir, best, ""), (result.last_dir, last, "-last")):
            src = source / f"predictions-{split}.jsonl" if source else None
            if src is not None and src.is_file():
                dst = folder / f"predictions-{split}{suffix}.jsonl"
                shutil.copyfile(src, dst)
                found[split] = dst.relative_to(results_dir).as_posix()
    shutil.copyfile(result.log_path, folder / "log.jsonl")
    return best, last


# ---- evaluate / predict ------------------------------------------------------------------

def label_permutation(config: AlbertConfig, task: Any, label_map: dict | None) -> list[int] | None:
    """Column j of the task's logits = column perm[j] of the checkpoint's, matched by label NAME
    (so an MNLI model trained with entailment=0 scores right against another order)."""
    if task.head == "regression":
        if config.num_labels != 1:
            raise ValueError(f"{task.name} is a regression task but the checkpoint has num_labels="
                             f"{config.num_labels}; use a model fine-tuned on {task.name}")
        return None
    if task.head != "classification":
        return None
    names = [str(config.id2label[i]) for i in range(config.num_labels)]
    if label_map:
        unknown = set(label_map) - set(names)
        if unknown:
            raise ValueError(f"--label-map names {sorted(unknown)} are not labels of the checkpoint ({names})")
        names = [str(label_map.get(n, n)) for n in names]
    wanted = [str(x) for x in task.labels]
    if len(names) != len(wanted):
        raise ValueError(f"the checkpoint has {len(names)} labels {names} but {task.name} has {len(wanted)} "
                         f"{wanted}; use a model fine-tuned on {task.name}")
    lower = [n.lower() for n in names]
    missing = [w for w in wanted if w.lower() not in lower]
    if missing:
        example = ",".join(f"{n}={w}" for n, w in zip(names, wanted))
        generic = all(re.fullmatch(r"LABEL_\d+", n) for n in names)
        why = "has only generic label names" if generic else f"has labels {names}"
        raise ValueError(f"the checkpoint {why}, which do not name {task.name}'s labels {wanted}; pass "
                         f"--label-map to say which is which (e.g. --label-map {example}; check the model card)")
    return [lower.index(w.lower()) for w in wanted]


def _model_dir(model: str) -> Path | None:
    """The checkpoint's local directory (a Hub id downloaded), None for a preset."""
    from albert_bench.modeling.checkpoint import resolve_model_dir
    return resolve_model_dir(model) if not str(model).startswith(PRESET_PREFIX) else None


def _load_for_scoring(task: Any, model: str, directory: Path | None):
    """from_pretrained with the checkpoint's own labels; refuses a checkpoint without the head."""
    architectures = AlbertConfig.from_pretrained(directory).architectures if directory else None
    cls = model_class(task, "hf", architectures)
    if architectures and cls.__name__ not in architectures:
        raise ValueError(f"{model} was saved from {architectures[0]}, not {cls.__name__}: it has no trained "
                         f"{task.head} head; fine-tune it first (albert-bench finetune --task {task.name})")
    return load_model(str(directory or model), cls)


def _permuted(perm: list[int] | None):
    if perm is None or perm == sorted(perm):
        return None
    return lambda outputs: {**outputs, "logits": [row[perm] for row in outputs["logits"]]}


def evaluate(task: Any, model: str, tokenizer: Any = None, data_dir: str | None = None,
             split: str | Sequence[str] | None = None, label_map: dict | None = None,
             results_dir: str = "results", max_eval_examples: int | None = None, batch_size: int = 64,
             max_seq_length: int | None = None, input_settings: dict | None = None, precision: str = "auto",
             device: str | None = None, force: bool = False, name: str | None = None) -> dict:
    """Score a fine-tuned checkpoint on dev split(s) without training; writes and returns the
    record (metrics "best" and "last" are both this checkpoint's). Inputs are featurized with,
    per setting, `max_seq_length` / `input_settings` (e.g. {"doc_stride": 64}), else the
    checkpoint's saved settings (albert_bench.engine.inputs), else the paper recipe's. A checkpoint
    fine-tuned on another task is refused unless the task is scored with it by design (AX: MNLI) or
    `force` (the record then has "forced": true and "checkpoint_task"). `name` names the model in the
    record (default: an albert-bench checkpoint's base model and task, "albert-base-v2 (rte)").

        evaluate(task=get_task("mnli"), model="some-org/albert-base-v2-mnli", data_dir="glue/MNLI",
                 label_map={"LABEL_0": "entailment", "LABEL_1": "neutral", "LABEL_2": "contradiction"})
    """
    splits = [split] if isinstance(split, str) else list(split or task.eval_splits)
    record, _ = _score_checkpoint("evaluate", task, model, tokenizer, data_dir, splits, label_map, results_dir,
                                  batch_size, _input_flags(max_seq_length, input_settings), precision, device,
                                  max_eval_examples, force=force, name=name)
    record["main_metric"] = task.main_metric
    record["path"] = str(records.write_record(record, results_dir))
    return record


def _input_flags(max_seq_length: int | None, input_settings: dict | None) -> dict:
    """evaluate / predict's `max_seq_length` argument joined to their other input settings."""
    return {**(input_settings or {}), **({"max_seq_length": max_seq_length} if max_seq_length else {})}


def _score_checkpoint(kind, task, model, tokenizer, data_dir, splits, label_map, results_dir, batch_size,
                      flags, precision, device, limit=None, force=False, name=None) -> tuple[dict, dict]:
    """What evaluate and predict share: load the checkpoint, featurize and score the splits, write the
    per-example predictions; returns the (unwritten) record and the predictions by split."""
    started, created_at = time.time(), records.utc_now()
    inputs.check_flags(task, flags)  # before loading anything large
    directory = _model_dir(model)
    saved = inputs.read(directory)
    task_check = inputs.check_task(task, saved, model, force)
    dev = pick_device(device)
    net = _load_for_scoring(task, model, directory).to(dev).eval()
    tok = load_tokenizer(tokenizer, model)
    perm = label_permutation(net.config, task, label_map)
    precision = resolve_precision(precision, dev)
    values, sources = inputs.resolve(task, flags, saved, version=infer_version(model))
    task = inputs.configure(task, values)
    max_len = min(values["max_seq_length"], net.config.max_position_embeddings)
    data = {}
    for s in splits:
        examples = load_split(task, s, data_dir, limit)
        data[s] = (examples, task.featurize(examples, tok, max_len))
    score = _scorer(task, data, batch_size, getattr(tok, "pad_token_id", 0), _permuted(perm))
    metrics, predictions = score(net, precision)
    run_id = records.new_run_id(task.name, created_at)
    paths = {s: records.write_predictions(results_dir, run_id, s, rows) for s, rows in predictions.items()}
    record = records.build_record(
        run_id=run_id, kind=kind, task=task.name, splits={"eval" if kind == "evaluate" else kind: splits},
        model=_model_summary(model, net, name or inputs.default_name(saved)),
        tokenizer=_tokenizer_name(tokenizer, model), recipe={"max_seq_length": max_len, "eval_batch_size": batch_size, "precision": precision}, seed=None,
        metrics={"best": metrics, "last": metrics}, best_step=None,
        examples={s: records.count_examples(ex) for s, (ex, _) in data.items()}, predictions=paths, log=None,
        wall_time_s=time.time() - started, device=records.device_string(dev), created_at=created_at,
        label_map=label_map, label_permutation=perm, inputs=inputs.describe(values, sources, max_len),
        features={s: len(f) for s, (_, f) in data.items()}, **task_check)
    return record, predictions


def predict(task: Any, model: str, tokenizer: Any = None, data_dir: str | None = None,
            output_dir: str = "predictions", splits: Sequence[str] | None = None, label_map: dict | None = None,
            results_dir: str | None = None, batch_size: int = 64, max_seq_length: int | None = None,
            input_settings: dict | None = None, precision: str = "auto", device: str | None = None,
            force: bool = False, name: str | None = None) -> list[Path]:
    """Write submission files for the test split(s) (task.write_predictions) and a record of
    kind "predict" into `results_dir` (default: output_dir, so nothing lands outside the folders
    named); returns the written files. Input settings, the task check (`force`) and `name` as in `evaluate`.

        predict(task=get_task("rte"), model="runs/rte/best", data_dir="glue/RTE", output_dir="submission")
    """
    splits = list(splits or task.test_splits)
    results_dir = output_dir if results_dir is None else results_dir
    record, predictions = _score_checkpoint("predict", task, model, tokenizer, data_dir, splits, label_map,
                                            results_dir, batch_size, _input_flags(max_seq_length, input_settings),
                                            precision, device, force=force, name=name)
    written = [Path(p) for s in splits for p in task.write_predictions(s, predictions[s], output_dir)]
    record["submission_files"] = [str(p) for p in written]
    records.write_record(record, results_dir)
    return written
