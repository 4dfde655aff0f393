"""Table 2's Speedup column, measured: training throughput of BERT-shaped and v1 ALBERT configurations
relative to BERT-large, every configuration in one run on one device, ABBA-interleaved.

    albert-bench bench speedup --results-dir results              # CPU: batch 2, length 64 (minutes)
    albert-bench bench speedup --device cuda --batch-size 32 --seq-len 512 --results-dir results
    albert-bench paper --table 2 --results results                 # ours beside 4.7x, 1.0, 5.6x, ...

A training step here is what pretraining does: the encoder on random ids, the MLM head on the 15% masked
positions only (as the original gathers them), the sentence head, both cross-entropies, backward, and
an AdamW step (the paper used LAMB: the same per-parameter work, within a few elementwise ops). One
measurement = `warmup` untimed steps, then `steps` timed ones (sequences/s). A round measures every
configuration in order, then in reverse order (A B C ... C B A), so a slow drift of the machine
(thermal, other load) hits every configuration alike; the result is the median over rounds. The run
writes a record (kind "speedup") that `albert-bench paper --table 2` reads.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from albert_bench import records
from albert_bench.bench.common import _sync
from albert_bench.modeling.config import AlbertConfig
from albert_bench.modeling.model import AlbertForPreTraining
from albert_bench.modeling.params import PAPER_PRESETS, parameter_counts

REFERENCE = "bert-large"     # the paper's Speedup is relative to BERT-large


def _batch(config: AlbertConfig, batch_size: int, seq_len: int, device, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, config.vocab_size, (batch_size, seq_len), generator=g)
    picked = torch.rand(batch_size, seq_len, generator=g) < 0.15
    picked[:, 1] = True                                                    # at least one masked token a row
    types = (torch.arange(seq_len) >= seq_len // 2).long().expand(batch_size, -1)
    return {"input_ids": ids.to(device), "token_type_ids": types.to(device), "picked": picked.to(device),
            "targets": ids[picked].to(device), "order": torch.randint(0, 2, (batch_size,), generator=g).to(device)}


def train_step(model: AlbertForPreTraining, optimizer, batch: dict) -> float:
    enc = model.albert(batch["input_ids"], token_type_ids=batch["token_type_ids"])
    mlm = model.predictions(enc.last_hidden_state[batch["picked"]])      # (N, V): masked positions only
    sop = model.sop_classifier(enc.pooler_output)                         # (B, 2)
    loss = F.cross_entropy(mlm, batch["targets"]) + F.cross_entropy(sop, batch["order"])
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def measure(model, batch: dict, steps: int, warmup: int, device) -> float:
    """Training sequences per second of `model` on `batch` (a fresh optimizer, freed afterwards)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    for _ in range(warmup):
        train_step(model, optimizer, batch)
    _sync(str(device))
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step(model, optimizer, batch)
    _sync(str(device))
    seconds = time.perf_counter() - t0
    del optimizer
    return len(batch["input_ids"]) * steps / seconds


def measure_speedup(configs: dict[str, AlbertConfig] | None = None, batch_size: int = 2, seq_len: int = 64,
                    steps: int = 2, warmup: int = 1, rounds: int = 1, device: str = "cpu", seed: int = 0,
                    log=None) -> dict:
    """{"throughput": {key: sequences/s}, "speedup": {key: ratio to bert-large}, "measurements": [...],
    "settings": {...}}. configs: key -> config (default: Table 2's six, PAPER_PRESETS); it must hold
    REFERENCE. The models are built once and kept; each measurement has its own optimizer."""
    configs = configs or {key: AlbertConfig.from_preset(name) for key, name in PAPER_PRESETS.items()}
    if REFERENCE not in configs:
        raise ValueError(f"the speedup is relative to {REFERENCE}: configs must include it (got {sorted(configs)})")
    for name, value in (("--batch-size", batch_size), ("--seq-len", seq_len), ("--steps", steps), ("--rounds", rounds)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    models, batches = {}, {}
    for i, (key, config) in enumerate(configs.items()):
        if seq_len > config.max_position_embeddings:
            raise ValueError(f"--seq-len {seq_len} exceeds {key}'s max_position_embeddings "
                             f"({config.max_position_embeddings})")
        torch.manual_seed(seed + i)
        models[key] = AlbertForPreTraining(config.with_overrides(hidden_dropout_prob=0.0,
                                                                 attention_probs_dropout_prob=0.0)).to(device).train()
        batches[key] = _batch(config, batch_size, seq_len, device, seed)
    keys = list(configs)
    order = [k for _ in range(rounds) for k in keys + keys[::-1]]        # ABBA: forward, then backward
    measured: dict[str, list[float]] = {k: [] for k in keys}
    measurements = []
    for n, key in enumerate(order, 1):
        value = measure(models[key], batches[key], steps, warmup, device)
        measured[key].append(value)
        measurements.append({"position": n, "config": key, "sequences_per_s": value})
        log(f"speedup {n}/{len(order)}: {key} {value:.3g} sequences/s")
    throughput = {k: statistics.median(v) for k, v in measured.items()}
    return {"throughput": throughput, "speedup": {k: throughput[k] / throughput[REFERENCE] for k in keys},
            "measurements": measurements,
            "settings": {"batch_size": batch_size, "seq_len": seq_len, "steps": steps, "warmup": warmup,
                         "rounds": rounds, "optimizer": "AdamW", "reference": REFERENCE, "order": order,
                         "device": str(device), "threads": torch.get_num_threads()},
            "parameters": {k: parameter_counts(c)["model"] for k, c in configs.items()},
            "configs": {k: c.to_dict() for k, c in configs.items()}}


def quick_configs(scale: int = 32) -> dict[str, AlbertConfig]:
    """Table 2's six configurations with hidden, FFN and E divided by `scale` (layers and heads kept):
    seconds on a CPU, for tests and --quick. Their ratios are not the full-size ones."""
    out = {}
    for key, name in PAPER_PRESETS.items():
        c = AlbertConfig.from_preset(name)
        e = c.hidden_size // scale if c.embedding_size == c.hidden_size else max(4, c.embedding_size // scale)
        out[key] = c.with_overrides(hidden_size=c.hidden_size // scale, intermediate_size=c.intermediate_size // scale,
                                    embedding_size=e, vocab_size=1000, max_position_embeddings=128)
    return out


def write_speedup_record(result: dict, results_dir: str | Path, wall_time_s: float) -> Path:
    """The measurement as a run record (kind "speedup") in results_dir, written atomically."""
    device = result["settings"]["device"]
    record = records.build_record(
        run_id=records.new_run_id("speedup"), kind="speedup", task="speedup", splits={}, model={"configs": result["configs"],
                                                                                            "parameters": result["parameters"]},
        tokenizer=None, recipe=None, seed=None,
        metrics={"throughput": result["throughput"], "speedup": result["speedup"]}, best_step=None, examples={},
        predictions={}, log=None, wall_time_s=wall_time_s, device=records.device_string(device),
        speedup=result["settings"], measurements=result["measurements"])
    return records.write_record(record, results_dir)


def format_speedup(result: dict) -> str:
    lines = ["| config | parameters | sequences/s | speedup vs bert-large |", "|---|---|---|---|"]
    for key, value in result["throughput"].items():
        lines.append(f"| {key} | {result['parameters'][key] / 1e6:.1f}M | {value:.3g} | {result['speedup'][key]:.2f}x |")
    s = result["settings"]
    lines.append(f"\nbatch {s['batch_size']}, length {s['seq_len']}, {s['steps']} timed step(s) after {s['warmup']} "
                 f"warmup, {s['rounds']} ABBA round(s), {s['device']} ({s['threads']} threads)")
    return "\n".join(lines)
