"""Graceful stop: SIGUSR1 / SIGTERM (what SLURM sends before preemption or the time limit) and
SIGINT (Ctrl-C) end a training run at the next optimizer-step boundary with a resumable checkpoint.

    with graceful_stop() as stop:            # handlers installed here, the previous ones restored after
        for step in ...:
            ...optimizer step...
            if stop.agreed(device):          # under DDP every rank agrees (all-reduce max)
                save_checkpoint(...)
                raise TrainingStopped(step, total, out, stop.signal_name)

The CLI turns TrainingStopped into one line and exit status EXIT_STOPPED (75, EX_TEMPFAIL:
"stopped, resumable"). Nested `graceful_stop()` blocks (a suite around its jobs' runs) share
one flag, so a signal between two jobs is seen by the next check too.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager


EXIT_STOPPED = 75   # EX_TEMPFAIL from sysexits.h: stopped by a signal, resumable
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGUSR1", "SIGTERM", "SIGINT") if hasattr(signal, name))
HARD_KILL_AFTER = 3  # the third SIGINT stops at once (a person who really means it)


class TrainingInterrupted(RuntimeError):
    """Raised by the `_stop_at_step` test hook: simulates a run killed after that step."""


class TrainingStopped(TrainingInterrupted):
    """A stop signal ended training: the checkpoint in `checkpoint_dir` holds step `step` of `total`
    and no record was written. `step` is None when the stop came between a suite's jobs."""

    def __init__(self, step: int | None, total: int | None, checkpoint_dir, signal_name: str, job: str | None = None):
        super().__init__(step, total, checkpoint_dir, signal_name, job)
        self.step, self.total, self.checkpoint_dir, self.signal_name, self.job = step, total, checkpoint_dir, signal_name, job

    def __str__(self) -> str:   # `job` is filled in by the suite after the raise
        where = f"at step {self.step} of {self.total}" if self.step is not None else "between jobs"
        return (f"stopped by {self.signal_name} {where}" + (f" of job {self.job}" if self.job else "")
                + (f"; checkpoint in {self.checkpoint_dir}" if self.checkpoint_dir else ""))

    def __reduce__(self):   # picklable across processes (multiprocessing reports it back)
        return type(self), (self.step, self.total, self.checkpoint_dir, self.signal_name, self.job)


class StopFlag:
    """Set by the signal handler; read at step boundaries. `saving` marks the checkpoint write, during
    which further signals are only noted (the write is atomic anyway, see train._swap_in)."""

    def __init__(self):
        self.signum = 0
        self.count = 0
        self.saving = False

    @property
    def signal_name(self) -> str | None:
        return signal.Signals(self.signum).name if self.signum else None

    def handle(self, signum, frame) -> None:
        self.count += 1
        if not self.signum:
            self.signum = signum
            _note(f"albert-bench: {signal.Signals(signum).name} received; stopping after this optimizer step "
                  "and saving a resumable checkpoint\n")
            return
        if signum == signal.SIGINT and self.count >= HARD_KILL_AFTER and not self.saving:
            raise KeyboardInterrupt
        _note(f"albert-bench: {signal.Signals(signum).name} received again; already stopping"
              + (" (saving the checkpoint, please wait)" if self.saving else "") + "\n")

    def agreed(self, device) -> str | None:
        """The signal name when this rank, or under DDP any rank, was signalled; else None. Every rank
        must call it at the same step: one all-reduce of one int (max) when world size > 1."""
        from albert_bench.engine import distributed as dist
        signum = dist.agree(self.signum, device)
        if signum and not self.signum:
            self.signum = signum      # another rank's signal: this rank stops for the same reason
        return signal.Signals(signum).name if signum else None


def _note(text: str) -> None:
    # os.write, not print: a handler runs between bytecodes, maybe inside a print to the same stream.
    try:
        os.write(2, text.encode())
    except OSError:
        pass


_active: StopFlag | None = None


@contextmanager
def graceful_stop():
    """Install the stop handlers for the block (main thread only; elsewhere the flag is never set)
    and restore the previous ones after. An enclosing block's flag is reused."""
    global _active
    if _active is not None:
        yield _active
        return
    flag = StopFlag()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, flag.handle)
    _active = flag
    try:
        yield flag
    finally:
        _active = None
        for signum, handler in previous.items():
            signal.signal(signum, handler)
