"""Data-parallel training under torchrun: one process per device, the same global batches.

    torchrun --nproc_per_node 2 -m albert_bench finetune --task rte --model albert-base-v2 ...

Every rank builds the same batch list (same seed) and takes its slice of each global batch;
gradients are averaged by DistributedDataParallel. Only rank 0 evaluates and writes files.
"""
from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as dist


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    return rank() == 0


def init_from_env(device: torch.device) -> bool:
    """Join the process group torchrun (or a test) describes in WORLD_SIZE/RANK/MASTER_ADDR.
    NCCL on GPU, gloo on CPU. Returns True when this call created the group (the caller
    then tears it down with `shutdown`)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    # Rank 0 scores dev sets while the others wait at a barrier: allow long evaluations.
    dist.init_process_group(backend=backend, timeout=timedelta(hours=2))
    return True


def shutdown(created: bool) -> None:
    if created and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def sum_across(value: float, device: torch.device) -> float:
    """Sum a number over ranks (for logging the global loss)."""
    if world_size() == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item())

