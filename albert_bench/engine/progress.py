"""Training progress where people read it: a tqdm bar on a terminal, plain lines elsewhere
(SLURM logs, nohup, pipes), where a bar would be one endless line of carriage returns.

    progress = Progress(total=100, initial=0, desc="train", enabled=rank == 0, log_every=60)
    progress.step(step, loss=0.69, lr=2e-5, sequences=32)   # a line every 5% or every 60 s
    progress.evaluation(step, {"dev": {"accuracy": 0.61}})
    progress.close()

Plain line: `step 40/100 loss 0.6931 lr 2.00e-05 12.3 seq/s elapsed 0:01:10 eta 0:01:45`.
"""
from __future__ import annotations

import sys
import time

from albert_bench.engine.evaluation import show_progress

EVERY_FRACTION = 0.05   # a plain line every 5% of training


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def metrics_text(metrics: dict) -> str:
    """{"dev": {"accuracy": 0.61, "f1": 0.7}} -> "dev accuracy 0.6100 f1 0.7000"."""
    parts = []
    for split, values in (metrics or {}).items():
        numbers = " ".join(f"{k} {v:.4f}" for k, v in (values or {}).items() if isinstance(v, (int, float)))
        parts.append(f"{split} {numbers}".rstrip())
    return "; ".join(parts)


class Progress:
    def __init__(self, total: int, initial: int, desc: str, enabled: bool = True, log_every: float | None = None,
                 file=None):
        self.total, self.initial, self.desc, self.enabled = total, initial, desc, enabled
        self.log_every = log_every or None           # seconds; None: by fraction only
        self.file = file or sys.stderr
        self.bar = None
        self.started = self.last_line = time.time()
        self.every_steps = max(1, round(total * EVERY_FRACTION))
        self.sequences = 0
        self.postfix = {}
        if enabled and show_progress():
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=initial, desc=desc, unit="step", file=sys.stderr)

    def step(self, step: int, sequences: int = 0, **values: float) -> None:
        """After optimizer step `step`; `values` (loss, lr, mlm, ...) are shown, `sequences` counts throughput."""
        self.sequences += sequences
        if not self.enabled:
            return
        shown = {k: (f"{v:.2e}" if k == "lr" else f"{v:.4f}") for k, v in values.items()}
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix({**shown, **self.postfix})
            return
        now = time.time()
        due = step % self.every_steps == 0 or step == self.total or step == self.initial + 1 \
            or (self.log_every is not None and now - self.last_line >= self.log_every)
        if not due:
            return
        self.last_line = now
        elapsed = now - self.started
        done = step - self.initial
        rate = self.sequences / elapsed if elapsed > 0 else 0.0
        eta = elapsed / done * (self.total - step) if done else 0.0
        numbers = " ".join(f"{k} {v}" for k, v in shown.items())
        print(f"{self.desc}: step {step}/{self.total} {numbers} {rate:.1f} seq/s elapsed {clock(elapsed)} "
              f"eta {clock(eta)}", file=self.file, flush=True)

    def evaluation(self, step: int, metrics: dict, main: str | None = None) -> None:
        if not self.enabled or not metrics:
            return
        if self.bar is not None:
            first = next(iter(metrics))
            value = metrics[first].get(main) if main else None
            if isinstance(value, (int, float)):
                self.postfix = {f"{first}_{main}": f"{value:.4f}"}
            return
        print(f"{self.desc}: eval step {step}: {metrics_text(metrics)}", file=self.file, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
