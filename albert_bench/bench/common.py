"""What the benchmarks share: the paired models, random batches, ABBA-interleaved timing, the result
rows and their table. transformers is imported only here, inside `_transformers()`."""
from __future__ import annotations

import math
import statistics
import time
from typing import Any, Callable

import torch

from albert_bench.modeling.config import AlbertConfig
from albert_bench.modeling.model import AlbertForSequenceClassification

# ratio = ours / reference; `vs` names the reference (transformers, or our own model padded to 128).
ROW_KEYS = ("bench", "device", "dtype", "batch", "seq", "ours", "reference", "vs", "unit", "ratio", "better")
QUICK_PRESET = "albert-tiny"     # seconds on a CPU; used by tests and --quick
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


# ---- shared helpers -------------------------------------------------------------------------

class MissingReferenceError(ImportError, ValueError):
    """transformers is not installed. A ValueError too, so the CLI prints it as one line."""


def _transformers():
    try:
        import transformers
    except ImportError:
        raise MissingReferenceError("the benchmarks compare against transformers, which is not installed; "
                          "install the test extras: pip install -e '.[test]'") from None
    return transformers


def bench_config(size: str, quick: bool) -> AlbertConfig:
    """The config both sides are built from (v2 presets: no dropout, so train steps are comparable)."""
    return AlbertConfig.from_preset(QUICK_PRESET if quick else f"albert-{size}-v2")


def build_pair(config: AlbertConfig, seed: int = 0):
    """(ours, theirs): sequence classifiers with identical weights, theirs using SDPA attention."""
    transformers = _transformers()
    torch.manual_seed(seed)
    hf_config = transformers.AlbertConfig(**{k: v for k, v in config.to_dict().items() if k != "model_type"},
                                          attn_implementation="sdpa")
    theirs = transformers.AlbertForSequenceClassification(hf_config)
    ours = AlbertForSequenceClassification(config)
    # HF carries position_ids / token_type_ids buffers we compute on the fly; every weight must match.
    missing, unexpected = ours.load_state_dict(theirs.state_dict(), strict=False)
    unexpected = [k for k in unexpected if not k.endswith(("position_ids", "token_type_ids"))]
    assert not missing and not unexpected, f"key mismatch: missing {missing}, unexpected {unexpected}"
    return ours, theirs


def random_batch(config: AlbertConfig, batch: int, seq: int, device: str, seed: int = 0) -> dict:
    """Random ids with right padding: row 0 is full length, the rest 60-100% of `seq`."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(int(0.6 * seq), seq + 1, (batch,), generator=g)
    lengths[0] = seq
    positions = torch.arange(seq)[None, :]                                  # (1, T)
    mask = (positions < lengths[:, None]).long()                            # (B, T)
    ids = torch.randint(5, config.vocab_size, (batch, seq), generator=g) * mask
    types = ((positions >= (lengths[:, None] // 2)) & mask.bool()).long()   # second half is segment B
    labels = torch.randint(0, config.num_labels, (batch,), generator=g)
    return {k: v.to(device) for k, v in dict(input_ids=ids, attention_mask=mask, token_type_ids=types,
                                             labels=labels).items()}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_interleaved(fns: dict[str, Callable[[], Any]], iters: int, warmup: int, device: str) -> dict[str, float]:
    """Median seconds per call of each fn, alternating their order every iteration."""
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(iters):
        for name in (names if i % 2 == 0 else names[::-1]):
            _sync(device)
            t0 = time.perf_counter()
            fns[name]()
            _sync(device)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def row(bench: str, device: str, dtype: str, batch: int, seq: int | str, ours: float, reference: float,
        unit: str, vs: str = "transformers", better: str = "higher") -> dict:
    """One result; ratio is always ours / reference (read it with `better`)."""
    return dict(bench=bench, device=device, dtype=dtype, batch=batch, seq=seq, ours=ours, reference=reference,
                vs=vs, unit=unit, ratio=ours / reference if reference else float("nan"), better=better)


def format_table(rows: list[dict]) -> str:
    """A Markdown table of benchmark rows (the CLI prints it; the README pastes it)."""
    def cell(key, v):
        if key == "ratio":
            return f"{v:.2f}x" if math.isfinite(v) else "n/a"
        if isinstance(v, float):
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
        return str(v)
    lines = ["| " + " | ".join(ROW_KEYS) + " |", "|" + "---|" * len(ROW_KEYS)]
    lines += ["| " + " | ".join(cell(k, r[k]) for k in ROW_KEYS) + " |" for r in rows]
    return "\n".join(lines)


def _devices(device: str) -> list[str]:
    if device == "auto":
        return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: CUDA is not available on this machine; use --device cpu or auto")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"--device {device!r} is not one of auto, cpu, cuda")
    return [device]


def _dtype(dtype: str) -> torch.dtype:
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    return DTYPES[dtype]


class _threads:
    """Set torch's intra-op threads for a benchmark and restore them after (tests share a process)."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        self.saved = torch.get_num_threads()
        torch.set_num_threads(self.n)
        return self.n

    def __exit__(self, *exc):
        torch.set_num_threads(self.saved)
