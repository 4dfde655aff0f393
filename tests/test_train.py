"""The fine-tuning loop: optimizer groups, schedule, it learns, accumulation is exact,
best-vs-last honours the metric's direction."""
import json

import pytest
import torch
from safetensors.torch import load_file

from albert_bench.engine.evaluation import collect_outputs
from albert_bench.modeling.model import AlbertForSequenceClassification
from albert_bench.engine.train import TrainSettings, linear_schedule, make_optimizer, train
from toy_task import ToyTask, tiny_config


def toy_model(seed=0, **overrides):
    torch.manual_seed(seed)
    return AlbertForSequenceClassification(tiny_config(**overrides))


def toy_scorer(task, examples, features, batch_size=16):
    def score(model, precision):
        outputs = collect_outputs(model, features, batch_size=batch_size, precision=precision)
        metrics, preds = task.score(examples, features, outputs)
        return {"dev": metrics}, {"dev": preds}
    return score


def test_optimizer_excludes_layernorm_and_bias_from_decay():
    model = toy_model()
    opt = make_optimizer(model, TrainSettings(lr=1e-3, batch_size=4, train_steps=1, warmup_steps=0))
    names = {id(p): n for n, p in model.named_parameters()}
    decay = {names[id(p)] for p in opt.param_groups[0]["params"]}
    plain = {names[id(p)] for p in opt.param_groups[1]["params"]}
    assert opt.param_groups[0]["weight_decay"] == 0.01 and opt.param_groups[1]["weight_decay"] == 0.0
    assert "classifier.weight" in decay and "albert.embeddings.word_embeddings.weight" in decay
    assert "albert.encoder.albert_layer_groups.0.albert_layers.0.full_layer_layer_norm.weight" in plain
    assert "albert.embeddings.LayerNorm.weight" in plain and "classifier.bias" in plain
    assert not any("LayerNorm" in n or "layer_norm" in n or n.endswith("bias") for n in decay)
    assert len(decay) + len(plain) == len(list(model.parameters()))
    assert opt.defaults["eps"] == 1e-6


def test_linear_schedule():
    f = linear_schedule(warmup_steps=4, total_steps=12)
    assert [f(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert f(8) == pytest.approx(0.5) and f(12) == 0.0 and f(20) == 0.0


def test_tiny_model_overfits_tiny_set(tmp_path):
    task = ToyTask(n=16)
    examples = task.load("train")
    features = task.featurize(examples, None, 32)
    settings = TrainSettings(lr=2e-3, batch_size=8, train_steps=60, warmup_steps=5, eval_every=20, seed=1)
    result = train(toy_model(), features, settings, tmp_path, score=toy_scorer(task, examples, features),
                   main_metric="accuracy")
    assert result.best_metrics["dev"]["accuracy"] == 1.0
    assert result.last_metrics["dev"]["accuracy"] == 1.0
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == list(range(1, 61))
    assert {"loss", "lr", "grad_norm"} <= set(log[0]) and "eval" in log[19] and "eval" not in log[18]
    assert log[-1]["loss"] < log[0]["loss"] / 5
    for name in ("best", "last"):
        folder = tmp_path / name
        assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
        assert (folder / "predictions-dev.jsonl").is_file()
    # the saved best checkpoint reloads and scores what the record says
    reloaded = AlbertForSequenceClassification.from_pretrained(tmp_path / "best")
    metrics, _ = toy_scorer(task, examples, features)(reloaded, "fp32")
    assert metrics["dev"] == result.best_metrics["dev"]


def _weights(folder):
    return load_file(str(folder / "model.safetensors"))


def test_gradient_accumulation_matches_full_batch(tmp_path):
    task = ToyTask(n=16)
    features = task.featurize(task.load("train"), None, 32)
    common = dict(lr=1e-3, batch_size=8, train_steps=4, warmup_steps=1, seed=3)
    full = train(toy_model(), features, TrainSettings(**common, micro_batch_size=8), tmp_path / "full")
    accum = train(toy_model(), features, TrainSettings(**common, micro_batch_size=3), tmp_path / "accum")
    assert full.accumulation_steps == 1 and accum.accumulation_steps == 3   # micro-batches of 3, 3, 2
    a, b = _weights(full.last_dir), _weights(accum.last_dir)
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-5, rtol=1e-4)
    # and it is not vacuous: training moved the weights
    start = toy_model().state_dict()
    assert not torch.allclose(a["classifier.weight"], start["classifier.weight"])


@pytest.mark.parametrize("higher_is_better, best_step", [(True, 4), (False, 2)])
def test_best_checkpoint_honours_direction(tmp_path, higher_is_better, best_step):
    task = ToyTask(n=8)
    features = task.featurize(task.load("train"), None, 32)
    scripted = iter([0.5, 0.9, 0.7])          # evaluations at steps 2, 4, 6

    def score(model, precision):
        value = next(scripted)
        return {"dev": {"m": value}}, {"dev": [{"id": "x", "prediction": value}]}

    settings = TrainSettings(lr=1e-3, batch_size=4, train_steps=6, warmup_steps=1, eval_every=2, seed=0)
    result = train(toy_model(), features, settings, tmp_path, score=score, main_metric="m",
                   higher_is_better=higher_is_better)
    assert result.best_step == best_step
    assert result.best_metrics == {"dev": {"m": 0.9 if higher_is_better else 0.5}}
    assert result.last_metrics == {"dev": {"m": 0.7}}
    saved = json.loads((tmp_path / "best" / "metrics.json").read_text())
    assert saved["step"] == best_step and saved["metrics"] == result.best_metrics
    assert json.loads((tmp_path / "last" / "metrics.json").read_text())["step"] == 6
    best, last = _weights(tmp_path / "best"), _weights(tmp_path / "last")
    assert not torch.equal(best["classifier.weight"], last["classifier.weight"])


def test_bf16_on_cpu_and_checkpointing_run(tmp_path):
    task = ToyTask(n=8)
    features = task.featurize(task.load("train"), None, 32)
    settings = TrainSettings(lr=1e-3, batch_size=4, train_steps=2, warmup_steps=1, seed=0, precision="bf16",
                             gradient_checkpointing=True)
    result = train(toy_model(), features, settings, tmp_path)
    assert result.precision == "bf16" and result.step == 2
    with pytest.raises(ValueError, match="fp16 needs a GPU"):
        train(toy_model(), features, TrainSettings(lr=1e-3, batch_size=4, train_steps=1, warmup_steps=0,
                                                   precision="fp16"), tmp_path / "x", device="cpu")
