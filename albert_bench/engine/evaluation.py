"""Running a model over features: the outputs a task scores, in feature order.

    from albert_bench.engine.evaluation import collect_outputs
    outputs = collect_outputs(model, features, batch_size=64)
    outputs["logits"][i]        # numpy array for feature i: (num_labels,) or (num_choices,)
    outputs["start_logits"][i]  # (len(features[i]["input_ids"]),): trimmed to the feature

Shared by training (dev scoring every few steps), `evaluate` and `predict`. Inside a process
group (torchrun) it is a collective: every rank calls it with the same features, scores a share
of the batches and gets every feature's outputs back. Also holds the
precision / device choices, which training and inference make the same way.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from typing import Sequence

import numpy as np
import torch

from albert_bench.engine import distributed
from albert_bench.engine.batching import MODEL_INPUT_KEYS, collate, eval_batches, feature_length, shard_batches

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# Output fields that are not per-example predictions (or are too large to keep per feature).
SKIPPED_OUTPUTS = {"loss", "hidden_states", "attentions", "last_hidden_state", "pooler_output"}
# Per-token outputs: cut back to the feature's own length, so padding never reaches scoring.
PER_TOKEN_OUTPUTS = {"start_logits", "end_logits"}


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """`device` if given; else this process's GPU (LOCAL_RANK under torchrun) or the CPU."""
    if device is not None and str(device) != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def resolve_precision(precision: str, device: torch.device) -> str:
    """auto -> bf16 on GPUs that support it, else fp16 on GPU, fp32 on CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"--precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        if device.type != "cuda":
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("--precision fp16 needs a GPU; on CPU use fp32 (default) or bf16")
    return precision


def autocast(device: torch.device, precision: str):
    """Mixed-precision context for forward passes (weights stay fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def show_progress() -> bool:
    """Progress bars on stderr only for a person watching: a terminal, not CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def model_inputs(batch: dict[str, torch.Tensor], device: torch.device, with_labels: bool) -> dict:
    keys = [k for k in batch if k in MODEL_INPUT_KEYS or with_labels]
    return {k: batch[k].to(device, non_blocking=True) for k in keys}


def output_fields(out) -> dict[str, torch.Tensor]:
    """Every non-None tensor of a model output (dataclass or dict), minus SKIPPED_OUTPUTS."""
    items = out.items() if isinstance(out, dict) else ((f.name, getattr(out, f.name)) for f in dataclasses.fields(out))
    return {k: v for k, v in items if k not in SKIPPED_OUTPUTS and isinstance(v, torch.Tensor)}


@torch.no_grad()
def collect_outputs(model: torch.nn.Module, features: Sequence[dict], batch_size: int = 64,
                    device: torch.device | None = None, precision: str = "fp32", pad_id: int = 0,
                    max_tokens: int | None = None, desc: str = "eval", shard: bool = True
                    ) -> dict[str, list[np.ndarray]]:
    """Run `model` (in eval mode) over `features`; returns name -> one numpy array per feature,
    in the features' order. Batches go longest-first for speed; the order is restored here.

    Under a process group (and `shard`), every rank must call this with the same features: each
    runs whole batches of the single-process batch list (batching.shard_batches), and the
    outputs are gathered to every rank, equal to one process's bit for bit. shard=False: this
    rank runs every batch itself (a caller outside a collective)."""
    from tqdm import tqdm

    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    results: dict[str, list] = {}
    batches = eval_batches(features, batch_size, max_tokens=max_tokens)
    world = distributed.world_size() if shard else 1
    if world > 1:
        batches = [batches[b] for b in shard_batches(batches, features, world)[distributed.rank()]]
    try:
        for indices in tqdm(batches, desc=desc, unit="batch", file=sys.stderr, disable=not show_progress(),
                            leave=False):
            batch = collate([features[i] for i in indices], pad_id=pad_id)
            with autocast(device, precision):
                out = model(**model_inputs(batch, device, with_labels=False))
            for name, tensor in output_fields(out).items():
                values = tensor.detach().float().cpu().numpy()            # (B, ...)
                column = results.setdefault(name, [None] * len(features))
                for row, i in enumerate(indices):
                    value = values[row]
                    if name in PER_TOKEN_OUTPUTS:
                        value = value[:feature_length(features[i])]
                    column[i] = value
    finally:
        model.train(was_training)
    if world > 1:
        results = _gather(results, len(features))
    return results


def _gather(results: dict[str, list], n: int) -> dict[str, list[np.ndarray]]:
    """Each rank's filled-in entries -> every feature's outputs, on every rank."""
    mine = {name: {i: v for i, v in enumerate(column) if v is not None} for name, column in results.items()}
    full: dict[str, list] = {}
    for part in distributed.all_gather(mine):
        for name, values in part.items():
            column = full.setdefault(name, [None] * n)
            for i, value in values.items():
                column[i] = value
    missing = [name for name, column in full.items() if any(v is None for v in column)]
    assert not missing, f"gathered outputs miss features in {missing}: the ranks scored different feature lists"
    return full
