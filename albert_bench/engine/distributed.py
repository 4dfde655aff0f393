"""Data-parallel training under torchrun: one process per device, the same global batches.

    torchrun --nproc_per_node 2 -m albert_bench finetune --task rte --model albert-base-v2 ...

Every rank builds the same batch list (same seed) and takes its slice of each global batch;
gradients are averaged by DistributedDataParallel. Dev scoring runs on every rank: each scores
a share of the evaluation batches and the outputs are gathered (evaluation.collect_outputs).
Only rank 0 writes files. When one rank raises, every rank stops within seconds naming that
rank's error (`StopAllOnFailure`), instead of waiting in a collective until the timeout.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from datetime import timedelta

import torch
import torch.distributed as dist

# Status codes for `agree`: the largest one any rank contributes wins.
OK, STOP, FAILED = 0, 1, 2
# A collective that does not complete within this long fails. Dev scoring no longer makes ranks
# wait for each other (every rank scores its share), and a rank that raises stops the others
# through StopAllOnFailure, so this only ends true hangs; it still has to cover what one rank
# does alone while the others wait: saving a large checkpoint (best/, last/) to a slow disk.
DEFAULT_TIMEOUT_S = 30 * 60
TIMEOUT_ENV = "ALBERT_BENCH_DIST_TIMEOUT_S"


class RankFailed(RuntimeError):
    """Raised on a rank because ANOTHER rank failed; the message names that rank, where and why."""


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    return rank() == 0


def timeout() -> timedelta:
    """The process group's collective timeout: $ALBERT_BENCH_DIST_TIMEOUT_S seconds, else 30 minutes."""
    value = os.environ.get(TIMEOUT_ENV, "")
    try:
        seconds = float(value) if value else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={value!r} is not a number of seconds") from None
    if seconds <= 0:
        raise ValueError(f"{TIMEOUT_ENV}={value!r} must be a positive number of seconds")
    return timedelta(seconds=seconds)


def init_from_env(device: torch.device) -> bool:
    """Join the process group torchrun (or a test) describes in WORLD_SIZE/RANK/MASTER_ADDR.
    NCCL on GPU, gloo on CPU. Returns True when this call created the group (the caller
    then tears it down with `shutdown`)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    global _broken
    _broken = None
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, timeout=timeout())
    return True


def shutdown(created: bool) -> None:
    if created and dist.is_initialized():
        dist.destroy_process_group()


def _check_usable() -> None:
    if _broken is not None:
        raise RankFailed(f"the process group is unusable: {_broken}")


def barrier() -> None:
    if world_size() > 1:
        _check_usable()
        dist.barrier()


def sum_across(value: float, device: torch.device) -> float:
    """Sum a number over ranks (for logging the global loss)."""
    if world_size() == 1:
        return value
    _check_usable()
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item())


def agree(code: int, device: torch.device | None = None) -> int:
    """Every rank's code at a step boundary -> the largest, the same on every rank: one small
    all-reduce (a status OK < STOP < FAILED, or signals.StopFlag's signal number), so a stop request
    seen by one rank stops all at the same step. Every rank must call it at the same point."""
    if world_size() == 1:
        return code
    _check_usable()
    if device is None:
        device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" \
            else torch.device("cpu")
    t = torch.tensor([code], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def all_gather(obj) -> list:
    """Every rank's `obj` (picklable), in rank order, on every rank."""
    if world_size() == 1:
        return [obj]
    _check_usable()
    gathered = [None] * world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


# ---- one failing rank stops all ------------------------------------------------------------

_phase = ""          # where this rank is ("step 3"), for the failure message
_broken = None       # after a failure that killed another rank: why no collective can run any more
_generation = 0      # StopAllOnFailure blocks entered so far (the same count on every rank)


def phase(where: str) -> None:
    """Record where this rank is ("step 3", "step 4 (dev scoring)"); a failure message names it."""
    global _phase
    _phase = where


class StopAllOnFailure:
    """`with StopAllOnFailure(): ...` around work every rank does together (the training loop).

    Why a watchdog on the store and not a status all-reduce at step boundaries: an exception in
    the middle of forward/backward leaves the other ranks blocked inside DDP's gradient
    all-reduce (or in an evaluation gather, a checkpoint barrier), a C++ call no Python check can
    interrupt, and a status all-reduce the failing rank joins instead would pair up with the
    wrong collective. The process group's key-value store (the TCPStore of rank 0 or of the
    torchrun agent) is a side channel outside those collectives, so:

    - the failing rank writes "rank R failed at <phase>: <error>" under this block's key (the
      first failure wins), waits a few seconds for every other rank to acknowledge it, then
      re-raises its own error;
    - every rank runs a daemon thread polling that key twice a second. On seeing a failure it
      gives its own main thread GRACE_S to fail too (all ranks hitting the same error together,
      which leaves the group consistent); otherwise it prints the message and ends the process
      with os._exit(1): the main thread is stuck in a collective that cannot complete;
    - a rank whose main thread fails after another rank did raises RankFailed(that message)
      from its own error.
    If some rank had to be killed, the surviving ranks mark the group unusable (the suite's next
    barrier raises RankFailed instead of hanging). Works the same with gloo and NCCL, and covers
    errors anywhere in the block: data, forward/backward, scoring, saving.
    """
    POLL_S = 0.5
    GRACE_S = 2.0      # how long a watchdog waits for its main thread to fail on its own
    ACK_WAIT_S = 10.0  # how long a failing rank waits for the others to see its error

    def __init__(self, expected: tuple[type[BaseException], ...] = ()):
        """`expected`: exceptions every rank raises at the same point by design (a test hook's
        stop); they pass through without stopping anyone."""
        global _generation
        self.expected = expected
        _generation += 1
        self.active = world_size() > 1
        self.key = f"albert_bench/failure/{_generation}"
        self._handling = threading.Event()   # the main thread is in its failure path
        self._done = threading.Event()       # the block ended: the watchdog stops
        self._lock = threading.Lock()
        self._thread = None

    def __enter__(self):
        if self.active:
            phase("setup")
            store = dist.distributed_c10d._get_default_store()
            self.store = store
            # Its own connection, so polling never queues behind the main thread's store calls.
            watch_store = store.clone() if hasattr(store, "clone") else store
            self._thread = threading.Thread(target=self._watch, args=(watch_store,), daemon=True,
                                            name="albert-bench-failure-watch")
            self._thread.start()
        return self

    def __exit__(self, kind, error, tb):
        if not self.active:
            return False
        if error is None or isinstance(error, self.expected):
            self._stop()
            if error is not None:
                return False
            # No rank may leave (and, on rank 0, close the store) while another's watchdog still polls.
            barrier()
            return False
        self._on_error(error)        # returns only when this rank should raise its own error
        return False

    def _stop(self):
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def _message(self, error: BaseException) -> str:
        where = f" at {_phase}" if _phase else ""
        return f"rank {rank()} failed{where}: {type(error).__name__}: {error}"

    def _on_error(self, error: BaseException) -> None:
        global _broken
        with self._lock:                     # held forever by a watchdog that is ending the process
            self._handling.set()
        self._done.set()
        mine = self._message(error)
        try:
            first = self.store.compare_set(f"{self.key}/first", "", mine).decode()
            self.store.add(f"{self.key}/raised", 1)
        except Exception as store_error:     # the store's host is gone: nobody is left to tell
            first = mine
            print(f"rank {rank()}: could not tell the other ranks of this failure ({store_error})",
                  file=sys.stderr, flush=True)
        raised, killed = self._wait_for_acks()
        self._stop()
        if killed or raised < world_size():
            _broken = first
        if first != mine:
            raise RankFailed(first) from error

    def _wait_for_acks(self) -> tuple[int, int]:
        """(ranks that raised, ranks killed by their watchdog) once all have seen the failure, or
        at ACK_WAIT_S. The store vanishing here means its host (rank 0) saw it and ended."""
        raised = killed = 0
        deadline = time.monotonic() + self.ACK_WAIT_S
        while time.monotonic() < deadline:
            try:
                raised, killed = self.store.add(f"{self.key}/raised", 0), self.store.add(f"{self.key}/killed", 0)
            except Exception:
                return raised, max(killed, 1)
            if raised + killed >= world_size():
                break
            time.sleep(0.05)
        return raised, killed

    def _watch(self, store) -> None:
        key = f"{self.key}/first"
        misses = 0
        while not self._done.wait(self.POLL_S):
            try:
                if not store.check([key]):
                    misses = 0
                    continue
                message = store.get(key).decode()
            except Exception as store_error:
                # The store lives on rank 0 (or the torchrun agent): gone for a few polls means so is it.
                misses += 1
                if misses < 3 or self._done.is_set():
                    continue
                message = f"the process group's store is unreachable ({store_error}): rank 0 or the launcher died"
            if self._handling.wait(self.GRACE_S):
                return                       # the main thread failed too and reports it
            with self._lock:
                if self._handling.is_set() or self._done.is_set():
                    return
                try:
                    store.add(f"{self.key}/killed", 1)
                except Exception:
                    pass
                print(f"rank {rank()}: stopping because {message}", file=sys.stderr, flush=True)
                sys.stdout.flush()
                os._exit(1)
