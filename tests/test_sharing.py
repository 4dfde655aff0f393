"""Cross-layer sharing strategies (paper Table 4): `all` / `none` in parity with transformers;
`attention` / `ffn` (config.shared_sublayer) one module really shared, saved and loaded exactly by us,
refused by transformers (and why that matters); finetune, bias and pretrain's config on each.

    python -m pytest -q tests/test_sharing.py
"""
import json

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file
from torch.testing import assert_close

import albert_bench.modeling.model as ours
from albert_bench import cli
from albert_bench.engine import runs
from albert_bench.modeling.checkpoint import NOTICE_NAME, SAFETENSORS_NAME, SHARED_SUBLAYER_NAME, CheckpointError
from albert_bench.modeling.config import AlbertConfig
from albert_bench.modeling.params import SHARING_STRATEGIES, parameter_counts, sharing_strategy, with_sharing
from albert_bench.pretraining.pretrain import resolve_config
from conftest import TINY, make_batch
from test_model_parity import compare, targets
from toy_task import ToyTask, ToyTokenizer, tiny_config

GROUP = "albert.encoder.albert_layer_groups.{}.albert_layers.0."


def config(strategy: str, **overrides) -> AlbertConfig:
    return with_sharing(AlbertConfig(**{**TINY, "num_hidden_layers": 3, "hidden_act": "gelu_new", **overrides}),
                        strategy)


def perturbed(model):
    with torch.no_grad():   # non-default LayerNorms and biases, so a weight that is not carried over shows
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    return model


# ---- all / none: plain Hugging Face ALBERT ---------------------------------------------------

@pytest.mark.parametrize("head", ["AlbertModel", "AlbertForPreTraining"])
@pytest.mark.parametrize("strategy", ["all", "none"])
def test_all_and_none_match_transformers(strategy, head, tmp_path):
    cfg = config(strategy)
    assert "shared_sublayer" not in cfg.to_dict()
    torch.manual_seed(0)
    hf_config = transformers.AlbertConfig(**{k: v for k, v in cfg.to_dict().items()
                                             if k not in ("id2label", "label2id", "model_type")})
    ref = perturbed(getattr(transformers, head)._from_config(hf_config, attn_implementation="eager").eval())
    ref.save_pretrained(tmp_path)
    model = getattr(ours, head).from_pretrained(tmp_path)
    assert sharing_strategy(model.config) == strategy
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in ref.parameters())
    batch = make_batch()
    batch.update(targets(head, batch))
    with torch.no_grad():
        compare(ref(**batch, output_hidden_states=True, output_attentions=True),
                model(**batch, output_hidden_states=True, output_attentions=True))


# ---- attention / ffn: one shared module ------------------------------------------------------

SHARED_NAMES = {"attention": ["attention"], "ffn": ["ffn", "ffn_output", "full_layer_layer_norm"]}


@pytest.mark.parametrize("strategy", ["attention", "ffn"])
def test_shared_module_is_one_object_and_gets_every_layers_gradient(strategy):
    torch.manual_seed(0)
    shared = perturbed(ours.AlbertModel(config(strategy))).eval()
    layers = [g.albert_layers[0] for g in shared.encoder.albert_layer_groups]
    for name in SHARED_NAMES[strategy]:
        assert all(getattr(layer, name) is getattr(layers[0], name) for layer in layers)
    other = "ffn" if strategy == "attention" else "attention"
    assert getattr(layers[1], other) is not getattr(layers[0], other)
    # The same weights untied (strategy none: the full state dict names every layer's copy).
    untied = ours.AlbertModel(config("none")).eval()
    untied.load_state_dict(shared.state_dict())
    batch = make_batch()
    outs = [m(**batch).last_hidden_state for m in (shared, untied)]
    assert_close(outs[0], outs[1])
    for out in outs:
        out.pow(2).sum().backward()
    # The shared parameter's gradient is the sum of what every layer's own copy gets: each layer feeds it.
    for name in SHARED_NAMES[strategy]:
        for pname, p in getattr(layers[0], name).named_parameters():
            copies = [dict(getattr(g.albert_layers[0], name).named_parameters())[pname].grad
                      for g in untied.encoder.albert_layer_groups]
            assert all(c.abs().sum() > 0 for c in copies), f"{name}.{pname}: a layer sends no gradient"
            assert_close(p.grad, sum(copies), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("head", sorted(ours.HEAD_CLASSES))
@pytest.mark.parametrize("strategy", SHARING_STRATEGIES)
def test_save_and_load_round_trip(strategy, head, tmp_path):
    torch.manual_seed(0)
    cls = ours.HEAD_CLASSES[head]
    model = perturbed(cls(config(strategy))).eval()
    model.save_pretrained(tmp_path)
    again = cls.from_pretrained(tmp_path)
    assert again.config == model.config.with_overrides(architectures=[head])
    mine, theirs = model.state_dict(), again.state_dict()
    assert list(mine) == list(theirs) and all(torch.equal(mine[k], theirs[k]) for k in mine)
    assert sum(p.numel() for p in again.parameters()) == sum(p.numel() for p in model.parameters())
    batch = make_batch(choices=4 if head == "AlbertForMultipleChoice" else None)
    with torch.no_grad():
        compare(model(**batch), again(**batch), with_extras=False)
    files = sorted(p.name for p in tmp_path.iterdir())
    if strategy in ("attention", "ffn"):
        assert files == sorted(["config.json", NOTICE_NAME, SHARED_SUBLAYER_NAME])
        keys = load_file(str(tmp_path / SHARED_SUBLAYER_NAME))
        prefix = GROUP if head != "AlbertModel" else GROUP.removeprefix("albert.")
        name = SHARED_NAMES[strategy][0]
        assert any(k.startswith(prefix.format(0) + name + ".") for k in keys)       # once, in group 0
        assert not any(k.startswith(prefix.format(1) + name + ".") for k in keys)
        assert any(k.startswith(prefix.format(1)) for k in keys)                   # the rest: per layer
    else:
        assert files == ["config.json", SAFETENSORS_NAME]


def test_notice_and_transformers_cannot_load_it(tmp_path, caplog):
    model = ours.AlbertModel(config("attention"))
    with caplog.at_level("WARNING", logger="albert_bench"):
        model.save_pretrained(tmp_path)
    assert "transformers cannot load" in caplog.text
    notice = (tmp_path / NOTICE_NAME).read_text(encoding="utf-8")
    assert "shared_sublayer" in notice and "attention" in notice and SHARED_SUBLAYER_NAME in notice
    assert json.loads((tmp_path / "config.json").read_text())["shared_sublayer"] == "attention"
    # transformers finds no weights file it reads: a loud error, not a half-random model ...
    with pytest.raises(OSError, match="model.safetensors"):
        transformers.AlbertModel.from_pretrained(tmp_path)
    # ... which is what it would build from the same weights under its own file name: it loads group 0's
    # attention, and the other layers' attention is randomly initialized, with only a report.
    (tmp_path / SHARED_SUBLAYER_NAME).rename(tmp_path / SAFETENSORS_NAME)
    _, info = transformers.AlbertModel.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] and all("albert_layer_groups.0." not in k and ".attention." in k
                                        for k in info["missing_keys"])


def test_saving_a_plain_model_over_a_shared_folder_removes_its_files(tmp_path):
    ours.AlbertModel(config("ffn")).save_pretrained(tmp_path)
    ours.AlbertModel(config("none")).save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", SAFETENSORS_NAME]
    ours.AlbertModel(config("ffn")).save_pretrained(tmp_path)
    assert SAFETENSORS_NAME not in {p.name for p in tmp_path.iterdir()}


def test_loader_refuses_a_shared_config_without_the_shared_weights(tmp_path):
    ours.AlbertForMaskedLM(config("attention")).save_pretrained(tmp_path)
    file = tmp_path / SHARED_SUBLAYER_NAME
    state = {k: v for k, v in load_file(str(file)).items() if ".attention." not in k}
    save_file(state, str(file), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="shared_sublayer='attention'.*lack encoder keys"):
        ours.AlbertForMaskedLM.from_pretrained(tmp_path)


def test_distinct_layers_into_a_shared_model_are_reported_unused(tmp_path, caplog):
    """A not-shared checkpoint loaded as shared-ffn keeps group 0's FFN: the other layers' FFN weights
    are named as unused, not dropped in silence."""
    torch.manual_seed(0)
    perturbed(ours.AlbertModel(config("none"))).save_pretrained(tmp_path)
    with caplog.at_level("WARNING", logger="albert_bench"):
        model = ours.AlbertModel.from_pretrained(tmp_path, shared_sublayer="ffn")
    assert "unused from checkpoint" in caplog.text and "albert_layer_groups.1.albert_layers.0.ffn.weight" in caplog.text
    assert sharing_strategy(model.config) == "ffn"


# ---- the engine on every strategy ---------------------------------------------------------

@pytest.mark.parametrize("strategy", SHARING_STRATEGIES)
def test_finetune_each_strategy(strategy, tmp_path):
    cfg = with_sharing(tiny_config(num_hidden_layers=3), strategy)
    torch.manual_seed(0)
    ours.AlbertForMaskedLM(cfg).save_pretrained(tmp_path / "base")
    record = runs.finetune(task=ToyTask(n=16), model=str(tmp_path / "base"), tokenizer=ToyTokenizer(),
                           output_dir=str(tmp_path / "out"), results_dir=str(tmp_path / "results"), recipe="quick",
                           max_steps=6, seed=0, overrides={"lr": 2e-3, "eval_every": 3, "warmup_steps": 1,
                                                           "batch_size": 8})
    assert sharing_strategy(record["model"]["config"]) == strategy
    H = cfg.hidden_size
    assert record["model"]["num_parameters"] == parameter_counts(cfg)["model"] + H * 2 + 2   # + classifier
    best = ours.AlbertForSequenceClassification.from_pretrained(tmp_path / "out" / "best")
    assert sharing_strategy(best.config) == strategy
    weights = SHARED_SUBLAYER_NAME if strategy in ("attention", "ffn") else SAFETENSORS_NAME
    assert (tmp_path / "out" / "best" / weights).is_file()


def test_bias_card_probe_on_a_shared_attention_model(tmp_path):
    from pathlib import Path

    from albert_bench.bias import run_bias
    from albert_bench.engine.fill_mask import fill_mask
    from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece
    corpus = Path(__file__).resolve().parents[1] / "albert_bench" / "demo" / "corpus.txt"
    tokenizer = AlbertTokenizer(train_sentencepiece(corpus.read_text(encoding="utf-8").splitlines()[:800],
                                                    tmp_path / "tok", vocab_size=300))
    torch.manual_seed(0)
    cfg = with_sharing(AlbertConfig.from_preset("albert-tiny", vocab_size=tokenizer.vocab_size,
                                                num_hidden_layers=3, initializer_range=0.5), "attention")
    ours.AlbertForMaskedLM(cfg).save_pretrained(tmp_path / "model", tokenizer=tokenizer)
    record = run_bias(model=str(tmp_path / "model"), probe="card", top_k=3, out_dir=tmp_path / "out",
                      results_dir=tmp_path / "results")
    model = ours.AlbertForMaskedLM.from_pretrained(tmp_path / "model")
    for text, result in record["bias"]["card"].items():
        assert [r["token"] for r in result] == [r["token"] for r in fill_mask(model, tokenizer, text, top_k=3)]


def test_pretrain_config_and_cli_flag():
    cfg = resolve_config("albert-tiny", 120, {"num_hidden_layers": 4}, sharing="ffn")
    assert (cfg.vocab_size, cfg.num_hidden_groups, cfg.shared_sublayer) == (120, 4, "ffn")
    assert sharing_strategy(resolve_config("albert-tiny", 120, None)) == "all"          # None: the config's own
    args = cli.build_parser().parse_args(["pretrain", "--corpus", "c.txt", "--config", "albert-tiny",
                                          "--vocab-size", "50", "--output-dir", "o", "--sharing", "attention"])
    assert args.sharing == "attention"


def test_model_card_of_a_shared_model_says_transformers_cannot_load_it(tmp_path):
    from albert_bench.reports.model_card import build_model_card
    ours.AlbertForMaskedLM(config("ffn")).save_pretrained(tmp_path / "ffn")
    ours.AlbertForMaskedLM(config("none")).save_pretrained(tmp_path / "none")
    shared, plain = (str(build_model_card(str(tmp_path / n), results_dir=None)) for n in ("ffn", "none"))
    assert "transformers cannot load this model" in shared and "With transformers:" not in shared
    assert "library_name: transformers" not in shared
    assert "With transformers:" in plain and "library_name: transformers" in plain


def test_pretrain_with_shared_attention_resumes_and_loads(tmp_path):
    from test_pretrain import _run, write_corpus
    from albert_bench.engine.signals import TrainingInterrupted
    corpus = write_corpus(tmp_path / "c.txt", n_docs=10)
    layers = {"num_hidden_layers": 3}
    with pytest.raises(TrainingInterrupted):          # after the step-3 checkpoint (checkpoint_every=3)
        _run(tmp_path, corpus, "out", steps=4, sharing="attention", config_overrides=layers, _stop_at_step=3)
    with pytest.raises(ValueError, match="config"):   # the resumed run must keep its sharing
        _run(tmp_path, corpus, "out", steps=4, sharing="ffn", config_overrides=layers, resume=True)
    summary = _run(tmp_path, corpus, "out", steps=4, sharing="attention", config_overrides=layers, resume=True)
    out = tmp_path / "out"
    assert summary["steps"] == 4 and (out / SHARED_SUBLAYER_NAME).is_file() and (out / NOTICE_NAME).is_file()
    model = ours.AlbertForPreTraining.from_pretrained(out)
    assert (sharing_strategy(model.config), model.config.num_hidden_groups) == ("attention", 3)
