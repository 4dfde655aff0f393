"""Running a model over features: the outputs a task scores, in feature order.

    from albert_bench.engine.evaluation import collect_outputs
    outputs = collect_outputs(model, features, batch_size=64)
    outputs["logits"][i]        # numpy array for feature i: (num_labels,) or (num_choices,)
    outputs["start_logits"][i]  # (len(features[i]["input_ids"]),): trimmed to the feature

Shared by training (dev scoring every few steps), `evaluate` and `predict`. Also holds the
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

from albert_bench.engine.batching import MODEL_INPUT_KEYS, collate, eval_batches, feature_length

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
                    max_tokens: int | None = None, desc: str = "eval") -> dict[str, list[np.ndarray]]:
    """Run `model` (in eval mode) over `features`; returns name -> one numpy array per feature,
    in the features' order. Batches go longest-first for speed; the order is restored here."""
    from tqdm import tqdm

    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    results: dict[str, list] = {}
    batches = eval_batches(features, batch_size, max_tokens=max_tokens)
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
    return results
