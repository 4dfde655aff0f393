"""The fine-tuning loop: AdamW + linear warmup/decay, gradient accumulation to the recipe's
global batch, mixed precision, dev scoring, best/last checkpoints, exact resume, DDP.

    from albert_bench.engine.train import TrainSettings, train
    settings = TrainSettings(lr=3e-5, batch_size=32, train_steps=800, warmup_steps=200, seed=42)
    result = train(model, train_features, settings, "runs/rte", score=score_fn, main_metric="accuracy")
    result.best_metrics, result.best_dir          # output_dir/best, output_dir/last: HF format (albert_bench-only for a shared_sublayer config)

Task-agnostic: features are the tasks' dicts, and `score(model, precision)` returns
({split: metrics}, {split: [per-example prediction dicts]}). Under torchrun every process
calls `train` the same way; see albert_bench/engine/distributed.py.

Output folder:
    best/        best dev checkpoint (config.json, model.safetensors, tokenizer, predictions-*.jsonl, metrics.json;
                 a shared_sublayer model: albert_bench_model.safetensors + ALBERT_BENCH_ONLY.md, see modeling/checkpoint.py)
    last/        final weights, the same files
    checkpoint/  resumable state: weights, optimizer.pt, rng-rank*.pt, trainer_state.json
    log.jsonl    one line per step: step, loss, lr, grad_norm (+ eval metrics when scored)

SIGUSR1 / SIGTERM / SIGINT during `train` finish the optimizer step, save checkpoint/ and raise
TrainingStopped (albert_bench/engine/signals.py); `resume=True` then continues exactly. The
trainer state lists the run's segments (one per start: steps, wall time, the signal that ended it).
"""
from __future__ import annotations

import contextlib
import inspect
import json
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from albert_bench.engine import distributed as dist
from albert_bench.engine.batching import LengthGroupedBatches, collate, feature_length, split_batch
from albert_bench.engine.evaluation import autocast, model_inputs, pick_device, resolve_precision
from albert_bench.engine.progress import Progress
# The resumable checkpoint and the stop signals have their own modules; re-exported here as one API.
from albert_bench.engine.resumable import (RESUME_KEYS, _existing, _swap_in, checkpoint_settings,  # noqa: F401
                                           end_segment, existing_checkpoint, load_checkpoint, new_segment,
                                           save_checkpoint, stop_here)
from albert_bench.engine.signals import TrainingInterrupted, TrainingStopped, graceful_stop  # noqa: F401
from albert_bench.engine.health import LossWatch, TrainingDiverged
from albert_bench.io import atomic_write_json, atomic_write_text
from albert_bench.records import to_jsonable, write_jsonl

ScoreFn = Callable[[nn.Module, str], "tuple[dict[str, dict], dict[str, list[dict]]]"]


@dataclass
class TrainSettings:
    lr: float
    batch_size: int                    # global batch per optimizer step (all ranks, all micro-batches)
    train_steps: int                   # planned optimizer steps: the LR schedule is defined by these
    warmup_steps: int
    weight_decay: float = 0.01         # AdamW; never on LayerNorm weights or biases
    adam_eps: float = 1e-6
    adam_betas: tuple[float, float] = (0.9, 0.999)
    max_grad_norm: float = 1.0         # global gradient-norm clipping
    eval_every: int = 0                # 0: every 10% of training; always at the end too
    checkpoint_every: int = 0          # 0: a resumable checkpoint at every evaluation
    micro_batch_size: int | None = None  # per-device forward batch; None: min(batch_size, 32)
    precision: str = "auto"            # auto (bf16/fp16 on GPU, fp32 on CPU) | fp32 | bf16 | fp16
    gradient_checkpointing: bool = False
    seed: int = 42
    eval_batch_size: int = 64

    @classmethod
    def from_recipe(cls, recipe, **kwargs) -> "TrainSettings":
        """From a tasks.recipes.Recipe (or anything with its fields) plus loop options."""
        fields = ("lr", "batch_size", "train_steps", "warmup_steps", "weight_decay", "adam_eps",
                  "adam_betas", "max_grad_norm", "eval_every")
        return cls(**{f: getattr(recipe, f) for f in fields}, **kwargs)


@dataclass
class TrainResult:
    step: int
    best_step: int | None
    best_metrics: dict                 # {split: {metric: value}} of the best evaluation ({} without dev sets)
    last_metrics: dict                 # {split: {metric: value}} at the last step
    best_dir: Path | None
    last_dir: Path
    log_path: Path
    device: str
    precision: str
    micro_batch_size: int
    accumulation_steps: int            # micro-batches per optimizer step on each rank
    world_size: int
    wall_time_s: float
    log: list[dict] = field(default_factory=list, repr=False)
    segments: list[dict] = field(default_factory=list)   # one per start of the run (see the module doc)


# ---- pieces ----------------------------------------------------------------------------

def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def make_optimizer(model: nn.Module, s: TrainSettings) -> torch.optim.AdamW:
    """AdamW; weight decay on every weight except LayerNorm parameters and biases."""
    no_decay = {id(p) for m in model.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()}
    decay, plain = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (plain if id(p) in no_decay or name.endswith("bias") else decay).append(p)
    groups = [{"params": decay, "weight_decay": s.weight_decay}, {"params": plain, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=s.lr, betas=tuple(s.adam_betas), eps=s.adam_eps)


def optimizer_step(model: nn.Module, optimizer, scheduler, scaler, max_grad_norm: float) -> tuple[torch.Tensor, float]:
    """Unscale, clip the global gradient norm, step (through the fp16 scaler), zero the gradients,
    advance the schedule. Returns the gradient norm before clipping and the LR this step used."""
    scaler.unscale_(optimizer)
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    lr = scheduler.get_last_lr()[0]
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    scheduler.step()
    return grad_norm, lr


def linear_schedule(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """LR factor: 0 -> 1 over warmup, then linearly down to 0 at total_steps."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps  # the first step already gets a non-zero LR
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))
    return factor


def save_model_dir(model: nn.Module, directory: Path, tokenizer=None, metrics: dict | None = None,
                   predictions: dict[str, list[dict]] | None = None, step: int | None = None,
                   extra_files: dict[str, dict] | None = None) -> Path:
    """A Hugging Face format model folder (albert_bench-only for a shared_sublayer config; plus metrics.json, predictions-*.jsonl and any
    `extra_files` {name: JSON content}, e.g. the input settings), atomically."""
    tmp = directory.with_name(f".{directory.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, tokenizer=tokenizer)
    for name, content in (extra_files or {}).items():
        atomic_write_json(tmp / name, content)
    for split, rows in (predictions or {}).items():
        write_jsonl(tmp / f"predictions-{split}.jsonl", rows)
    atomic_write_json(tmp / "metrics.json", to_jsonable({"step": step, "metrics": metrics or {}}))
    _swap_in(tmp, directory)
    return directory


def _is_better(value: float, best: float | None, higher_is_better: bool) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if best is None:
        return True
    return value > best if higher_is_better else value < best


# ---- the loop --------------------------------------------------------------------------

def train(model: nn.Module, train_features: Sequence[dict], settings: TrainSettings, output_dir: str | Path,
          score: ScoreFn | None = None, main_metric: str | None = None, higher_is_better: bool = True,
          tokenizer=None, resume: bool = False, device: str | torch.device | None = None, pad_id: int = 0,
          extra_files: dict[str, dict] | None = None, log_every: float | None = None,
          started: float | None = None, on_log: Callable[[dict], None] | None = None,
          _stop_at_step: int | None = None) -> TrainResult:
    """Fine-tune `model` in place for settings.train_steps optimizer steps.

    Dev scoring (`score`, on every rank: collect_outputs shards the batches) every eval_every
    steps and at the end picks the best checkpoint by `main_metric` of the first split `score`
    returns, in its direction.
    `resume=True` continues from output_dir/checkpoint and ends exactly as an uninterrupted
    run would (same batches, same RNG, same optimizer state). Under torchrun (WORLD_SIZE > 1)
    it joins the process group itself. `extra_files` ({name: JSON content}) go into every saved
    model folder (best/, last/) beside config.json. When one rank raises, every rank stops within
    seconds with that rank's error (distributed.StopAllOnFailure); a stop signal ends every rank at
    the same step with a checkpoint (signals.graceful_stop). `log_every`: seconds between plain
    progress lines when stderr is no terminal (besides one every 5%). `started`: when this segment
    of the run began (time.time(); default now), so a caller's data loading counts in its wall time.
    `on_log(entry)`: called with each step's log entry (loss, lr, grad_norm, and "eval" {split:
    metrics} when scored) on every rank, e.g. an experiment tracker's (engine/tracking.py).
    """
    device = pick_device(device)
    created = dist.init_from_env(device)
    try:
        # A stop (TrainingStopped is a TrainingInterrupted) is every rank's agreed end, not a failure.
        # A divergence is every rank's too: the loss and gradient norm it is judged on are global.
        with dist.StopAllOnFailure(expected=(TrainingInterrupted, TrainingDiverged)), graceful_stop() as stop:
            return _train(model, train_features, settings, Path(output_dir), score, main_metric, higher_is_better,
                          tokenizer, resume, device, pad_id, extra_files, _stop_at_step, stop, log_every,
                          started or time.time(), on_log)
    finally:
        dist.shutdown(created)


def _train(model, features, s: TrainSettings, out: Path, score, main_metric, higher_is_better,
           tokenizer, resume, device, pad_id, extra_files, stop_at, stop, log_every, started, on_log) -> TrainResult:
    world, rank = dist.world_size(), dist.rank()
    if min(s.batch_size, len(features)) < world:
        raise ValueError(f"batch size {s.batch_size} ({len(features)} training features) is smaller than the "
                         f"{world} processes: each needs a share of every batch; use fewer processes")
    if s.train_steps < 1:
        raise ValueError(f"train_steps must be >= 1, got {s.train_steps}")
    precision = resolve_precision(s.precision, device)
    per_rank = math.ceil(s.batch_size / world)
    micro = min(s.micro_batch_size or min(s.batch_size, 32), per_rank)
    accumulation = math.ceil(per_rank / micro)
    eval_every = s.eval_every or max(1, round(s.train_steps / 10))
    ckpt_every = s.checkpoint_every or eval_every
    set_seed(s.seed + rank)

    model.to(device)
    if s.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    optimizer = make_optimizer(model, s)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_schedule(s.warmup_steps, s.train_steps))
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    sampler = LengthGroupedBatches([feature_length(f) for f in features], s.batch_size, seed=s.seed)

    # `state` is everything besides tensors that a resumed run needs; it is saved as JSON.
    state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "best": None, "last_eval": None, "log": [],
             "settings": to_jsonable(asdict(s)), "num_features": len(features)}
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    if resume:
        state = load_checkpoint(out, model, optimizer, scheduler, scaler, state, device, rank)
    segment = new_segment(state, started)
    ddp = model
    if world > 1:
        ddp = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def evaluate(step: int) -> dict:
        dist.phase(f"step {step} (dev scoring)")
        metrics, predictions = score(model, precision)
        first = next(iter(metrics)) if metrics else None
        if first is not None and main_metric not in metrics[first]:
            raise ValueError(f"dev scoring of split {first!r} returned {sorted(metrics[first])}, without the "
                             f"main metric {main_metric!r} that picks the best checkpoint")
        value = metrics[first][main_metric] if first is not None else None
        best = state["best"]
        if _is_better(value, best and best["value"], higher_is_better):
            state["best"] = {"step": step, "value": value, "metrics": metrics}
            if rank == 0:
                save_model_dir(model, out / "best", tokenizer, metrics, predictions, step, extra_files)
        state["last_eval"] = {"step": step, "metrics": metrics}
        return metrics, predictions

    last_predictions = None
    batches = sampler.iterate(state["epoch"], state["batch_in_epoch"])
    progress = Progress(s.train_steps, state["step"], "train", enabled=rank == 0, log_every=log_every)
    # Label keys a head does not take (is_impossible for the span head) stay out of its call.
    accepted = set(inspect.signature(model.forward).parameters)
    watch = LossWatch(state["log"], check_grad_norm=precision != "fp16", say=None if rank == 0 else lambda _: None)
    model.train()
    while state["step"] < s.train_steps:
        epoch, index, batch = next(batches)
        dist.phase(f"step {state['step'] + 1}")
        mine = split_batch(batch, world)[rank]
        loss_sum = torch.zeros((), device=device)
        micro_batches = split_batch(mine, math.ceil(len(mine) / micro))
        for k, indices in enumerate(micro_batches):
            inputs = model_inputs(collate([features[i] for i in indices], pad_id), device, with_labels=True)
            inputs = {key: value for key, value in inputs.items() if key in accepted}
            # Only the last micro-batch all-reduces gradients; the others accumulate locally.
            sync = world == 1 or k == len(micro_batches) - 1
            with (contextlib.nullcontext() if sync else ddp.no_sync()):
                with autocast(device, precision):
                    loss = ddp(**inputs).loss.float()
                # Weight each micro-batch mean by its share of the GLOBAL batch, so the gradient
                # is the global-batch mean whatever the accumulation and process count.
                # DDP averages over processes, hence the factor `world`.
                loss = loss * (len(indices) / len(batch))
                scaler.scale(loss * world).backward()
            loss_sum += loss.detach()
        grad_norm, lr = optimizer_step(model, optimizer, scheduler, scaler, s.max_grad_norm)

        step = state["step"] = state["step"] + 1
        state["epoch"], state["batch_in_epoch"] = epoch, index + 1
        entry = {"step": step, "epoch": epoch, "loss": dist.sum_across(float(loss_sum), device),
                 "lr": lr, "grad_norm": float(grad_norm)}
        scoring = score is not None and (step % eval_every == 0 or step == s.train_steps)
        try:   # NaN / inf (loss, gradient norm; weights before scoring): stop before this step is scored or saved
            watch.check(entry, state["log"], model if scoring else None)
        except TrainingDiverged as err:   # what runs.finetune needs for the record marked diverged
            end_segment(segment, state, started, "diverged")
            err.best, err.segments = state["best"], state["segments"]
            err.loop = {"device": str(device), "precision": precision, "micro_batch_size": micro,
                        "accumulation_steps": accumulation, "world_size": world}
            progress.close()
            raise
        if scoring:
            # Every rank scores (its share of the batches; the outputs are gathered), so every
            # rank holds the same metrics and best step, and none waits through another's pass.
            entry["eval"], last_predictions = evaluate(step)
            model.train()
        state["log"].append(to_jsonable(entry))
        if on_log is not None:
            on_log(state["log"][-1])
        progress.step(step, sequences=len(batch), loss=entry["loss"], lr=lr)
        if "eval" in entry:
            progress.evaluation(step, entry["eval"], main_metric)

        def save():   # keeps a stop's stopped_by (stop_here sets it, then saves)
            end_segment(segment, state, started, segment["stopped_by"])
            save_checkpoint(out, model, optimizer, scheduler, scaler, state, rank)
        saved = step % ckpt_every == 0 or step == s.train_steps
        if saved:
            save()
        try:
            stop_here(stop, device, step, s.train_steps, out, save, saved, state, segment, started, rank)
        except TrainingStopped:
            progress.close()
            raise
        if stop_at is not None and step >= stop_at and step < s.train_steps:
            progress.close()
            raise TrainingInterrupted(f"stopped after step {step} (test hook)")
    progress.close()

    last_metrics = (state["last_eval"] or {}).get("metrics", {})
    if score is not None and last_predictions is None:  # resumed a finished run: score again (every rank)
        dist.phase("the end (dev scoring)")
        last_metrics, last_predictions = score(model, precision)
    if rank == 0:
        save_model_dir(model, out / "last", tokenizer, last_metrics, last_predictions, state["step"], extra_files)
        atomic_write_text(out / "log.jsonl", "".join(json.dumps(e) + "\n" for e in state["log"]))
    dist.barrier()
    end_segment(segment, state, started)
    best = state["best"]
    return TrainResult(
        step=state["step"], best_step=best["step"] if best else None, best_metrics=best["metrics"] if best else {},
        last_metrics=last_metrics, best_dir=out / "best" if best else None, last_dir=out / "last",
        log_path=out / "log.jsonl", device=str(device), precision=precision, micro_batch_size=micro,
        accumulation_steps=accumulation, world_size=world, wall_time_s=time.time() - started, log=state["log"],
        segments=state["segments"])
