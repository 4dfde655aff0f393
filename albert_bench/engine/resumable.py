"""The resumable checkpoint (output_dir/checkpoint) and the run's segments, for the fine-tuning
loop (train.py) and pretraining: weights as safetensors, optimizer / schedule / scaler and each
rank's RNG with torch.save (read back with weights_only=True: no pickles), trainer_state.json.

A run stopped by a signal (signals.py) saves here at an optimizer-step boundary; `resume=True`
continues exactly. state["segments"] lists every start of the run: started_at, wall_time_s,
start_step, end_step, stopped_by (the signal's name, or None).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from albert_bench.engine import distributed as dist
from albert_bench.engine.signals import TrainingStopped
from albert_bench.io import atomic_write_json, atomic_write_text

# Settings that must match for a resumed run to continue the same run.
RESUME_KEYS = ("lr", "batch_size", "train_steps", "warmup_steps", "seed", "weight_decay", "adam_eps")


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace directory `final` by `tmp` so a crash leaves either the old or the new one."""
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _existing(final: Path) -> Path | None:
    """`final`, or its `.old` copy when a crash hit between the two renames of _swap_in."""
    old = final.with_name(final.name + ".old")
    return final if final.is_dir() else old if old.is_dir() else None


def existing_checkpoint(out: Path) -> Path | None:
    """The resumable checkpoint folder of output dir `out` (checkpoint/ or its .old copy), or None."""
    return _existing(Path(out) / "checkpoint")


def checkpoint_settings(out: Path) -> dict | None:
    """The settings a resumable checkpoint in `out` was written with, or None (none there, unreadable)."""
    folder = existing_checkpoint(out)
    try:
        return json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))["settings"] if folder else None
    except (OSError, ValueError, KeyError):
        return None


def _rng_state() -> dict:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": (name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached))}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---- the checkpoint ---------------------------------------------------------------

def save_checkpoint(out: Path, model, optimizer, scheduler, scaler, state: dict, rank: int) -> None:
    """output_dir/checkpoint, written into a temp folder and renamed. No pickles: weights as
    safetensors, optimizer/RNG tensors with torch.save (read back with weights_only=True)."""
    tmp = out / ".checkpoint.tmp"
    if rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    dist.barrier()
    torch.save(_rng_state(), tmp / f"rng-rank{rank}.pt")  # each process has its own dropout stream
    dist.barrier()
    if rank == 0:
        model.save_pretrained(tmp)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict()}, tmp / "optimizer.pt")
        atomic_write_json(tmp / "trainer_state.json", state)
        atomic_write_text(out / "log.jsonl", "".join(json.dumps(e) + "\n" for e in state["log"]))
        _swap_in(tmp, out / "checkpoint")
    dist.barrier()


def load_checkpoint(out: Path, model, optimizer, scheduler, scaler, state: dict, device, rank: int,
                    keys: Sequence[str] = RESUME_KEYS) -> dict:
    """Restore weights, optimizer, schedule, scaler and this rank's RNG from out/checkpoint; refuse
    one written by a different run (any of `keys` in state["settings"], or the feature count)."""
    from albert_bench.modeling.checkpoint import load_weights

    folder = existing_checkpoint(out)
    if folder is None:
        raise FileNotFoundError(f"--resume: no checkpoint in {out / 'checkpoint'}; start without --resume "
                                "(or point --output-dir at the interrupted run's folder)")
    saved = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    changed = {k: (saved["settings"].get(k), state["settings"][k]) for k in keys
               if saved["settings"].get(k) != state["settings"][k]}
    if saved.get("num_features") != state["num_features"]:
        changed["training features"] = (saved.get("num_features"), state["num_features"])
    if changed:
        detail = ", ".join(f"{k} differs" if isinstance(b, dict) else f"{k}: {a} then, {b} now"
                           for k, (a, b) in changed.items())
        raise ValueError(f"--resume: {folder} was written by a different run ({detail}); "
                         "use the same settings and data, or a new --output-dir")
    load_weights(model, folder)
    model.to(device)
    opt = torch.load(folder / "optimizer.pt", map_location=device, weights_only=True)
    optimizer.load_state_dict(opt["optimizer"])
    scheduler.load_state_dict(opt["scheduler"])
    if opt["scaler"]:
        scaler.load_state_dict(opt["scaler"])
    rng_file = folder / f"rng-rank{rank}.pt"
    if rng_file.exists():
        _set_rng_state(torch.load(rng_file, weights_only=True))
    saved["settings"] = state["settings"]
    return saved


# ---- segments and the stop

def new_segment(state: dict, started: float) -> dict:
    """Append this start of the run to state["segments"] (kept in the checkpoint) and return it."""
    segment = {"started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
               "wall_time_s": 0.0, "start_step": state["step"], "end_step": state["step"], "stopped_by": None}
    state.setdefault("segments", []).append(segment)
    return segment


def end_segment(segment: dict, state: dict, started: float, stopped_by: str | None = None) -> None:
    segment.update(end_step=state["step"], wall_time_s=round(time.time() - started, 3), stopped_by=stopped_by)


def stop_here(stop, device, step: int, total: int, out: Path, save: Callable[[], None], saved: bool,
              state: dict, segment: dict, started: float, rank: int) -> None:
    """At an optimizer-step boundary (every rank, same step): on a stop signal save the checkpoint
    (its trainer state alone when `saved` at this step already) and raise TrainingStopped."""
    name = stop.agreed(device) if step < total else None   # the last step just finishes
    if not name:
        return
    end_segment(segment, state, started, stopped_by=name)
    stop.saving = True
    try:
        if not saved:
            save()
        elif rank == 0:
            atomic_write_json(existing_checkpoint(out) / "trainer_state.json", state)
        dist.barrier()
    finally:
        stop.saving = False
    raise TrainingStopped(step, total, out, name)


# ---- an output folder's run: refuse to lose it, start over, or find its record -----------

RECORD_MARKER = "record_path.txt"   # written into the output folder once the run's record is written
RUN_ID_FILE = "run_id.txt"          # the run's id from its first start: a resumed run keeps it (record, trackers)
# What a run leaves in its output folder (train.py's module doc); --overwrite removes exactly these.
# (tensorboard/ stays: its event files sit in one folder per run id.)
RUN_FILES = ("checkpoint", "checkpoint.old", ".checkpoint.tmp", "best", ".best.tmp", "last", ".last.tmp",
             "log.jsonl", RECORD_MARKER, RUN_ID_FILE)


def run_id(out: Path, new_id: str, resume: bool, write: bool = True) -> str:
    """The id of the run in `out`: on resume the one its first start saved there (so the record and
    the trackers' run continue under one name), else `new_id`, saved there (when `write`: rank 0)."""
    path = Path(out) / RUN_ID_FILE
    if resume and existing_checkpoint(out) is not None and path.is_file():
        return path.read_text(encoding="utf-8").strip()
    if write:
        Path(out).mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, new_id + "\n")
    return new_id


def checkpoint_state(out: Path) -> dict | None:
    """trainer_state.json of out's resumable checkpoint, or None (none there, unreadable)."""
    folder = existing_checkpoint(out)
    try:
        return json.loads((folder / "trainer_state.json").read_text(encoding="utf-8")) if folder else None
    except (OSError, ValueError):
        return None


def finished_record(out: Path, settings: dict) -> Path | None:
    """The record of the finished run in `out`: its marker names a record file that exists, and
    the checkpoint there holds the last step of a run with these `settings` (RESUME_KEYS)."""
    marker, state = Path(out) / RECORD_MARKER, checkpoint_state(out)
    if not marker.is_file() or state is None:
        return None
    saved = state.get("settings", {})
    if state.get("step") != saved.get("train_steps") or any(saved.get(k) != settings.get(k) for k in settings):
        return None
    path = Path(marker.read_text(encoding="utf-8").strip())
    return path if path.is_file() else None


def check_output_dir(out: Path, resume: bool, overwrite: bool, clear: bool = True) -> None:
    """Refuse to start over a run that holds a resumable checkpoint (unless `overwrite`: then its
    files are removed, by this process when `clear`, i.e. rank 0)."""
    out = Path(out)
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other: --resume continues the run in "
                         f"{out}, --overwrite deletes it and starts over; pass one")
    if existing_checkpoint(out) is None:
        return
    if overwrite:
        if clear:
            clear_run(out)
        return
    if resume:
        return
    state = checkpoint_state(out) or {}
    total = (state.get("settings") or {}).get("train_steps")
    where = f"at step {state.get('step', '?')}" + (f" of {total}" if total else "")
    raise ValueError(f"--output-dir {out} holds a resumable checkpoint {where}; continue it with --resume, "
                     "or start over with --overwrite (deletes that run's checkpoint, best/, last/ and log)")


def clear_run(out: Path) -> None:
    """Remove a previous run's files from `out`. Each is first renamed to a hidden name, so a crash
    midway never leaves a half-deleted checkpoint that --resume would take for a good one."""
    for name in RUN_FILES:
        path = Path(out) / name
        if not path.exists():
            continue
        doomed = path.with_name(f".deleting-{name.lstrip('.')}")
        shutil.rmtree(doomed, ignore_errors=True)
        os.replace(path, doomed)
        shutil.rmtree(doomed) if doomed.is_dir() else doomed.unlink()
