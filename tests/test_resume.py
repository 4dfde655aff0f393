"""A run killed mid-way and resumed ends exactly where an uninterrupted run ends."""
import json
import os

import pytest
import torch
from safetensors.torch import load_file

from albert_bench.engine.train import TrainSettings, TrainingInterrupted, train
from test_train import toy_model, toy_scorer
from toy_task import ToyTask

# Dropout on, so the restored RNG streams matter; 12 steps over 20 examples in batches of 6
# (3 batches per epoch) so the kill lands mid-epoch.
DROPOUT = dict(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, classifier_dropout_prob=0.1)
SETTINGS = dict(lr=2e-3, batch_size=6, train_steps=12, warmup_steps=2, eval_every=4, checkpoint_every=3,
                micro_batch_size=4, seed=5)


def _run(out, task, stop=None, resume=False, **changes):
    examples = task.load("train")
    features = task.featurize(examples, None, 32)
    return train(toy_model(seed=1, **DROPOUT), features, TrainSettings(**{**SETTINGS, **changes}), out,
                 score=toy_scorer(task, examples, features), main_metric="accuracy", resume=resume,
                 _stop_at_step=stop)


def _log(folder):
    return [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]


def test_resume_matches_uninterrupted_run(tmp_path):
    task = ToyTask(n=20)
    full = _run(tmp_path / "full", task)

    with pytest.raises(TrainingInterrupted):
        _run(tmp_path / "cut", task, stop=7)          # last checkpoint: step 6
    state = json.loads((tmp_path / "cut" / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == 6 and state["epoch"] == 1 and state["batch_in_epoch"] == 3
    assert not (tmp_path / "cut" / "last").exists()
    resumed = _run(tmp_path / "cut", task, resume=True)

    assert resumed.step == full.step == 12
    assert resumed.best_step == full.best_step
    assert resumed.best_metrics == full.best_metrics and resumed.last_metrics == full.last_metrics
    full_log, cut_log = _log(tmp_path / "full"), _log(tmp_path / "cut")
    assert [e["step"] for e in cut_log] == list(range(1, 13))
    for a, b in zip(full_log, cut_log):
        assert a["lr"] == b["lr"] and a.get("eval") == b.get("eval")
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-6)
    for name in ("last", "best"):
        wa, wb = load_file(str(tmp_path / "full" / name / "model.safetensors")), \
            load_file(str(tmp_path / "cut" / name / "model.safetensors"))
        for k in wa:
            torch.testing.assert_close(wa[k], wb[k], atol=1e-6, rtol=1e-5)


def test_resume_differs_without_restored_state(tmp_path):
    """The check above is not vacuous: a different seed (other batches, dropout) diverges."""
    task = ToyTask(n=20)
    a = _run(tmp_path / "a", task)
    b = _run(tmp_path / "b", task, seed=6)
    assert _log(tmp_path / "a")[-1]["loss"] != _log(tmp_path / "b")[-1]["loss"]
    assert a.step == b.step


def test_resume_refuses_other_settings_and_missing_checkpoint(tmp_path):
    task = ToyTask(n=20)
    with pytest.raises(TrainingInterrupted):
        _run(tmp_path / "r", task, stop=4)
    with pytest.raises(ValueError, match="lr: 0.002 then, 0.001 now"):
        _run(tmp_path / "r", task, resume=True, lr=1e-3)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        _run(tmp_path / "empty", task, resume=True)


def test_resume_after_crash_between_renames(tmp_path):
    """A crash after `checkpoint` was moved aside but before the new one was renamed in
    leaves `checkpoint.old`: resume uses it."""
    task = ToyTask(n=20)
    with pytest.raises(TrainingInterrupted):
        _run(tmp_path / "r", task, stop=4)
    os.replace(tmp_path / "r" / "checkpoint", tmp_path / "r" / "checkpoint.old")
    assert _run(tmp_path / "r", task, resume=True).step == 12


def test_resume_finished_run_rescored(tmp_path):
    task = ToyTask(n=20)
    first = _run(tmp_path / "done", task)
    again = _run(tmp_path / "done", task, resume=True)
    assert again.step == 12 and again.last_metrics == first.last_metrics
    assert (tmp_path / "done" / "last" / "predictions-dev.jsonl").is_file()
