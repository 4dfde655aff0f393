"""Checkpoints: any class's checkpoint into any head, HF file variants (.bin, position_ids buffer,
stored tied decoder), config overrides, and one clear error per bad input.

    python -m pytest -q tests/test_checkpoint.py
"""
import logging

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch.testing import assert_close

from albert_bench.modeling import checkpoint
from albert_bench.modeling.checkpoint import CheckpointError
from albert_bench.modeling.config import AlbertConfig, ConfigError
from albert_bench.modeling.model import (AlbertForMaskedLM, AlbertForPreTraining, AlbertForQuestionAnswering,
                                AlbertForSequenceClassification, AlbertModel)
from conftest import VARIANTS, make_batch


@pytest.fixture
def mlm_dir(tmp_path):
    torch.manual_seed(0)
    model = AlbertForPreTraining(AlbertConfig(**VARIANTS["v2"]))
    model.save_pretrained(tmp_path / "mlm")
    return tmp_path / "mlm", model


def encoder_state(model):
    return {k.removeprefix("albert."): v for k, v in model.state_dict().items()
            if k.startswith("albert.") or not hasattr(model, "albert")}


def test_pretraining_into_classifier_logs_one_line(mlm_dir, caplog):
    directory, source = mlm_dir
    with caplog.at_level(logging.INFO, logger="albert_bench"):
        model = AlbertForSequenceClassification.from_pretrained(directory, num_labels=3, hidden_dropout_prob=0.0)
    assert model.config.num_labels == 3 and model.config.hidden_dropout_prob == 0.0
    assert model.classifier.out_features == 3
    for key, value in encoder_state(source).items():
        assert torch.equal(encoder_state(model)[key], value), key
    (record,) = [r for r in caplog.records if r.name == "albert_bench"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    new, unused = message.split("newly initialized:")[1].split("unused from checkpoint:")
    assert "classifier.weight" in new and "classifier.bias" in new and "albert." not in new
    assert "predictions.dense.weight" in unused and "sop_classifier.classifier.weight" in unused
    assert "decoder" not in unused  # tied aliases are not separate weights


def test_bare_model_checkpoint_into_head_and_back(tmp_path, caplog):
    torch.manual_seed(0)
    bare = AlbertModel(AlbertConfig(**VARIANTS["groups"]))
    bare.save_pretrained(tmp_path / "bare")
    assert not any(k.startswith("albert.") for k in load_file(tmp_path / "bare" / "model.safetensors"))
    with caplog.at_level(logging.INFO, logger="albert_bench"):
        qa = AlbertForQuestionAnswering.from_pretrained(tmp_path / "bare")
    new, unused = caplog.text.split("newly initialized:")[1].split("unused from checkpoint:")
    assert "qa_outputs.weight" in new and "albert.pooler.weight" in unused  # QA has no pooler, like HF
    qa.save_pretrained(tmp_path / "qa")
    again = AlbertModel.from_pretrained(tmp_path / "qa")  # head checkpoint -> bare model: prefix stripped
    batch = make_batch()
    with torch.no_grad():
        assert_close(again(**batch).last_hidden_state, bare.eval()(**batch).last_hidden_state)


def test_tied_decoder_variants_and_position_ids(mlm_dir, tmp_path):
    directory, source = mlm_dir
    state = load_file(directory / "model.safetensors")
    assert "predictions.decoder.weight" not in state and "predictions.bias" in state  # saved like transformers 5
    bias = torch.randn(99)
    # Older HF files: the tied decoder weight and bias stored too, plus the position_ids buffer.
    old = dict(state, **{"predictions.decoder.weight": state["albert.embeddings.word_embeddings.weight"].clone(),
                         "predictions.decoder.bias": bias, "albert.embeddings.position_ids": torch.arange(64)[None]})
    old["predictions.bias"] = bias.clone()
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.json").write_text((directory / "config.json").read_text())
    save_file(old, tmp_path / "old" / "model.safetensors")
    model = AlbertForMaskedLM.from_pretrained(tmp_path / "old")
    assert model.predictions.decoder.weight is model.albert.embeddings.word_embeddings.weight
    assert torch.equal(model.predictions.decoder.bias, bias)
    # Only the decoder's copy of the bias present: it becomes predictions.bias.
    del old["predictions.bias"]
    save_file(old, tmp_path / "old" / "model.safetensors")
    model = AlbertForMaskedLM.from_pretrained(tmp_path / "old")
    assert torch.equal(model.predictions.bias, bias) and model.predictions.decoder.bias is model.predictions.bias


def test_pytorch_model_bin(mlm_dir, tmp_path):
    directory, source = mlm_dir
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "config.json").write_text((directory / "config.json").read_text())
    torch.save(load_file(directory / "model.safetensors"), tmp_path / "bin" / "pytorch_model.bin")
    model = AlbertForPreTraining.from_pretrained(tmp_path / "bin")
    batch = make_batch()
    with torch.no_grad():
        assert_close(model(**batch).prediction_logits, source.eval()(**batch).prediction_logits)


def test_save_writes_architectures_and_tokenizer(tmp_path):
    class Tok:
        def save_pretrained(self, d):
            (d / "spiece.model").write_bytes(b"x")
    AlbertForSequenceClassification(AlbertConfig(**VARIANTS["v2"])).save_pretrained(tmp_path, tokenizer=Tok())
    assert AlbertConfig.from_pretrained(tmp_path).architectures == ["AlbertForSequenceClassification"]
    assert (tmp_path / "spiece.model").exists() and not list(tmp_path.glob("*.tmp"))


def test_shape_mismatch_names_file_key_and_shapes(tmp_path):
    AlbertForSequenceClassification(AlbertConfig(**VARIANTS["v2"])).save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match=r"model\.safetensors: weight classifier\.weight has shape \(2, 32\).*\(3, 32\)"):
        AlbertForSequenceClassification.from_pretrained(tmp_path, num_labels=3)


def test_missing_and_corrupt_files(mlm_dir, tmp_path):
    directory, _ = mlm_dir
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text((directory / "config.json").read_text())
    with pytest.raises(CheckpointError, match=f"no weights found in {empty}: expected model.safetensors.*pytorch_model.bin"):
        AlbertModel.from_pretrained(empty)
    data = (directory / "model.safetensors").read_bytes()
    (empty / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cannot read .*empty/model\.safetensors.*truncated or corrupt"):
        AlbertModel.from_pretrained(empty)
    (empty / "config.json").write_text('{"model_type": "roberta"}')
    with pytest.raises(ConfigError, match=r"empty/config\.json describes a 'roberta' model"):
        AlbertModel.from_pretrained(empty)
    with pytest.raises(CheckpointError, match="model directory ./no/such/dir does not exist"):
        AlbertModel.from_pretrained("./no/such/dir")
    with pytest.raises(CheckpointError, match="is a file"):
        AlbertModel.from_pretrained(directory / "config.json")
    with pytest.raises(ConfigError, match="unknown AlbertConfig field"):
        AlbertModel.from_pretrained(directory, hiden_size=3)


def test_hub_id_offline_says_pass_a_directory(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match=r"'albert-bench-test/no-such-model'.*Pass a local directory"):
        checkpoint.resolve_model_dir("albert-bench-test/no-such-model")
