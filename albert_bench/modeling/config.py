"""ALBERT configuration: a plain dataclass whose field names are exactly Hugging Face's (plus our own
shared_sublayer, written only when set), the eight published presets and two BERT-shaped ones as a
dict literal, and reading/writing Hugging Face `config.json`.

    from albert_bench.modeling.config import AlbertConfig
    cfg = AlbertConfig.from_preset("albert-base-v2")
    cfg.save_pretrained("out/"); AlbertConfig.from_pretrained("out/") == cfg
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from albert_bench.io import atomic_write_json

CONFIG_NAME = "config.json"
ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish")
SHARED_SUBLAYERS = (None, "attention", "ffn")
PROBLEM_TYPES = (None, "regression", "single_label_classification", "multi_label_classification")


class ConfigError(ValueError):
    """A config a user can fix (bad file, bad value, unknown preset). The message says how."""


@dataclass
class AlbertConfig:
    # Defaults equal transformers' AlbertConfig defaults (an xxlarge-shaped model), so a sparse
    # config.json means the same thing here and there.
    vocab_size: int = 30000                 # SentencePiece vocabulary (ids 0-4: pad unk [CLS] [SEP] [MASK])
    embedding_size: int = 128               # E: factorized embedding size, mapped to H by embedding_hidden_mapping_in
    hidden_size: int = 4096                 # H
    num_hidden_layers: int = 12             # how many times a layer group is applied
    num_hidden_groups: int = 1              # distinct parameter groups (1 = every layer shares weights)
    num_attention_heads: int = 64           # H must divide evenly by it
    intermediate_size: int = 16384          # FFN inner size
    inner_group_num: int = 1                # layers inside one group, run in order each time the group runs
    shared_sublayer: str | None = None      # albert-bench only (paper Table 4): "attention" | "ffn" = every layer its own group (num_hidden_groups = num_hidden_layers) but this sublayer one module shared by all; transformers cannot load such a model
    hidden_act: str = "gelu_new"            # gelu (exact erf) | gelu_new = gelu_pytorch_tanh (tanh approx., original TF) | relu | silu/swish
    hidden_dropout_prob: float = 0.0        # embeddings, attention output and FFN output
    attention_probs_dropout_prob: float = 0.0  # on attention probabilities
    max_position_embeddings: int = 512      # longest sequence the position table covers
    type_vocab_size: int = 2                # segment ids 0/1
    initializer_range: float = 0.02         # std of the normal init of Linear/Embedding weights
    layer_norm_eps: float = 1e-12
    classifier_dropout_prob: float | None = 0.1  # dropout before classifier heads (None: use hidden_dropout_prob, token cls.)
    position_embedding_type: str = "absolute"    # only "absolute" exists in ALBERT checkpoints
    pad_token_id: int = 0                   # its embedding row is zero-initialized
    bos_token_id: int = 2                   # [CLS]
    eos_token_id: int = 3                   # [SEP]
    num_labels: int | None = None           # None: len(id2label) if given, else 2
    id2label: dict[int, str] | None = None  # None: LABEL_0..LABEL_{n-1}; JSON keys are strings, ints here
    label2id: dict[str, int] | None = None  # None: inverse of id2label
    problem_type: str | None = None         # None (decided from num_labels / label dtype) | regression | single_label_classification | multi_label_classification
    architectures: list[str] | None = None  # class names that wrote the checkpoint (written by save_pretrained)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)  # unknown config.json keys, written back unchanged

    def __post_init__(self) -> None:
        if self.id2label is not None:
            self.id2label = {int(k): str(v) for k, v in self.id2label.items()}
            if self.num_labels is not None and self.num_labels != len(self.id2label):
                raise ConfigError(
                    f"num_labels={self.num_labels} but id2label has {len(self.id2label)} entries "
                    f"({self.id2label}); pass only one of them, or make them agree")
            self.num_labels = len(self.id2label)
        else:
            self.num_labels = 2 if self.num_labels is None else int(self.num_labels)
            self.id2label = {i: f"LABEL_{i}" for i in range(self.num_labels)}
        inverse = {name: i for i, name in self.id2label.items()}
        if self.label2id is None:
            self.label2id = inverse
        else:
            self.label2id = {str(k): int(v) for k, v in self.label2id.items()}
            if self.label2id != inverse:
                raise ConfigError(f"label2id {self.label2id} is not the inverse of id2label {self.id2label}")
        if self.hidden_act not in ACTIVATIONS:
            raise ConfigError(f"hidden_act={self.hidden_act!r} is not supported; use one of {ACTIVATIONS}")
        if self.position_embedding_type != "absolute":
            raise ConfigError(f"position_embedding_type={self.position_embedding_type!r} is not supported; "
                              "ALBERT uses 'absolute' position embeddings only")
        if self.problem_type not in PROBLEM_TYPES:
            raise ConfigError(f"problem_type={self.problem_type!r} must be one of {PROBLEM_TYPES}")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(f"hidden_size={self.hidden_size} is not a multiple of "
                              f"num_attention_heads={self.num_attention_heads}")
        if not 1 <= self.num_hidden_groups <= self.num_hidden_layers:
            raise ConfigError(f"num_hidden_groups={self.num_hidden_groups} must be between 1 and "
                              f"num_hidden_layers={self.num_hidden_layers}")
        if self.shared_sublayer not in SHARED_SUBLAYERS:
            raise ConfigError(f"shared_sublayer={self.shared_sublayer!r} must be one of {SHARED_SUBLAYERS} "
                              "(the sublayer one module serves every layer; None: plain ALBERT sharing)")
        if self.shared_sublayer is not None and (self.num_hidden_groups != self.num_hidden_layers
                                                 or self.inner_group_num != 1):
            raise ConfigError(f"shared_sublayer={self.shared_sublayer!r} needs every layer its own group: set "
                              f"num_hidden_groups={self.num_hidden_layers} (= num_hidden_layers; it is "
                              f"{self.num_hidden_groups}) and inner_group_num=1 (it is {self.inner_group_num}), "
                              "or use albert_bench.modeling.params.with_sharing")

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> "AlbertConfig":
        if name not in PRESETS:
            raise ConfigError(f"unknown ALBERT preset {name!r}; known presets: {', '.join(PRESETS)}")
        return cls.from_dict({**PRESETS[name], **overrides})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AlbertConfig":
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in d.items() if k in names}
        extra = {k: v for k, v in d.items() if k not in names and k not in _DROPPED_KEYS}
        return cls(**known, extra=extra)

    @classmethod
    def from_json_file(cls, path: str | Path) -> "AlbertConfig":
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path} not found: a model directory needs a config.json") from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path} is not valid JSON (line {e.lineno}: {e.msg})") from None
        if not isinstance(d, dict):
            raise ConfigError(f"{path} must hold a JSON object")
        model_type = d.get("model_type", "albert")
        if model_type != "albert":
            raise ConfigError(f"{path} describes a {model_type!r} model, not 'albert'; "
                              "point to an ALBERT checkpoint directory")
        try:
            return cls.from_dict(d)
        except (ConfigError, TypeError) as e:
            raise ConfigError(f"{path}: {e}") from None

    @classmethod
    def from_pretrained(cls, directory: str | Path, **overrides: Any) -> "AlbertConfig":
        config = cls.from_json_file(Path(directory) / CONFIG_NAME)
        return config.with_overrides(**overrides) if overrides else config

    def with_overrides(self, **overrides: Any) -> "AlbertConfig":
        """A new config with `overrides` applied (self is unchanged). Changing num_labels without
        id2label regenerates the label names, as transformers does."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ConfigError(f"unknown AlbertConfig field(s) {unknown}; valid fields: {sorted(names - {'extra'})}")
        d = self.to_dict()
        if "num_labels" in overrides and "id2label" not in overrides \
                and overrides["num_labels"] != self.num_labels:
            d.pop("id2label"), d.pop("label2id")
        if "id2label" in overrides and "label2id" not in overrides:
            d.pop("label2id")
        if "id2label" in overrides and "num_labels" not in overrides:
            d.pop("num_labels")
        d.update(overrides)
        return type(self).from_dict(d)

    # ---- output -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The config.json object: Hugging Face key names, id2label keys as strings."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        d["id2label"] = {str(k): v for k, v in self.id2label.items()}
        d["label2id"] = dict(self.label2id)
        for key in ("architectures", "shared_sublayer"):   # absent when unset: HF config.json files stay as they are
            if d[key] is None:
                del d[key]
        return {**self.extra, "model_type": "albert", **d}

    def save_pretrained(self, directory: str | Path) -> Path:
        return atomic_write_json(Path(directory) / CONFIG_NAME, self.to_dict())


# Keys transformers writes that describe its own runtime, not the model: not carried over.
_DROPPED_KEYS = {"model_type", "transformers_version", "_name_or_path"}

_SHARED = dict(embedding_size=128, vocab_size=30000, max_position_embeddings=512, type_vocab_size=2,
               initializer_range=0.02, layer_norm_eps=1e-12, num_hidden_groups=1, inner_group_num=1,
               pad_token_id=0, bos_token_id=2, eos_token_id=3, classifier_dropout_prob=0.1,
               # The original TF "gelu" is the tanh approximation; every preset uses it (HF v2 configs
               # say gelu_new; some HF v1 configs say gelu, which loading a config.json honours).
               hidden_act="gelu_new")
_SIZES = dict(base=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
              large=dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
              xlarge=dict(hidden_size=2048, num_hidden_layers=24, num_attention_heads=16, intermediate_size=8192),
              xxlarge=dict(hidden_size=4096, num_hidden_layers=12, num_attention_heads=64, intermediate_size=16384))


def _dropout(p: float) -> dict[str, float]:
    return dict(hidden_dropout_prob=p, attention_probs_dropout_prob=p)


PRESETS: dict[str, dict[str, Any]] = {
    # v1: dropout 0.1 except xxlarge (0); v2: dropout 0 everywhere.
    "albert-base-v1": {**_SHARED, **_SIZES["base"], **_dropout(0.1)},
    "albert-large-v1": {**_SHARED, **_SIZES["large"], **_dropout(0.1)},
    "albert-xlarge-v1": {**_SHARED, **_SIZES["xlarge"], **_dropout(0.1)},
    "albert-xxlarge-v1": {**_SHARED, **_SIZES["xxlarge"], **_dropout(0.0)},
    "albert-base-v2": {**_SHARED, **_SIZES["base"], **_dropout(0.0)},
    "albert-large-v2": {**_SHARED, **_SIZES["large"], **_dropout(0.0)},
    "albert-xlarge-v2": {**_SHARED, **_SIZES["xlarge"], **_dropout(0.0)},
    "albert-xxlarge-v2": {**_SHARED, **_SIZES["xxlarge"], **_dropout(0.0)},
    # ALBERT configs shaped like BERT (paper Table 1's BERT rows, Table 3's E=768 not-shared): E = H and
    # no cross-layer sharing. BERT has no E->H projection but ALBERT always has one, so their counts
    # include its E*H+H weights (590,592 for base); params.bert_equivalent_count leaves it out.
    "bert-base-shaped": {**_SHARED, **_SIZES["base"], **_dropout(0.1), "embedding_size": 768, "num_hidden_groups": 12},
    "bert-large-shaped": {**_SHARED, **_SIZES["large"], **_dropout(0.1), "embedding_size": 1024,
                          "num_hidden_groups": 24},
    # Tests and demos: seconds on a CPU. Odd intermediate size catches transposed weights.
    "albert-tiny": {**_SHARED, **_dropout(0.1), "vocab_size": 99, "embedding_size": 16, "hidden_size": 32,
                    "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37,
                    "max_position_embeddings": 64},
}
