"""from_pretrained / save_pretrained for every ALBERT class, in Hugging Face's directory format:
config.json + model.safetensors (or a sharded model.safetensors.index.json, or a
pytorch_model.bin read with torch.load(weights_only=True); nothing is ever unpickled).

A checkpoint saved from any class loads into any other: encoder weights are reused, head
weights the checkpoint lacks are freshly initialized, and one log line on the "albert_bench"
logger lists what was newly initialized and what was unused.

    model = AlbertForSequenceClassification.from_pretrained("path/to/albert-base-v2", num_labels=3)
    model.save_pretrained("out/", tokenizer=tok)   # transformers' AlbertFor*.from_pretrained reads it

...unless config.shared_sublayer is set (paper Table 4's shared-attention / shared-FFN): transformers
has no such model. Its AlbertModel would build num_hidden_groups separate layers, load group 0's
shared sublayer and randomly initialize the rest with only a load-report warning, so such a folder
holds its weights as albert_bench_model.safetensors (a name transformers never reads: it stops with
"no file named model.safetensors") plus ALBERT_BENCH_ONLY.md saying why; only albert_bench loads it.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from albert_bench.modeling.config import CONFIG_NAME, AlbertConfig
from albert_bench.io import atomic_write, atomic_write_text

logger = logging.getLogger("albert_bench")

SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX_NAME = "model.safetensors.index.json"
BIN_NAME = "pytorch_model.bin"
SHARED_SUBLAYER_NAME = "albert_bench_model.safetensors"   # weights of a shared_sublayer model (see above)
NOTICE_NAME = "ALBERT_BENCH_ONLY.md"
# Buffers older transformers versions saved; they are recomputed, never loaded.
_IGNORED_SUFFIXES = ("embeddings.position_ids", "embeddings.token_type_ids")
_PREFIX = "albert."


class CheckpointError(ValueError):
    """A checkpoint a user can fix: missing/corrupt file, wrong shapes, unreachable hub id."""


# ---- locating and reading ----------------------------------------------------------------

def resolve_model_dir(path_or_id: str | os.PathLike) -> Path:
    """A local directory as is; otherwise a Hugging Face Hub id fetched with snapshot_download."""
    path = Path(path_or_id).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise CheckpointError(f"{path} is a file; pass the directory that holds {CONFIG_NAME} and {SAFETENSORS_NAME}")
    name = str(path_or_id)
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name:
        raise CheckpointError(f"model directory {name} does not exist")
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    try:
        from huggingface_hub import snapshot_download
        # Only what we read: skip the TF/Flax/Rust weights hub ALBERT repos also carry.
        local = Path(snapshot_download(name, local_files_only=offline,
                                       allow_patterns=["*.json", "*.safetensors", "spiece.model"]))
        if not any((local / n).exists() for n in (SAFETENSORS_NAME, SAFETENSORS_INDEX_NAME, SHARED_SUBLAYER_NAME)):
            local = Path(snapshot_download(name, local_files_only=offline, allow_patterns=[BIN_NAME]))
        return local
    except Exception as e:  # offline, unknown id, no connection: all end the same way for the user
        raise CheckpointError(
            f"{name!r} is not a local directory and could not be fetched from the Hugging Face Hub "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). Offline? Pass a local "
            f"directory holding {CONFIG_NAME} + {SAFETENSORS_NAME} (e.g. made once with "
            f"`huggingface-cli download {name} --local-dir DIR`).") from None


def read_state_dict(directory: Path) -> tuple[dict[str, torch.Tensor], Path]:
    """The weights in `directory` (CPU tensors) and the file they came from (a shared_sublayer
    model's albert_bench_model.safetensors first)."""
    from safetensors.torch import load_file

    def read_safetensors(file: Path) -> dict[str, torch.Tensor]:
        try:
            return load_file(str(file), device="cpu")
        except Exception as e:
            raise CheckpointError(f"cannot read {file}: {e}. The file is truncated or corrupt; "
                                  "download or save it again") from None

    ours, single, index, binary = (directory / n for n in (SHARED_SUBLAYER_NAME, SAFETENSORS_NAME,
                                                           SAFETENSORS_INDEX_NAME, BIN_NAME))
    if ours.exists():
        return read_safetensors(ours), ours
    if single.exists():
        return read_safetensors(single), single
    if index.exists():
        try:
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (json.JSONDecodeError, KeyError, AttributeError) as e:
            raise CheckpointError(f"{index} is not a valid safetensors index ({e})") from None
        state: dict[str, torch.Tensor] = {}
        for shard in shards:
            state.update(read_safetensors(directory / shard))
        return state, index
    if binary.exists():
        try:
            state = torch.load(binary, map_location="cpu", weights_only=True)
        except Exception as e:
            raise CheckpointError(f"cannot read {binary} as a weights-only PyTorch file: {e}. Convert it to "
                                  f"{SAFETENSORS_NAME}, or download it again") from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise CheckpointError(f"{binary} does not hold a plain state dict of tensors")
        return state, binary
    raise CheckpointError(f"no weights found in {directory}: expected {SAFETENSORS_NAME} "
                          f"(or {SAFETENSORS_INDEX_NAME}, or {BIN_NAME}, or {SHARED_SUBLAYER_NAME})")


# ---- matching keys -----------------------------------------------------------------------

def tied_aliases(model: torch.nn.Module) -> dict[str, str]:
    """Parameter names that are the same tensor as an earlier name: alias -> canonical.
    For the MLM head: predictions.decoder.weight -> albert.embeddings.word_embeddings.weight,
    predictions.decoder.bias -> predictions.bias."""
    first: dict[int, str] = {}
    aliases = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in first:
            aliases[name] = first[id(p)]
        else:
            first[id(p)] = name
    return aliases


def match_keys(state: dict[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Rename a checkpoint's keys to the model's naming: add/strip the `albert.` prefix (bare
    AlbertModel <-> heads), fold tied aliases onto their canonical key, drop stale buffers. An alias
    whose value differs from its canonical one (a checkpoint with distinct layers where this model
    shares one module) stays, so the load reports it as unused."""
    state = {k: v for k, v in state.items() if not k.endswith(_IGNORED_SUFFIXES)}
    model_has_prefix = any(k.startswith(_PREFIX) for k in model.state_dict())
    file_has_prefix = any(k.startswith(_PREFIX) for k in state)
    if model_has_prefix and not file_has_prefix:      # saved from a bare AlbertModel
        state = {_PREFIX + k: v for k, v in state.items()}
    elif file_has_prefix and not model_has_prefix:    # a head's checkpoint into AlbertModel
        state = {k.removeprefix(_PREFIX): v for k, v in state.items()}
    for alias, canonical in tied_aliases(model).items():
        # Older HF files hold the tied decoder weight/bias too (equal to the canonical ones);
        # a file with only the alias still provides the value.
        value = state.get(alias)
        if value is not None and canonical not in state:
            state[canonical] = state.pop(alias)
        elif value is not None and value.shape == state[canonical].shape and torch.equal(value, state[canonical]):
            del state[alias]
    return state


def load_weights(model: torch.nn.Module, directory: Path) -> None:
    state, file = read_state_dict(directory)
    state = match_keys(state, model)
    aliases = tied_aliases(model)
    expected = {k: v for k, v in model.state_dict().items() if k not in aliases}
    mismatched = [f"weight {key} has shape {tuple(state[key].shape)} in the checkpoint but "
                  f"{tuple(value.shape)} in the model"
                  for key, value in expected.items() if key in state and state[key].shape != value.shape]
    if mismatched:
        raise CheckpointError(f"{file}: {'; '.join(mismatched)}. The config (e.g. a num_labels or "
                              "size override) does not match the checkpoint")
    model.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=False)
    new = sorted(expected.keys() - state.keys())
    unused = sorted(state.keys() - expected.keys())
    name = type(model).__name__
    shared = getattr(model.config, "shared_sublayer", None)
    encoder_new = [k for k in new if k.removeprefix(_PREFIX).startswith("encoder.")]
    if shared and encoder_new:  # the shared module lives in group 0's keys; missing, it would be random
        raise CheckpointError(
            f"{file}: config.json says shared_sublayer={shared!r} but the weights lack encoder keys "
            f"{encoder_new[:4]}{' ...' if len(encoder_new) > 4 else ''}; this is not the checkpoint that "
            "config describes. Save the model again with albert_bench's save_pretrained, or remove "
            "shared_sublayer from config.json if the folder holds a plain ALBERT")
    if new or unused:
        logger.warning("%s loaded from %s; newly initialized: %s; unused from checkpoint: %s",
                       name, file, new or "none", unused or "none")
    else:
        logger.info("%s loaded from %s; all %d weights used, none newly initialized", name, file, len(expected))


def shared_sublayer_notice(shared: str) -> str:
    """ALBERT_BENCH_ONLY.md of a shared_sublayer folder: what it is and who can load it."""
    return (f"# An albert-bench model that transformers cannot load\n\n"
            f"config.json sets `shared_sublayer: \"{shared}\"` (ALBERT paper Table 4, shared-{shared}): every "
            f"layer has its own weights except the {shared} sublayer, one module shared by all layers. "
            f"Hugging Face transformers' ALBERT has no such model: its AlbertModel would build "
            f"num_hidden_groups independent layers and randomly initialize all but the first layer's {shared} "
            f"weights. So the weights are stored as `{SHARED_SUBLAYER_NAME}`, a file transformers never "
            f"reads (it stops with \"no file named model.safetensors\"), instead of `{SAFETENSORS_NAME}`.\n\n"
            f"Load it with albert_bench:\n\n```python\nfrom albert_bench import AlbertModel\n"
            f"model = AlbertModel.from_pretrained(\"path/to/this/folder\")\n```\n")


# ---- the mixin ---------------------------------------------------------------------------

class CheckpointMixin:
    """from_pretrained / save_pretrained for a torch module built as `cls(config)`."""
    config: AlbertConfig

    @classmethod
    def from_pretrained(cls, path_or_id: str | os.PathLike, **config_overrides: Any):
        """Load a directory (or Hub id) saved by us or by transformers. `config_overrides` change
        config fields first, e.g. num_labels=3 or hidden_dropout_prob=0.0. Returned in eval mode."""
        directory = resolve_model_dir(path_or_id)
        config = AlbertConfig.from_pretrained(directory, **config_overrides)
        model = cls(config)
        load_weights(model, directory)
        return model.eval()

    def save_pretrained(self, directory: str | os.PathLike, tokenizer: Any = None) -> Path:
        """Write config.json (architectures=[class name]) and model.safetensors atomically.
        Tied aliases are left out, as transformers 5 does; its loader re-ties them. With
        config.shared_sublayer: albert_bench_model.safetensors + ALBERT_BENCH_ONLY.md instead (the
        module docstring says why), and stale Hugging Face weight files there are removed."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        aliases = tied_aliases(self)
        state = {k: v.detach().to("cpu").contiguous() for k, v in self.state_dict().items() if k not in aliases}
        shared = self.config.shared_sublayer
        # The other kind's files would be read instead (by transformers, or by us): none left stale.
        stale = (SAFETENSORS_NAME, SAFETENSORS_INDEX_NAME, BIN_NAME) if shared else (SHARED_SUBLAYER_NAME, NOTICE_NAME)
        for name in stale:
            (directory / name).unlink(missing_ok=True)
        weights = SHARED_SUBLAYER_NAME if shared else SAFETENSORS_NAME
        atomic_write(directory / weights, lambda tmp: save_file(state, tmp, metadata={"format": "pt"}))
        if shared:
            atomic_write_text(directory / NOTICE_NAME, shared_sublayer_notice(shared))
            logger.warning("%s: shared_sublayer=%r (one %s module for every layer): transformers cannot load this "
                           "folder, albert_bench's from_pretrained can (%s there says why)", directory, shared,
                           shared, NOTICE_NAME)
        self.config.with_overrides(architectures=[type(self).__name__]).save_pretrained(directory)
        if tokenizer is not None:
            tokenizer.save_pretrained(directory)
        return directory
