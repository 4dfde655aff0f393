"""Experiment tracking: `--report-to tensorboard,mlflow` (the Hugging Face Trainer's names; `none`).

    from albert_bench.engine import tracking
    tracker = tracking.trackers("tensorboard,mlflow", tensorboard_dir="runs/rte/tensorboard")
    tracker.start("rte-20250101T000000Z-abcdef", config={"seed": 42, "recipe": {...}}, first_step=1)
    tracker.log(step, {"train/loss": 0.7, "train/lr": 1e-5})      # or tracker.log_entry(step_log_entry)
    tracker.finish({"best/dev/accuracy": 0.71})                   # status "FAILED" / "KILLED" on an error / stop

Each backend is an optional extra, imported only when asked for (`pip install 'albert-bench[mlflow]'`);
`trackers` raises one ValueError naming the extra before anything large loads. Only rank 0 logs
under torchrun: on the other ranks `trackers` returns a tracker that does nothing.

What goes where: TensorBoard event files into `tensorboard_dir`/RUN_NAME (scalars per step, the
config as text); MLflow to MLflow's tracking URI (MLFLOW_TRACKING_URI, else MLflow's default),
experiment MLFLOW_EXPERIMENT_NAME or "albert-bench", run name = RUN_NAME, the config flattened into
params. A resumed run (first_step > 1) continues the same run: TensorBoard purges the events an
earlier start wrote from first_step on (SummaryWriter's purge_step), MLflow reopens the run of that
name and skips the steps it already holds. Weights & Biases is not offered: wandb 0.31 writes an
offline run only as its binary transaction log (run-ID.wandb) and ships no reader for it, so what
we log there could not be tested offline.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Protocol

# --report-to name -> (the module it needs, the pip extra that installs it)
BACKENDS = {"tensorboard": ("tensorboard", "tensorboard"), "mlflow": ("mlflow", "mlflow")}
EXPERIMENT = "albert-bench"
MAX_PARAM_LENGTH = 6000            # MLflow's limit on a param value


class Tracker(Protocol):
    def start(self, run_name: str, config: dict, first_step: int = 1) -> None: ...
    def log(self, step: int, metrics: dict[str, float]) -> None: ...
    def finish(self, final_metrics: dict[str, float] | None = None, status: str = "FINISHED") -> None: ...


def parse(report_to: str | Iterable[str] | None) -> list[str]:
    """"tensorboard,mlflow" (or a list) -> the backend names; "none", "" and None -> []. Checks the
    names and that each backend's package imports (one line naming the extra if not)."""
    if report_to is None:
        return []
    names = report_to.split(",") if isinstance(report_to, str) else list(report_to)
    names = [n.strip().lower() for n in names if n.strip() and n.strip().lower() != "none"]
    for name in names:
        if name not in BACKENDS:
            raise ValueError(f"--report-to {name!r}: choose from {', '.join(BACKENDS)} or none "
                             "(comma-separated, e.g. --report-to tensorboard,mlflow)")
        module, extra = BACKENDS[name]
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ValueError(f"--report-to {name}: the {module} package is not installed ({err}); "
                             f"pip install 'albert-bench[{extra}]'") from None
    return list(dict.fromkeys(names))


def trackers(report_to: str | Iterable[str] | None, tensorboard_dir: str | os.PathLike | None = None,
             rank: int | None = None) -> "Trackers":
    """The trackers `report_to` names (checked on every rank), live on rank 0 only.
    tensorboard_dir: where TensorBoard's run folders go (required with tensorboard)."""
    names = parse(report_to)
    rank = int(os.environ.get("RANK", "0")) if rank is None else rank
    if rank != 0:
        return Trackers([])
    made = []
    for name in names:
        if name == "tensorboard":
            assert tensorboard_dir is not None, "tensorboard needs a directory for its event files"
            made.append(TensorBoardTracker(Path(tensorboard_dir)))
        else:
            made.append(MLflowTracker())
    return Trackers(made)


class Trackers:
    """Several trackers as one; with none, every call does nothing."""

    def __init__(self, members: list):
        self.members = members

    def __bool__(self) -> bool:
        return bool(self.members)

    def start(self, run_name: str, config: dict, first_step: int = 1) -> None:
        for t in self.members:
            t.start(run_name, config, first_step)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        for t in self.members:
            t.log(step, metrics)

    def log_entry(self, entry: dict) -> None:
        """A step-log entry of the training loops (train.py, pretrain.py): the `on_log` callback."""
        if self.members:
            self.log(entry["step"], step_metrics(entry))

    def finish(self, final_metrics: dict[str, float] | None = None, status: str = "FINISHED") -> None:
        for t in self.members:
            t.finish(final_metrics, status)


# ---- what a step logs ----------------------------------------------------------------------

def flatten(tree: dict, prefix: str = "", sep: str = "/") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a/b": 1} (prefix + sep joins the keys)."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten(value, name, sep))
        else:
            flat[name] = value
    return flat


def numbers(tree: dict, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a nested dict as {"prefix/key/...": float} (bools, text, lists left out)."""
    return {k: float(v) for k, v in flatten(tree, prefix).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def step_metrics(entry: dict) -> dict[str, float]:
    """A step-log entry as metrics: every number under train/ (loss, lr, grad_norm, epoch, ...),
    each evaluation's metrics as eval/SPLIT/METRIC."""
    plain = {k: v for k, v in entry.items() if k not in ("step", "eval")}
    return {**numbers(plain, "train"), **numbers(entry.get("eval") or {}, "eval")}


def final_metrics(metrics: dict, **extra) -> dict[str, float]:
    """A record's {"best": {split: {...}}, "last": {...}} (plus e.g. best_step) as best/SPLIT/METRIC ..."""
    return {**numbers(metrics), **numbers({k: v for k, v in extra.items() if v is not None})}


# ---- the backends ----------------------------------------------------------------------------

class TensorBoardTracker:
    """Event files in DIRECTORY/RUN_NAME, written with torch's SummaryWriter (the tensorboard extra)."""

    def __init__(self, directory: Path):
        self.directory, self.writer, self.step = directory, None, 0

    def start(self, run_name: str, config: dict, first_step: int = 1) -> None:
        from torch.utils.tensorboard import SummaryWriter
        # purge_step: readers drop the events an earlier start of this run wrote from first_step on
        # (it may have logged steps past its last checkpoint before it was killed).
        self.writer = SummaryWriter(str(self.directory / run_name), purge_step=first_step if first_step > 1 else None)
        self.step = first_step - 1
        self.writer.add_text("config", "```json\n" + json.dumps(config, indent=2, default=str) + "\n```",
                             global_step=self.step)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            self.writer.add_scalar(name, value, global_step=step)
        self.step = step

    def finish(self, final_metrics: dict[str, float] | None = None, status: str = "FINISHED") -> None:
        if self.writer is None:
            return
        for name, value in (final_metrics or {}).items():
            self.writer.add_scalar(name, value, global_step=self.step)
        self.writer.close()
        self.writer = None


class MLflowTracker:
    """A run in MLflow's tracking store (MLFLOW_TRACKING_URI or MLflow's default), through MlflowClient."""

    def __init__(self):
        from mlflow.tracking import MlflowClient
        self.client, self.run_id, self.logged_through, self.step = MlflowClient(), None, 0, 0

    def _experiment_id(self) -> str:
        from mlflow.exceptions import MlflowException
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return self.client.create_experiment(name)
        except MlflowException:      # another process (a suite shard) created it just now
            return self.client.get_experiment_by_name(name).experiment_id

    def start(self, run_name: str, config: dict, first_step: int = 1) -> None:
        experiment = self._experiment_id()
        earlier = self.client.search_runs([experiment], filter_string=f"attributes.run_name = '{run_name}'",
                                          max_results=1) if first_step > 1 else []
        if earlier:   # a resumed run: the same MLflow run; steps it already holds are not logged twice
            self.run_id = earlier[0].info.run_id
            self.client.update_run(self.run_id, status="RUNNING")
            history = self.client.get_metric_history(self.run_id, "train/loss")
            self.logged_through = max((m.step for m in history), default=0)
            held = set(earlier[0].data.params)
        else:
            self.run_id = self.client.create_run(experiment, run_name=run_name).info.run_id
            held = set()
        from mlflow.entities import Param
        params, too_long = [], []
        for key, value in flatten(config, sep=".").items():
            if key in held:      # params cannot change: a resumed run keeps the first start's
                continue
            text = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
            if len(text) > MAX_PARAM_LENGTH:
                too_long.append(key)
            else:
                params.append(Param(key, text))
        for i in range(0, len(params), 100):        # log_batch takes at most 100 params a call
            self.client.log_batch(self.run_id, params=params[i:i + 100])
        if too_long:
            print(f"mlflow: params longer than {MAX_PARAM_LENGTH} characters not logged: {', '.join(too_long)}",
                  file=sys.stderr)
        self.step = max(self.logged_through, first_step - 1)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        self.step = max(self.step, step)
        if step > self.logged_through:
            self._write(step, metrics)

    def _write(self, step: int, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric
        now = int(time.time() * 1000)
        batch = [Metric(name, value, now, step) for name, value in metrics.items()]
        for i in range(0, len(batch), 1000):        # log_batch takes at most 1000 metrics a call
            self.client.log_batch(self.run_id, metrics=batch[i:i + 1000])

    def finish(self, final_metrics: dict[str, float] | None = None, status: str = "FINISHED") -> None:
        if self.run_id is None:
            return
        if final_metrics:
            self._write(self.step, final_metrics)
        self.client.set_terminated(self.run_id, status=status)
        self.run_id = None
