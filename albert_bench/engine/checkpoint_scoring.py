"""Scoring a saved checkpoint without training: `evaluate` (dev metrics + a record) and `predict`
(test-set files in the official submission formats + a record). The label columns of a checkpoint
trained elsewhere are matched to the task's by name (label_permutation, --label-map); its input
settings come flag > its albert_bench_inputs.json > the recipe (inputs.py).

    from albert_bench.engine import runs          # runs.evaluate / runs.predict are these
    record = runs.evaluate(task=get_task("mnli"), model="runs/mnli/best", data_dir="glue/MNLI")
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Sequence


from albert_bench import records
from albert_bench.engine import inputs
from albert_bench.modeling.config import AlbertConfig
from albert_bench.engine.evaluation import pick_device, resolve_precision
from albert_bench.engine.loading import (PRESET_PREFIX, infer_version, load_model, load_split, load_tokenizer,
                                         model_class, model_summary, scorer, tokenizer_name)


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
    score = scorer(task, data, batch_size, getattr(tok, "pad_token_id", 0), _permuted(perm))
    metrics, predictions = score(net, precision)
    run_id = records.new_run_id(task.name, created_at)
    paths = {s: records.write_predictions(results_dir, run_id, s, rows) for s, rows in predictions.items()}
    record = records.build_record(
        run_id=run_id, kind=kind, task=task.name, splits={"eval" if kind == "evaluate" else kind: splits},
        model=model_summary(model, net, name or inputs.default_name(saved)),
        tokenizer=tokenizer_name(tokenizer, model), recipe={"max_seq_length": max_len, "eval_batch_size": batch_size, "precision": precision}, seed=None,
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

