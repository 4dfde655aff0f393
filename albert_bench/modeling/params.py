"""Cross-layer sharing strategies (paper Table 4) and exact parameter counts, computed from the config
alone (no model is built: xxlarge is instant).

    from albert_bench.modeling.params import parameter_counts, with_sharing
    cfg = with_sharing(AlbertConfig.from_preset("albert-base-v2", embedding_size=768), "attention")
    parameter_counts(cfg)["model"]        # 83,668,992: the paper's "83M" shared-attention row

Strategies (`sharing_strategy`, `with_sharing`):
    all        num_hidden_groups 1: one layer's weights serve every layer (ALBERT)
    none       num_hidden_groups = num_hidden_layers: every layer its own (BERT-like)
    attention  every layer its own FFN, one attention sublayer shared by all (config.shared_sublayer)
    ffn        every layer its own attention, one FFN sublayer shared by all
`all` and `none` are plain Hugging Face ALBERT configs; `attention` / `ffn` load only in albert_bench.

What each count holds (V vocab, P positions, S segment types, E embedding_size, H hidden_size,
I intermediate_size, L layers; a LayerNorm is 2 x its width):
    embeddings     V*E + P*E + S*E + 2E            word, position, token type embeddings + LayerNorm
    projection     E*H + H                         embedding_hidden_mapping_in (E -> H)
    encoder        distinct layer weights: attention = 4(H*H + H) + 2H (query, key, value, dense,
                   LayerNorm), ffn = H*I + I + I*H + H + 2H (ffn, ffn_output, full_layer_layer_norm);
                   all: 1 layer, none: L layers, attention: 1 attention + L ffn, ffn: L attention + 1 ffn,
                   G groups: G layers (x inner_group_num in each case)
    pooler         H*H + H                         tanh(Linear) on [CLS]
    model          embeddings + projection + encoder + pooler = AlbertModel (with pooler), what the
                   Hub's model cards count (ALBERT_FACTS section 1)
    mlm_head       H*E + E + 2E + V                dense H -> E, LayerNorm(E), output bias; the decoder
                                                   is the word embedding matrix (tied), not counted again
    sentence_head  2H + 2                          the SOP (or NSP) classifier, Linear H -> 2
    pretraining    model + mlm_head + sentence_head = AlbertForPreTraining

A BERT-shaped config (presets "bert-base-shaped", "bert-large-shaped": E = H, no sharing) is still an
ALBERT: Hugging Face ALBERT always has the E -> H projection, which BERT does not. Its "model" count
includes that projection (E*H + H = 590,592 for base); `bert_equivalent_count` leaves it out, giving
what a real BERT of that shape (and vocabulary 30000) holds.
"""
from __future__ import annotations

from typing import Any, Mapping

from albert_bench.modeling.config import AlbertConfig, ConfigError

SHARING_STRATEGIES = ("all", "attention", "ffn", "none")


def _config(config: AlbertConfig | Mapping[str, Any]) -> AlbertConfig:
    """An AlbertConfig, or a config dict as run records store it (missing keys: the defaults)."""
    return config if isinstance(config, AlbertConfig) else AlbertConfig.from_dict(dict(config))


def sharing_strategy(config: AlbertConfig | Mapping[str, Any]) -> str:
    """"all" | "attention" | "ffn" | "none", or f"{G} groups" for any other num_hidden_groups."""
    cfg = _config(config)
    if cfg.shared_sublayer is not None:
        return cfg.shared_sublayer
    if cfg.num_hidden_groups == 1:
        return "all"
    if cfg.num_hidden_groups == cfg.num_hidden_layers:
        return "none"
    return f"{cfg.num_hidden_groups} groups"


def with_sharing(config: AlbertConfig, strategy: str) -> AlbertConfig:
    """A new config with the sharing `strategy` (one of SHARING_STRATEGIES); other fields unchanged."""
    if strategy not in SHARING_STRATEGIES:
        raise ConfigError(f"unknown sharing strategy {strategy!r}; use one of {', '.join(SHARING_STRATEGIES)} "
                          "(paper Table 4: all-shared, shared-attention, shared-FFN, not-shared)")
    groups = 1 if strategy == "all" else config.num_hidden_layers
    shared = strategy if strategy in ("attention", "ffn") else None
    return config.with_overrides(num_hidden_groups=groups, shared_sublayer=shared)


def parameter_counts(config: AlbertConfig | Mapping[str, Any]) -> dict[str, int]:
    """Exact parameter counts per component (the module docstring's table), from the config alone."""
    cfg = _config(config)
    V, P, S = cfg.vocab_size, cfg.max_position_embeddings, cfg.type_vocab_size
    E, H, I, L = cfg.embedding_size, cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    attention = 4 * (H * H + H) + 2 * H                  # query, key, value, dense + LayerNorm
    ffn = (H * I + I) + (I * H + H) + 2 * H              # ffn, ffn_output + full_layer_layer_norm
    if cfg.shared_sublayer == "attention":
        encoder = attention + L * ffn
    elif cfg.shared_sublayer == "ffn":
        encoder = L * attention + ffn
    else:
        encoder = cfg.num_hidden_groups * cfg.inner_group_num * (attention + ffn)
    counts = {"embeddings": V * E + P * E + S * E + 2 * E,
              "projection": E * H + H,
              "encoder": encoder,
              "pooler": H * H + H}
    counts["model"] = sum(counts.values())
    counts["mlm_head"] = (H * E + E) + 2 * E + V         # dense, LayerNorm, bias (decoder tied)
    counts["sentence_head"] = 2 * H + 2
    counts["pretraining"] = counts["model"] + counts["mlm_head"] + counts["sentence_head"]
    return counts


def bert_equivalent_count(config: AlbertConfig | Mapping[str, Any]) -> int:
    """The model count without the E -> H projection: what a BERT of this shape would have."""
    counts = parameter_counts(config)
    return counts["model"] - counts["projection"]


# The paper's Table 1 / 2 rows -> the preset of that configuration (v1 and v2 share shapes and counts;
# Table 2 is v1). The Speedup benchmark and the paper tables both read it.
PAPER_PRESETS = {"bert-base": "bert-base-shaped", "bert-large": "bert-large-shaped", "albert-base": "albert-base-v1",
                 "albert-large": "albert-large-v1", "albert-xlarge": "albert-xlarge-v1",
                 "albert-xxlarge": "albert-xxlarge-v1"}
