"""Dev-set scoring throughput in real tokens/s: length-sorted batches against transformers with dynamic
padding and against our own model padded to the maximum length."""
from __future__ import annotations

import time

import torch

from albert_bench.modeling.config import AlbertConfig

# ratio = ours / reference; `vs` names the reference (transformers, or our own model padded to 128).
from albert_bench.bench.common import (_devices, _dtype, _sync, _threads, _transformers, bench_config,  # noqa: F401
                                       build_pair, row, time_interleaved)

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
