"""AlbertConfig: presets, validation, config.json in both directions against transformers.

    python -m pytest -q tests/test_config.py
"""
import json

import pytest
import transformers

from albert_bench.modeling.config import PRESETS, AlbertConfig, ConfigError
from conftest import VARIANTS

FACTS = {  # ALBERT_FACTS.md section 1
    "base": (768, 12, 12, 3072), "large": (1024, 24, 16, 4096),
    "xlarge": (2048, 24, 16, 8192), "xxlarge": (4096, 12, 64, 16384),
}


@pytest.mark.parametrize("name", [p for p in PRESETS if p.startswith("albert-") and p != "albert-tiny"])
def test_presets_match_facts(name):
    cfg = AlbertConfig.from_preset(name)
    size, version = name.split("-")[1:]
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size) == FACTS[size]
    assert (cfg.embedding_size, cfg.vocab_size, cfg.max_position_embeddings, cfg.type_vocab_size) == (128, 30000, 512, 2)
    assert (cfg.num_hidden_groups, cfg.inner_group_num, cfg.layer_norm_eps) == (1, 1, 1e-12)
    assert (cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id) == (0, 2, 3)
    dropout = 0.1 if version == "v1" and size != "xxlarge" else 0.0
    assert cfg.hidden_dropout_prob == cfg.attention_probs_dropout_prob == dropout
    assert cfg.hidden_act == "gelu_new" and cfg.classifier_dropout_prob == 0.1


def test_unknown_preset_lists_known():
    with pytest.raises(ConfigError, match="albert-base-v2.*albert-tiny"):
        AlbertConfig.from_preset("albert-huge")


@pytest.mark.parametrize("bad,match", [
    (dict(hidden_act="tanh"), "hidden_act"),
    (dict(position_embedding_type="relative_key"), "absolute"),
    (dict(problem_type="ranking"), "problem_type"),
    (dict(hidden_size=30, num_attention_heads=4), "num_attention_heads"),
    (dict(num_labels=3, id2label={0: "a", 1: "b"}), "num_labels=3"),
    (dict(shared_sublayer="embeddings"), "shared_sublayer='embeddings' must be one of"),
    (dict(shared_sublayer="ffn"), "num_hidden_groups=2 .*with_sharing"),      # TINY: 2 layers, 1 group
    (dict(shared_sublayer="attention", num_hidden_groups=2, inner_group_num=2), "inner_group_num=1"),
])
def test_invalid_values(bad, match):
    with pytest.raises(ConfigError, match=match):
        AlbertConfig(**{**VARIANTS["v2"], **bad})


def test_shared_sublayer_written_only_when_set(tmp_path):
    plain = AlbertConfig(**VARIANTS["v2"])
    assert "shared_sublayer" not in plain.to_dict()        # HF config.json files stay as they were
    shared = plain.with_overrides(num_hidden_groups=plain.num_hidden_layers, shared_sublayer="attention")
    assert shared.to_dict()["shared_sublayer"] == "attention"
    shared.save_pretrained(tmp_path)
    assert AlbertConfig.from_pretrained(tmp_path) == shared


def test_bert_shaped_presets():
    base, large = AlbertConfig.from_preset("bert-base-shaped"), AlbertConfig.from_preset("bert-large-shaped")
    assert (base.hidden_size, base.num_hidden_layers, base.num_attention_heads, base.intermediate_size,
            base.embedding_size, base.num_hidden_groups) == (768, 12, 12, 3072, 768, 12)
    assert (large.hidden_size, large.num_hidden_layers, large.num_attention_heads, large.intermediate_size,
            large.embedding_size, large.num_hidden_groups) == (1024, 24, 16, 4096, 1024, 24)
    for cfg in (base, large):
        assert cfg.vocab_size == 30000 and cfg.hidden_dropout_prob == cfg.attention_probs_dropout_prob == 0.1
        assert cfg.shared_sublayer is None


def test_labels_derived_and_overrides():
    cfg = AlbertConfig(id2label={"0": "neg", "1": "neu", "2": "pos"})
    assert cfg.num_labels == 3 and cfg.id2label == {0: "neg", 1: "neu", 2: "pos"}
    assert cfg.label2id == {"neg": 0, "neu": 1, "pos": 2}
    assert AlbertConfig().id2label == {0: "LABEL_0", 1: "LABEL_1"}
    more = cfg.with_overrides(num_labels=5, hidden_dropout_prob=0.0)
    assert more.num_labels == 5 and list(more.id2label.values()) == [f"LABEL_{i}" for i in range(5)]
    assert cfg.num_labels == 3, "with_overrides must not change the original"
    assert cfg.with_overrides(id2label={0: "x"}).num_labels == 1
    with pytest.raises(ConfigError, match="num_lables"):
        cfg.with_overrides(num_lables=3)


def test_json_round_trip_keeps_unknown_keys(tmp_path):
    cfg = AlbertConfig.from_dict({**VARIANTS["groups"], "id2label": {"0": "a", "1": "b", "2": "c"},
                                  "my_note": "keep me", "transformers_version": "4.0"})
    cfg.save_pretrained(tmp_path)
    raw = json.loads((tmp_path / "config.json").read_text())
    assert raw["model_type"] == "albert" and raw["id2label"] == {"0": "a", "1": "b", "2": "c"}
    assert raw["my_note"] == "keep me" and "transformers_version" not in raw
    assert AlbertConfig.from_pretrained(tmp_path) == cfg


def test_transformers_reads_ours_and_we_read_theirs(tmp_path):
    ours = AlbertConfig(**VARIANTS["v1"], id2label={0: "x", 1: "y", 2: "z"}, problem_type="single_label_classification")
    ours.save_pretrained(tmp_path / "ours")
    theirs = transformers.AlbertConfig.from_pretrained(tmp_path / "ours")
    for key, value in ours.to_dict().items():
        if key not in ("id2label", "architectures", "position_embedding_type"):
            assert getattr(theirs, key) == value, key
    assert theirs.id2label == ours.id2label and theirs.num_labels == 3

    ref = transformers.AlbertConfig(**VARIANTS["groups"], num_labels=4)
    ref.save_pretrained(tmp_path / "hf")
    back = AlbertConfig.from_pretrained(tmp_path / "hf")
    assert back.num_labels == 4 and back.num_hidden_groups == 2 and back.hidden_act == "gelu_new"


def test_bad_config_files(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    with pytest.raises(ConfigError, match=r"config\.json.*'bert'"):
        AlbertConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"config\.json is not valid JSON \(line 1"):
        AlbertConfig.from_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="nowhere.*config.json"):
        AlbertConfig.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "albert", "hidden_act": "tanh"}))
    with pytest.raises(ConfigError, match=r"config\.json: hidden_act"):
        AlbertConfig.from_pretrained(tmp_path)
