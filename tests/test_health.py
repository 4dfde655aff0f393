"""Run health (engine/health.py): planted failures on the toy task. A learning rate that drives the
loss to NaN stops the run at that step (no NaN model as best), with a record marked diverged and a
one-line CLI error; a run trained on one class only is degenerate; a healthy run is ok."""
import math

import pytest
import torch

from albert_bench import cli, records
from albert_bench.engine import health, runs
from albert_bench.modeling.model import AlbertForSequenceClassification
from toy_task import ToyTask, ToyTokenizer

TOY = dict(model="preset:albert-tiny", recipe="quick", max_steps=40, seed=0)


def _finetune(tmp_path, name, task=None, **overrides):
    return runs.finetune(task=task or ToyTask(n=16), tokenizer=ToyTokenizer(), output_dir=str(tmp_path / name),
                         results_dir=str(tmp_path / "results"), **TOY,
                         overrides={"lr": 2e-3, "eval_every": 20, "warmup_steps": 4, "batch_size": 8, **overrides})


class OneClassToy(ToyTask):
    """Every training label is 'pos': the model learns to predict one class."""

    def load(self, split, data_dir=None):
        examples = super().load(split, data_dir)
        if split == "train":
            for ex in examples:
                ex["label"] = "pos"
        return examples


def test_healthy_run_is_ok_with_its_baseline(tmp_path):
    record = _finetune(tmp_path, "ok")
    h = record["health"]
    assert h["status"] == "ok" and h["reason"] is None
    assert h["baseline"]["values"] == {"accuracy": 0.5} and h["baseline"]["margin"] == 0.01
    assert isinstance(h["grad_norm_spikes"], int)


def test_nan_loss_stops_at_that_step_and_keeps_no_nan_model(tmp_path):
    # lr 1e4 over a 1000-step warmup: dev-scored (and saved as best) at step 2, NaN at step 3
    with pytest.raises(health.TrainingDiverged, match=r"diverged at step 3: .* \(last finite loss [\d.]+\)") as info:
        _finetune(tmp_path, "nan", lr=1e4, warmup_steps=1000, eval_every=2)
    err = info.value
    assert err.step == 3 and math.isfinite(err.last_finite_loss)
    record = err.record
    assert records.load_records(tmp_path / "results")[0]["run_id"] == record["run_id"]
    assert record["health"]["status"] == "diverged" and record["health"]["diverged_at_step"] == 3
    assert record["steps"] == 3 and record["best_step"] == 2 and record["checkpoints"]["last"] is None
    best = AlbertForSequenceClassification.from_pretrained(tmp_path / "nan" / "best")
    assert all(torch.isfinite(p).all() for p in best.parameters())
    assert not (tmp_path / "nan" / "last").exists()
    log = records.read_jsonl(tmp_path / "results" / record["log"])
    assert [e["step"] for e in log] == [1, 2, 3] and None in (log[-1]["loss"], log[-1]["grad_norm"])   # NaN -> null


def test_one_class_run_is_degenerate(tmp_path):
    record = _finetune(tmp_path, "one", task=OneClassToy(n=16))
    assert record["health"]["status"] == "degenerate"
    assert "every dev prediction of the best checkpoint is 'pos'" in record["health"]["reason"]


def test_assess_rules():
    base = {"values": {"accuracy": 0.6}, "margin": 0.01, "rules": {"accuracy": "always 'a'"}}
    flat = [{"step": i, "loss": 1.0, "grad_norm": 1.0} for i in range(1, 31)]
    preds = [{"prediction": "a"}, {"prediction": "b"}]
    ok = health.assess(flat, {"dev": {"accuracy": 0.62}}, "accuracy", True, base, preds)
    assert ok["status"] == "ok"
    low = health.assess(flat, {"dev": {"accuracy": 0.605}}, "accuracy", True, base, preds)
    assert low["status"] == "degenerate" and "does not beat the trivial baseline 0.6 (always 'a') by 0.01" in low["reason"]
    null = health.assess(flat, {"dev": {"f1": 51.0}}, "f1", True, None, [{"prediction": ""}] * 3)
    assert null["status"] == "degenerate" and "no answer (all null)" in null["reason"]
    undefined = health.assess(flat, {"dev": {"pearson": float("nan")}}, "pearson", True, None, None)
    assert undefined["status"] == "degenerate"
    rising = [{"step": i, "loss": 1.0 + i / 10, "grad_norm": 1.0} for i in range(1, 31)]
    noisy = [{"step": i, "loss": 0.69 + (0.01 if i > 25 else 0.0), "grad_norm": 1.0} for i in range(1, 31)]
    assert health.assess(noisy, {}, "accuracy")["status"] == "ok"   # flat at ln 2 with noise: no rise
    assert health.assess(rising, {"dev": {"accuracy": 0.9}}, "accuracy", True, base, preds)["status"] == "diverged"
    spiky = flat[:10] + [{"step": 11, "loss": 1.0, "grad_norm": 50.0}] + flat[11:]
    assert health.grad_norm_spikes(spiky) == [11]
    assert health.assess(spiky, {}, "accuracy")["grad_norm_spikes"] == 1
    lines = []
    watch = health.LossWatch(flat[:10], say=lines.append)
    watch.check({"step": 11, "loss": 1.0, "grad_norm": 50.0})
    assert lines and "gradient-norm spike" in lines[0]
    with pytest.raises(health.TrainingDiverged, match="step 12: the training loss is inf"):
        watch.check({"step": 12, "loss": float("inf"), "grad_norm": 1.0})
    # a spiky run prints a few lines, not one per step (a SLURM log stays readable); all are counted
    lines.clear()
    noisy_watch = health.LossWatch(flat[:10], say=lines.append)
    for step in range(11, 41):
        noisy_watch.check({"step": step, "loss": 1.0, "grad_norm": 1.0 if step % 2 else 1e3})
    assert len(lines) == health.SPIKE_LINES and "only counted" in lines[-1]
    assert noisy_watch.shown > health.SPIKE_LINES


def test_cli_finetune_that_diverges_exits_1_with_one_line(tiny_checkpoint, tmp_path, capsys):
    _, dirs, model_dir = tiny_checkpoint
    code = cli.main(["finetune", "--task", "sst2", "--model", str(model_dir), "--data-dir", str(dirs["sst2"]),
                     "--output-dir", str(tmp_path / "run"), "--results-dir", str(tmp_path / "results"),
                     "--max-steps", "4", "--set", "lr=1e10", "--set", "batch_size=8"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert "albert-bench finetune: error: training diverged at step" in err[-1] and "(record " in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert records.load_records(tmp_path / "results")[0]["health"]["status"] == "diverged"
