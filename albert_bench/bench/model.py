"""Model throughput (inference, training step) and peak memory, ours against transformers.

    python -m albert_bench.bench.model --memory-probe SPEC   # internal: measure_memory's subprocess
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import torch

from albert_bench.modeling.config import AlbertConfig
from albert_bench.modeling.model import AlbertForSequenceClassification

# ratio = ours / reference; `vs` names the reference (transformers, or our own model padded to 128).
from albert_bench.bench.common import (DTYPES, QUICK_PRESET, _devices, _dtype, _sync, _threads,  # noqa: F401
                                       _transformers, bench_config, build_pair, random_batch, row,
                                       time_interleaved)

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
        [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "albert_bench.bench.model", "--memory-probe", json.dumps(spec)],
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


if __name__ == "__main__":
    # Internal entry point of measure_memory's subprocess (users run `albert-bench bench`).
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-probe":
        probe_spec = json.loads(sys.argv[2])
        torch.set_num_threads(probe_spec["threads"])
        print(json.dumps({"peak_mib": memory_probe(probe_spec)}))
