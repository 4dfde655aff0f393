"""Benchmarks against transformers, measured in the same run: speed is reported as RATIOS
ours / transformers, never as absolute targets, because shared machines drift.

    albert-bench bench model   --size base      # inference + training-step throughput, peak memory
    albert-bench bench scoring --size base      # dev-set scoring in real tokens/s (sorted vs padded vs HF)
    python benchmarks/bench_model.py --quick    # the same, on a tiny config, in seconds

transformers is the reference and is imported only inside these functions (the library never
depends on it). Both sides are built from one config and hold identical weights; a logits check
guards that before anything is timed. Timings alternate ours/theirs each iteration to cancel drift
and report the median.
"""
from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
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


# ---- model throughput and memory ------------------------------------------------------------

def bench_model(size: str = "base", device: str = "auto", batch_size: int | None = None,
                seq_len: int | None = None, iters: int | None = None, warmup: int | None = None,
                dtype: str = "float32", quick: bool = False, threads: int | None = None,
                memory: bool = True, seed: int = 0) -> list[dict]:
    """Inference and training-step throughput (sequences/s) of our AlbertForSequenceClassification
    against transformers' (SDPA attention), same weights and inputs; plus peak memory of one
    inference forward and one training step, each side measured in its own fresh subprocess."""
    config = bench_config(size, quick)
    batch_size = batch_size or (2 if quick else 8)
    seq_len = seq_len or (16 if quick else 128)
    iters = iters or (2 if quick else 7)
    warmup = (1 if quick else 2) if warmup is None else warmup
    rows = []
    with _threads(threads or (1 if quick else torch.get_num_threads())) as n_threads:
        for dev in _devices(device):
            rows += _bench_model_on(dev, config, batch_size, seq_len, iters, warmup, dtype, seed)
            if memory:
                for mode in ("inference", "train_step"):
                    peak = {side: measure_memory(side, mode, config, batch_size, seq_len, dev, dtype, n_threads)
                            for side in ("ours", "theirs")}
                    rows.append(row(f"peak_mem_{mode}", dev, dtype, batch_size, seq_len, peak["ours"],
                                    peak["theirs"], "MiB", better="lower"))
    return rows


def _bench_model_on(dev, config, batch_size, seq_len, iters, warmup, dtype, seed) -> list[dict]:
    ours, theirs = build_pair(config, seed)
    inputs = random_batch(config, batch_size, seq_len, dev, seed)
    ours, theirs = ours.to(dev).eval(), theirs.to(dev).eval()
    check_same_logits(ours, theirs, inputs)
    ours, theirs = ours.to(_dtype(dtype)), theirs.to(_dtype(dtype))

    def infer(model):
        with torch.inference_mode():
            return model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                         token_type_ids=inputs["token_type_ids"]).logits
    t = time_interleaved({"ours": lambda: infer(ours), "theirs": lambda: infer(theirs)}, iters, warmup, dev)
    rows = [row("inference", dev, dtype, batch_size, seq_len, batch_size / t["ours"], batch_size / t["theirs"],
                "seq/s")]
    steps = {name: train_step_fn(model, inputs) for name, model in (("ours", ours), ("theirs", theirs))}
    t = time_interleaved(steps, iters, warmup, dev)
    rows.append(row("train_step", dev, dtype, batch_size, seq_len, batch_size / t["ours"], batch_size / t["theirs"],
                    "seq/s"))
    return rows


def check_same_logits(ours, theirs, inputs) -> None:
    """Both sides must compute the same function before their speed means anything."""
    with torch.inference_mode():
        args = dict(attention_mask=inputs["attention_mask"], token_type_ids=inputs["token_type_ids"])
        a = ours(inputs["input_ids"], **args).logits
        b = theirs(input_ids=inputs["input_ids"], **args).logits
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4,
                               msg=lambda m: f"ours and transformers disagree on identical weights: {m}")


def train_step_fn(model, inputs) -> Callable[[], None]:
    """Forward + backward + AdamW step in train mode (classification loss on both sides)."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                     token_type_ids=inputs["token_type_ids"], labels=inputs["labels"]).loss
        loss.backward()
        opt.step()
    return step


def measure_memory(side: str, mode: str, config: AlbertConfig, batch: int, seq: int, device: str,
                   dtype: str, threads: int) -> float:
    """Peak memory (MiB) that one forward (mode inference) or one training step adds on top of the
    built model, in a fresh subprocess so neither side inherits the other's allocator state.
    CPU: peak resident size (VmHWM, reset after building) minus resident size before; CUDA: torch.cuda.max_memory_allocated growth."""
    spec = dict(side=side, mode=mode, config=config.to_dict(), batch=batch, seq=seq, device=device,
                dtype=dtype, threads=threads)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "albert_bench.bench", "--memory-probe", json.dumps(spec)],
                          capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe ({side}, {mode}, {device}) failed:\n{proc.stderr[-2000:]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["peak_mib"])


def memory_probe(spec: dict) -> float:
    """Runs inside the subprocess: build one side, then measure its workload's peak growth."""
    config, device = AlbertConfig.from_dict(spec["config"]), spec["device"]
    if spec["side"] == "ours":
        model = AlbertForSequenceClassification(config)
    else:
        hf = _transformers()
        hf_config = hf.AlbertConfig(**{k: v for k, v in spec["config"].items() if k != "model_type"},
                                    attn_implementation="sdpa")
        model = hf.AlbertForSequenceClassification(hf_config)
    model = model.to(device=device, dtype=_dtype(spec["dtype"]))
    inputs = random_batch(config, spec["batch"], spec["seq"], device)
    if spec["mode"] == "inference":
        model.eval()

        def work():
            with torch.inference_mode():
                model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                      token_type_ids=inputs["token_type_ids"])
    else:
        work = train_step_fn(model, inputs)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        work()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    base = _rss_kib(reset_peak=True)
    work()
    return (_rss_kib(peak=True) - base) / 1024


def _rss_kib(reset_peak: bool = False, peak: bool = False) -> int:
    """Current (or peak) resident memory in KiB. On Linux the peak (VmHWM) is reset to the current
    size first, so the peak measures this workload and not import or model-building transients."""
    try:
        if reset_peak:
            Path("/proc/self/clear_refs").write_text("5")
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return int(fields["VmHWM" if peak else "VmRSS"].split()[0])
    except OSError:                                               # not Linux: a high-water mark only
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)


# ---- dev-set scoring throughput ----------------------------------------------------------------

def glue_like_lengths(n: int, max_len: int = 128, seed: int = 0) -> list[int]:
    """Token counts (with [CLS]/[SEP]) shaped like GLUE dev sets: log-normal with median 30,
    mean ~34 (SST-2 dev averages ~25 ALBERT tokens, MNLI ~40), a long tail clipped at max_len."""
    g = torch.Generator().manual_seed(seed)
    raw = torch.exp(torch.randn(n, generator=g) * 0.55 + torch.log(torch.tensor(30.0)))
    return raw.round().clamp(5, max_len).long().tolist()


def synthetic_features(config: AlbertConfig, lengths: list[int], seed: int = 0) -> list[dict]:
    """Feature dicts as tasks produce them: [CLS] A [SEP] B [SEP] with random word ids."""
    g = torch.Generator().manual_seed(seed)
    features = []
    for i, n in enumerate(lengths):
        words = torch.randint(5, config.vocab_size, (n,), generator=g).tolist()
        a = max(1, (n - 3) // 2)                                          # segment A takes half the words
        ids = [2] + words[:a] + [3] + words[a:n - 3] + [3]                 # n tokens (n >= 5)
        types = [0] * (a + 2) + [1] * (n - a - 2)
        features.append(dict(input_ids=ids, token_type_ids=types, example_index=i))
    return features


def _pad_to(batch: dict, length: int) -> dict:
    """Right-pad a collated batch to `length` tokens (the fixed-length baseline)."""
    extra = length - batch["input_ids"].size(1)
    return {k: torch.nn.functional.pad(v, (0, extra)) if v.dim() == 2 else v for k, v in batch.items()}


def bench_scoring(size: str = "base", device: str = "auto", n_examples: int | None = None,
                  batch_size: int = 16, max_seq_length: int = 128, dtype: str = "float32",
                  quick: bool = False, threads: int | None = None, seed: int = 0) -> list[dict]:
    """Dev-set scoring (classification logits) in REAL tokens per second, three ways in one run:
    ours with length-sorted batches (albert_bench.engine.batching.eval_batches), ours with every example
    padded to max_seq_length, and transformers (SDPA) padding each batch to its longest row in the
    given order (run_glue's DataCollatorWithPadding). Batches of the three are interleaved so drift
    hits all of them alike; collation and copying logits back are inside the timed region."""
    from albert_bench.engine.batching import collate, eval_batches
    config = bench_config(size, quick)
    max_seq_length = min(max_seq_length, 32 if quick else max_seq_length, config.max_position_embeddings)
    n_examples = n_examples or (8 if quick else 256)
    batch_size = min(batch_size, 4) if quick else batch_size
    lengths = glue_like_lengths(n_examples, max_seq_length, seed)
    features = synthetic_features(config, lengths, seed)
    real_tokens = sum(lengths)
    in_order = [list(range(i, min(i + batch_size, n_examples))) for i in range(0, n_examples, batch_size)]
    sorted_batches = eval_batches(features, batch_size)
    rows = []
    with _threads(threads or (1 if quick else torch.get_num_threads())):
        for dev in _devices(device):
            ours, theirs = build_pair(config, seed)
            ours, theirs = (m.to(device=dev, dtype=_dtype(dtype)).eval() for m in (ours, theirs))

            def run(model, batches, pad_to=None):
                def score(k):
                    batch = collate([features[i] for i in batches[k]])
                    batch = _pad_to(batch, pad_to) if pad_to else batch
                    batch = {key: v.to(dev) for key, v in batch.items()}
                    with torch.inference_mode():
                        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                     token_type_ids=batch["token_type_ids"]).logits.float().cpu()
                return score, len(batches)
            ways = {"sorted": run(ours, sorted_batches), "padded": run(ours, in_order, max_seq_length),
                    "theirs": run(theirs, in_order)}
            seconds = {name: 0.0 for name in ways}
            for score, _ in ways.values():                                # warm up: first (longest) batch
                score(0)
            for k in range(max(n for _, n in ways.values())):
                for name in (list(ways) if k % 2 == 0 else list(ways)[::-1]):
                    score, n = ways[name]
                    if k < n:
                        _sync(dev)
                        t0 = time.perf_counter()
                        score(k)
                        _sync(dev)
                        seconds[name] += time.perf_counter() - t0
            speed = {name: real_tokens / s for name, s in seconds.items()}
            seq = f"{min(lengths)}-{max(lengths)} (mean {real_tokens / n_examples:.0f})"
            rows.append(row("scoring", dev, dtype, batch_size, seq, speed["sorted"], speed["theirs"],
                            "real tok/s", vs="transformers, dynamic padding, given order"))
            rows.append(row("scoring", dev, dtype, batch_size, seq, speed["sorted"], speed["padded"],
                            "real tok/s", vs=f"ours, padded to {max_seq_length}"))
    return rows


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


if __name__ == "__main__":
    # Internal entry point of measure_memory's subprocess (users run `albert-bench bench`).
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-probe":
        probe_spec = json.loads(sys.argv[2])
        torch.set_num_threads(probe_spec["threads"])
        print(json.dumps({"peak_mib": memory_probe(probe_spec)}))
