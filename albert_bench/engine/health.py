"""Health of a fine-tuning run: ok, degenerate or diverged, written into every finetune record.

    from albert_bench.engine.health import assess, LossWatch, TrainingDiverged
    record["health"] = assess(log, best_metrics, "accuracy", True, baseline, best_predictions)
    # {"status": "degenerate", "reason": "...", "baseline": {...}, "grad_norm_spikes": 0, ...}

* diverged: the training loss became NaN / inf. train.py stops AT THAT STEP (LossWatch raises
  TrainingDiverged naming the step and the last finite loss) before anything of that step is scored
  or saved, so no NaN model is ever kept as best; runs.finetune still writes the record, marked
  diverged, so that a suite's --restarts sees it, then re-raises (the CLI exits 1 with the one line).
  Also diverged: a run whose loss at the end is above its loss at the start (the mean of the last
  RISE_WINDOW logged losses over RISE_TOLERANCE above the mean of the first ones, so a flat, noisy loss
  is not called a rise; runs of fewer than MIN_STEPS steps are not judged). Such a run finished: its
  record is marked, nothing stops.
* degenerate: the best dev main metric does not beat the trivial baseline (tasks/baselines.py) by
  its margin, the metric is NaN (a constant STS-B prediction), or the best checkpoint's dev
  predictions are all the same (one class; all null on SQuAD 2.0).
* gradient-norm spikes: a step whose grad_norm is over SPIKE_FACTOR x the median of the previous
  SPIKE_WINDOW steps (after SPIKE_MIN_HISTORY of them) is printed while training and counted here.
"""
from __future__ import annotations

import math
import sys
from collections import deque
from statistics import median
from typing import Any, Sequence

STATUSES = ("ok", "degenerate", "diverged")
RISE_WINDOW = 5        # logged losses averaged at the start and at the end
MIN_STEPS = 20         # shorter runs are not judged on loss rise (noise)
RISE_TOLERANCE = 0.10  # the end's mean must exceed the start's by 10% (relative) to count as a rise
SPIKE_FACTOR = 10.0
SPIKE_WINDOW = 100
SPIKE_MIN_HISTORY = 5
SPIKE_LINES = 5          # spike lines printed per run segment; every spike is counted in the record


class TrainingDiverged(RuntimeError):
    """The training loss (or gradient norm, or a weight) became NaN / inf at `step`. `record` is set
    by runs.finetune once the run's record (marked diverged) is written."""

    def __init__(self, step: int, what: str, value: float, last_finite_loss: float | None, log: list | None = None):
        self.step, self.what, self.value, self.last_finite_loss = step, what, value, last_finite_loss
        self.log = list(log or [])
        self.record: dict | None = None
        self.best: dict | None = None       # the best evaluation before it (train.py's state["best"])
        self.segments: list = []             # the run's segments, the last ended "diverged"
        self.loop: dict = {}                 # device, precision, micro_batch_size, accumulation_steps, world_size
        last = "no finite loss before it" if last_finite_loss is None else f"last finite loss {last_finite_loss:.4g}"
        super().__init__(f"training diverged at step {step}: {what} is {value} ({last}); lower the learning rate "
                         f"(--set lr=...) or try another seed (suite --restarts)")


def is_spike(grad_norm: float, history: Sequence[float]) -> bool:
    return len(history) >= SPIKE_MIN_HISTORY and grad_norm > SPIKE_FACTOR * max(median(history), 1e-12)


class LossWatch:
    """Checks each step's loss and gradient norm in the loop (train.py): raises TrainingDiverged on a
    non-finite loss, prints a line per gradient-norm spike."""

    def __init__(self, log: Sequence[dict] = (), check_grad_norm: bool = True, say=None):
        # fp16's scaler legitimately sees inf gradient norms (it skips those steps): not checked there.
        self.check_grad_norm, self.say = check_grad_norm, say or (lambda text: print(text, file=sys.stderr))
        self.history: deque = deque(maxlen=SPIKE_WINDOW)
        self.last_finite: float | None = None
        self.shown = 0      # spike lines printed: a few tell the story, the rest are only counted
        for entry in log:   # a resumed run continues the same history
            self._remember(entry)

    def _remember(self, entry: dict) -> None:
        if math.isfinite(entry.get("loss", math.nan)):
            self.last_finite = entry["loss"]
        if math.isfinite(entry.get("grad_norm", math.nan)):
            self.history.append(entry["grad_norm"])

    def check(self, entry: dict, log: Sequence[dict] = (), model: Any = None) -> None:
        """`model`: also check every weight is finite (before a dev scoring that may save it as best)."""
        step, loss, grad_norm = entry["step"], entry["loss"], entry.get("grad_norm", 0.0)
        if not math.isfinite(loss):
            raise TrainingDiverged(step, "the training loss", loss, self.last_finite, [*log, entry])
        if self.check_grad_norm and not math.isfinite(grad_norm):
            raise TrainingDiverged(step, "the gradient norm", grad_norm, self.last_finite, [*log, entry])
        if model is not None and not all(bool(p.isfinite().all()) for p in model.parameters()):
            raise TrainingDiverged(step, "a weight", math.nan, self.last_finite, [*log, entry])
        if is_spike(grad_norm, self.history):
            self.shown += 1
            if self.shown <= SPIKE_LINES:
                more = "; further spikes are only counted (the record's health.grad_norm_spikes)" \
                    if self.shown == SPIKE_LINES else ""
                self.say(f"train: step {step}: gradient-norm spike {grad_norm:.4g} "
                         f"(> {SPIKE_FACTOR:g}x the running median {median(self.history):.4g}){more}")
        self._remember(entry)


def grad_norm_spikes(log: Sequence[dict]) -> list[int]:
    """Steps whose grad_norm is a spike by LossWatch's rule, recomputed from the step log."""
    history: deque = deque(maxlen=SPIKE_WINDOW)
    steps = []
    for entry in log:
        g = entry.get("grad_norm")
        if g is None or not math.isfinite(g):
            continue
        if is_spike(g, history):
            steps.append(entry["step"])
        history.append(g)
    return steps


def loss_rise(log: Sequence[dict]) -> tuple[float, float] | None:
    """(mean of the first RISE_WINDOW losses, mean of the last ones) when the end is above the start."""
    losses = [e["loss"] for e in log if isinstance(e.get("loss"), (int, float)) and math.isfinite(e["loss"])]
    if len(losses) < MIN_STEPS:
        return None
    first, last = (sum(part) / len(part) for part in (losses[:RISE_WINDOW], losses[-RISE_WINDOW:]))
    return (first, last) if last > first * (1 + RISE_TOLERANCE) else None


def _constant(predictions: Sequence[dict] | None) -> Any:
    """The one value every prediction has (None when they differ or there are < 2)."""
    values = [p.get("prediction") for p in predictions or []]
    if len(values) < 2 or any(repr(v) != repr(values[0]) for v in values):
        return None
    return values[0]


def assess(log: Sequence[dict], best_metrics: dict, main_metric: str | None, higher_is_better: bool = True,
           baseline: dict | None = None, predictions: Sequence[dict] | None = None,
           diverged: TrainingDiverged | None = None) -> dict:
    """The record's "health" (module docstring). `best_metrics` {split: {metric: value}} and
    `predictions` are the best checkpoint's, on the first dev split; `baseline` a Baseline.to_dict()."""
    spikes = grad_norm_spikes(log)
    health = {"status": "ok", "reason": None, "baseline": baseline, "grad_norm_spikes": len(spikes),
              "grad_norm_spike_steps": spikes[:20]}
    if diverged is not None:
        return {**health, "status": "diverged", "reason": str(diverged).split("; lower")[0],
                "diverged_at_step": diverged.step, "last_finite_loss": diverged.last_finite_loss}
    rise = loss_rise(log)
    if rise is not None:
        return {**health, "status": "diverged", "reason": f"the training loss rose from {rise[0]:.4g} (mean of "
                f"the first {RISE_WINDOW} steps) to {rise[1]:.4g} (mean of the last {RISE_WINDOW})"}
    split = next(iter(best_metrics), None)
    value = (best_metrics.get(split) or {}).get(main_metric) if split else None
    if split is None:
        return health   # no dev scoring: nothing to judge
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {**health, "status": "degenerate", "reason": f"best dev {main_metric} is undefined ({value}): "
                "a constant prediction"}
    constant = _constant(predictions)
    if constant is not None:
        what = "no answer (all null)" if constant == "" else repr(constant)
        return {**health, "status": "degenerate",
                "reason": f"every {split} prediction of the best checkpoint is {what}"}
    base = (baseline or {}).get("values", {}).get(main_metric)
    if base is not None and higher_is_better:
        margin = baseline.get("margin", 0.0)
        if value < base + margin - 1e-12:
            return {**health, "status": "degenerate",
                    "reason": f"best {split} {main_metric} {value:.4g} does not beat the trivial baseline {base:.4g} "
                              f"({baseline['rules'][main_metric]}) by {margin:g}"}
    return health
