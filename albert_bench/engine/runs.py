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
import shutil
import sys
import time
from pathlib import Path
from typing import Any


from albert_bench import records
from albert_bench.engine import health, inputs, tracking
from albert_bench.engine.resumable import (RECORD_MARKER, RESUME_KEYS, check_output_dir, checkpoint_state,
                                           finished_record, run_id as saved_run_id)
from albert_bench.engine.signals import TrainingInterrupted
from albert_bench.engine.train import TrainResult, TrainSettings, set_seed, train
from albert_bench.io import atomic_write_text
from albert_bench.engine.loading import (LOOP_OPTIONS, PRESET_PREFIX, checkpoint_name, infer_version,  # noqa: F401
                                         label_overrides, load_model, load_split, load_tokenizer, main_rank,
                                         model_class, model_summary, pretraining_of, resolve_recipe, scorer,
                                         tokenizer_name)
# Scoring a saved checkpoint (evaluate / predict) is checkpoint_scoring.py; the run functions stay one API here.
from albert_bench.engine.checkpoint_scoring import evaluate, label_permutation, predict  # noqa: F401


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
    tracker = tracking.trackers(report_to, Path(tracking_dir or output_dir / "tensorboard"), rank=main_rank())
    # Before any data is read: never start over a run that holds work, unless told to.
    check_output_dir(output_dir, resume, overwrite, clear=main_rank() == 0)
    if resume:
        done = finished_record(output_dir, {k: seed if k == "seed" else getattr(rec, k) for k in RESUME_KEYS})
        if done is not None:
            if main_rank() == 0:
                print(f"finetune: {output_dir} already finished; its record: {done} (no new record)", file=sys.stderr)
            return {**json.loads(done.read_text(encoding="utf-8")), "path": str(done)}
    # Named before training so the trackers' run carries it; a resumed run keeps its first start's.
    run_id = saved_run_id(output_dir, records.new_run_id(task.name, created_at), resume, write=main_rank() == 0)
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
    name = name or checkpoint_name(model)
    saved_inputs = inputs.file_content(task, {**input_values, "max_seq_length": max_len}, base_model=str(model),
                                       base_name=name, base_pretraining=pretraining_of(model))

    train_features = task.featurize(train_examples, tok, max_len)
    evals = {split: (examples, task.featurize(examples, tok, max_len)) for split, examples in eval_examples.items()}
    eval_batch_size = int(overrides.get("eval_batch_size") or 64)
    score = scorer(task, evals, eval_batch_size, pad_id) if evals else None
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
                           "model": model_summary(model, net), "tokenizer": tokenizer_name(tokenizer, model),
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
        model=model_summary(model, net, name), tokenizer=tokenizer_name(tokenizer, model),
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
    if main_rank() == 0:
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
    if main_rank() == 0:
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
    if main_rank() != 0:
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
