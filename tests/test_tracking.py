"""--report-to: what a short fine-tune logs, read back with each backend's own reader (TensorBoard's
EventAccumulator, MlflowClient on a SQLite store), offline. A resumed run continues the same run
without logging a step twice. Under CI=true a missing backend fails these tests; elsewhere it skips."""
import json
import os
import sys
from pathlib import Path

import pytest

from albert_bench.engine import runs, tracking
from albert_bench.engine.signals import TrainingInterrupted
from albert_bench.tasks import get_task

STEPS, EVAL_EVERY = 6, 3          # two evaluations: steps 3 and 6


def need(module: str):
    """The backend's module, or skip (CI=true: fail, so CI never passes without testing it)."""
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        try:
            return __import__(module)
        except ImportError as err:
            pytest.fail(f"{module} is not installed ({err}): pip install -e '.[tracking]' (.ci/run does)")
    return pytest.importorskip(module)


def _finetune(tiny, out, results, report_to, **kwargs):
    root, dirs, model_dir = tiny
    return runs.finetune(task=get_task("rte"), model=str(model_dir), data_dir=str(dirs["rte"]), output_dir=str(out),
                         results_dir=str(results), recipe="quick", max_steps=STEPS, seed=3, max_train_examples=24,
                         max_eval_examples=8, report_to=report_to,
                         overrides={"batch_size": 4, "lr": 1e-3, "eval_every": EVAL_EVERY, "checkpoint_every": 2,
                                    "max_seq_length": 32}, **kwargs)


def _step_log(record) -> list[dict]:
    path = Path(record["path"]).parent / record["log"]
    return [json.loads(line) for line in path.read_text().splitlines()]


def _event_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _check_against_log(scalars: dict, log: list[dict]):
    """Every step's loss / lr / grad_norm once, equal (float32 for TensorBoard) to the record's step log;
    both evaluations' metrics per split."""
    assert [s for s, _ in scalars["train/loss"]] == [e["step"] for e in log] == list(range(1, STEPS + 1))
    for key in ("loss", "lr", "grad_norm"):
        assert [v for _, v in scalars[f"train/{key}"]] == pytest.approx([e[key] for e in log], rel=1e-6)
    evals = [e for e in log if "eval" in e]
    assert [e["step"] for e in evals] == [EVAL_EVERY, STEPS]
    for split, metrics in evals[0]["eval"].items():
        for metric in metrics:
            steps, values = zip(*scalars[f"eval/{split}/{metric}"])
            assert steps == (EVAL_EVERY, STEPS)
            assert list(values) == pytest.approx([e["eval"][split][metric] for e in evals], rel=1e-6)


def test_tensorboard_logs_the_step_log_and_evaluations(tiny_checkpoint, tmp_path):
    need("tensorboard")
    record = _finetune(tiny_checkpoint, tmp_path / "out", tmp_path / "results", "tensorboard")
    folder = tmp_path / "out" / "tensorboard" / record["run_id"]      # the run name is the record's run_id
    scalars = _event_scalars(folder)
    _check_against_log(scalars, _step_log(record))
    for split, metrics in record["metrics"]["best"].items():
        for metric, value in metrics.items():
            assert scalars[f"best/{split}/{metric}"] == [(STEPS, pytest.approx(value, rel=1e-6))]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(folder))
    acc.Reload()
    text = acc.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    config = json.loads(text.split("```json\n", 1)[1].rsplit("\n```", 1)[0])
    assert config["run_id"] == record["run_id"] and config["seed"] == 3 and config["task"] == "rte"
    assert config["recipe"]["lr"] == 1e-3 and config["model"]["config"] == record["model"]["config"]


def test_tensorboard_resumed_run_has_each_step_once(tiny_checkpoint, tmp_path):
    """Killed after step 5 (last checkpoint: step 4), resumed: the same run folder, steps 1..6 once each
    (the killed start's step 5 is purged), equal to the resumed record's step log."""
    need("tensorboard")
    out, results = tmp_path / "out", tmp_path / "results"
    with pytest.raises(TrainingInterrupted):
        _finetune(tiny_checkpoint, out, results, "tensorboard", _stop_at_step=5)
    first, = (out / "tensorboard").iterdir()
    record = _finetune(tiny_checkpoint, out, results, "tensorboard", resume=True)
    assert [p.name for p in (out / "tensorboard").iterdir()] == [first.name] == [record["run_id"]]
    _check_against_log(_event_scalars(first), _step_log(record))


def test_mlflow_run_holds_params_steps_and_final_metrics(tiny_checkpoint, tmp_path, monkeypatch):
    need("mlflow")
    from mlflow.tracking import MlflowClient
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)                   # anything MLflow writes beside the store stays in tmp
    out, results = tmp_path / "out", tmp_path / "results"
    # Killed after step 5, resumed: one MLflow run, each step once.
    with pytest.raises(TrainingInterrupted):
        _finetune(tiny_checkpoint, out, results, "mlflow", _stop_at_step=5)
    record = _finetune(tiny_checkpoint, out, results, "mlflow", resume=True)

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("albert-bench")
    run, = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == record["run_id"] and run.info.status == "FINISHED"
    params = run.data.params
    assert params["task"] == "rte" and params["seed"] == "3" and params["run_id"] == record["run_id"]
    assert float(params["recipe.lr"]) == 1e-3 and int(params["recipe.train_steps"]) == STEPS
    assert int(params["model.config.hidden_size"]) == record["model"]["config"]["hidden_size"]
    history = {key: sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))
               for key in run.data.metrics}
    _check_against_log(history, _step_log(record))
    for split, metrics in record["metrics"]["best"].items():
        for metric, value in metrics.items():
            assert run.data.metrics[f"best/{split}/{metric}"] == pytest.approx(value)
            assert run.data.metrics[f"last/{split}/{metric}"] == pytest.approx(record["metrics"]["last"][split][metric])
    assert run.data.metrics["best_step"] == record["best_step"]


@pytest.mark.parametrize("backend", ["tensorboard", "mlflow"])
def test_missing_backend_names_the_extra_before_loading(backend, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, backend, None)     # `import tensorboard` now raises ImportError
    with pytest.raises(ValueError, match=rf"pip install 'albert-bench\[{backend}\]'"):
        # a model that does not exist: the error must come before anything loads
        runs.finetune(task=get_task("rte"), model=str(tmp_path / "no-model"), output_dir=str(tmp_path / "out"),
                      report_to=f"none,{backend}")
    assert not (tmp_path / "out").exists()


def test_report_to_names():
    assert tracking.parse(None) == tracking.parse("none") == tracking.parse("") == []
    with pytest.raises(ValueError, match="choose from tensorboard, mlflow or none"):
        tracking.parse("tensorboard,wandb")


def test_pretrain_logs_its_step_log_to_tensorboard(tmp_path):
    need("tensorboard")
    from albert_bench.cli import main
    from test_pretrain import write_corpus
    corpus, out = write_corpus(tmp_path / "c.txt", n_docs=10), tmp_path / "pre"
    assert main(["pretrain", "--corpus", str(corpus), "--config", "albert-tiny", "--vocab-size", "120",
                 "--output-dir", str(out), "--steps", "4", "--seq-len", "32", "--batch-size", "4", "--lr", "1e-3",
                 "--device", "cpu", "--report-to", "tensorboard", "--tracking-dir", str(tmp_path / "tb")]) == 0
    summary = json.loads((out / "pretrain_summary.json").read_text())
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    scalars = _event_scalars(tmp_path / "tb" / summary["run_id"])
    for key in ("loss", "mlm_loss", "sop_loss", "lr", "grad_norm"):
        assert scalars[f"train/{key}"] == [(e["step"], pytest.approx(e[key], rel=1e-6)) for e in log]
    assert scalars["final/loss"] == [(4, pytest.approx(summary["loss"], rel=1e-6))]


@pytest.mark.parametrize("command", ["finetune", "suite", "pretrain"])
def test_cli_missing_backend_is_a_usage_error(command, monkeypatch, capsys):
    from albert_bench.cli import main
    monkeypatch.setitem(sys.modules, "mlflow", None)
    needed = {"finetune": ["--model", "m", "--task", "rte"], "suite": ["--models", "m", "--tasks", "rte", "--seeds", "1"],
              "pretrain": ["--corpus", "c.txt", "--config", "albert-tiny", "--vocab-size", "9", "--output-dir", "o"]}
    with pytest.raises(SystemExit) as stop:
        main([command, *needed[command], "--report-to", "tensorboard,mlflow"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--report-to mlflow: the mlflow package is not installed" in err and "pip install 'albert-bench[mlflow]'" in err


def test_suite_passes_report_to_on(tiny_checkpoint, tmp_path, capsys):
    """The dry run's finetune lines carry the flags every job gets."""
    from albert_bench.cli import main
    root, dirs, model_dir = tiny_checkpoint
    assert main(["suite", "--models", str(model_dir), "--tasks", "rte", "--seeds", "1", "--data-root", str(root / "data"),
                 "--output-root", str(tmp_path / "runs"), "--dry-run", "--report-to", "none,tensorboard",
                 "--tracking-dir", str(tmp_path / "tb")]) == 0
    line, = [x for x in capsys.readouterr().out.splitlines() if x.startswith("albert-bench finetune")]
    assert line.endswith(f"--report-to tensorboard --tracking-dir {tmp_path / 'tb'}")
