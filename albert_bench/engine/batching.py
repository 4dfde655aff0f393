"""Batching for fine-tuning and scoring: dynamic padding, length-grouped training batches,
length-sorted evaluation batches.

    from albert_bench.engine.batching import collate, LengthGroupedBatches, eval_batches
    batch = collate([{"input_ids": [2, 7, 3], "token_type_ids": [0, 0, 0], "labels": 1}, ...])
    batch["input_ids"].shape          # (B, T) with T the longest feature in the batch
    sampler = LengthGroupedBatches(lengths, batch_size=32, seed=42)
    sampler.epoch(0)                  # list of batches (lists of feature indices), same for the same seed

Features are the tasks' plain dicts (see tasks/common.py). Only MODEL_INPUT_KEYS and
LABEL_KEYS reach the model; every other key is the task's scoring metadata.
"""
from __future__ import annotations

from typing import Sequence

import torch

# Identical to tasks/common.py (core modules do not import `tasks`; a test checks they agree).
MODEL_INPUT_KEYS = ("input_ids", "token_type_ids", "attention_mask")
LABEL_KEYS = ("labels", "start_positions", "end_positions", "is_impossible")


def feature_length(feature: dict) -> int:
    """Tokens in a feature; for multiple choice the longest choice (what padding costs)."""
    ids = feature["input_ids"]
    if ids and isinstance(ids[0], (list, tuple)):
        return max(len(choice) for choice in ids)
    return len(ids)


def _pad(rows: list[list[int]], length: int, value: int) -> torch.Tensor:
    out = torch.full((len(rows), length), value, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, :len(row)] = torch.as_tensor(row, dtype=torch.long)
    return out                                                            # (N, length)


def collate(features: Sequence[dict], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Pad a list of features to the longest in the batch and stack them.

    input_ids / token_type_ids / attention_mask: (B, T), or (B, C, T) for multiple choice
    (input_ids a list of C lists). attention_mask is built from the lengths unless the
    features carry one. labels: long, or float when any label is a float (regression);
    start_positions / end_positions: long; is_impossible: float.
    """
    if not features:
        raise ValueError("collate got an empty list of features")
    multiple_choice = bool(features[0]["input_ids"]) and isinstance(features[0]["input_ids"][0], (list, tuple))
    T = max(feature_length(f) for f in features)
    batch: dict[str, torch.Tensor] = {}
    if multiple_choice:
        C = len(features[0]["input_ids"])
        if any(len(f["input_ids"]) != C for f in features):
            raise ValueError(f"multiple-choice features in one batch must have the same number of choices; "
                             f"got {sorted({len(f['input_ids']) for f in features})}")

        def stack(key: str, default: int) -> torch.Tensor:
            rows = [row for f in features for row in (f[key] if key in f else
                                                       [[default] * len(c) for c in f["input_ids"]])]
            return _pad(rows, T, pad_id if key == "input_ids" else 0).view(len(features), C, T)  # (B, C, T)
    else:
        def stack(key: str, default: int) -> torch.Tensor:
            rows = [f[key] if key in f else [default] * len(f["input_ids"]) for f in features]
            return _pad(rows, T, pad_id if key == "input_ids" else 0)     # (B, T)

    batch["input_ids"] = stack("input_ids", pad_id)
    batch["token_type_ids"] = stack("token_type_ids", 0)
    batch["attention_mask"] = stack("attention_mask", 1)  # default 1 on real tokens, padding gets 0
    for key in LABEL_KEYS:
        present = [key in f and f[key] is not None for f in features]
        if not any(present):
            continue
        if not all(present):
            raise ValueError(f"{key!r} is present in some features of a batch but not all; "
                             "a split is either labelled or not")
        values = [f[key] for f in features]
        if key == "is_impossible" or (key == "labels" and any(isinstance(v, float) for v in values)):
            batch[key] = torch.tensor([float(v) for v in values], dtype=torch.float32)   # (B,)
        else:
            batch[key] = torch.tensor([int(v) for v in values], dtype=torch.long)        # (B,)
    return batch


class LengthGroupedBatches:
    """Training batches of similar length, so padding wastes little compute.

    Each epoch: a random permutation (from a generator seeded by (seed, epoch)), cut into
    mega-batches of `mega` x batch_size, each sorted by length and cut into batches; then the
    batches are shuffled. The epoch's batch list is a pure function of (seed, epoch), so
    resuming mid-epoch only needs the epoch and how many batches were consumed.
    The incomplete last batch is dropped (as the original code's drop_remainder) unless the
    set is smaller than one batch.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0, mega: int = 50):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not lengths:
            raise ValueError("no training features: the train split is empty after featurizing")
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.mega = mega

    def __len__(self) -> int:
        """Batches per epoch."""
        return max(1, len(self.lengths) // self.batch_size)

    def epoch(self, epoch: int) -> list[list[int]]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        n, bs = len(self.lengths), self.batch_size
        perm = torch.randperm(n, generator=g).tolist()
        keep = len(self) * bs if n >= bs else n
        perm = perm[:keep]
        batches = []
        for start in range(0, keep, bs * self.mega):
            chunk = sorted(perm[start:start + bs * self.mega], key=lambda i: -self.lengths[i])  # stable
            batches.extend(chunk[i:i + bs] for i in range(0, len(chunk), bs))
        order = torch.randperm(len(batches), generator=g).tolist()
        return [batches[i] for i in order]

    def iterate(self, start_epoch: int = 0, skip: int = 0):
        """Yield (epoch, index_in_epoch, batch) forever, starting at batch `skip` of `start_epoch`."""
        epoch = start_epoch
        while True:
            for i, batch in enumerate(self.epoch(epoch)):
                if epoch == start_epoch and i < skip:
                    continue
                yield epoch, i, batch
            epoch += 1


def eval_batches(features: Sequence[dict], batch_size: int, max_tokens: int | None = None) -> list[list[int]]:
    """Evaluation batches: indices sorted by length, longest first (the first batch shows at
    once whether memory suffices). With `max_tokens`, a batch also stops growing once
    batch_rows x longest_row would pass that budget. Callers restore the original order."""
    order = sorted(range(len(features)), key=lambda i: -feature_length(features[i]))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = feature_length(features[current[0]]) if current else feature_length(features[i])
        full = len(current) >= batch_size or (max_tokens is not None and current
                                              and (len(current) + 1) * longest > max_tokens)
        if full:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def split_batch(indices: Sequence[int], parts: int) -> list[list[int]]:
    """Cut a batch into `parts` contiguous slices whose sizes differ by at most one
    (rank slices of a global batch, micro-batches of a rank's slice)."""
    n = len(indices)
    base, extra = divmod(n, parts)
    out, start = [], 0
    for p in range(parts):
        size = base + (1 if p < extra else 0)
        out.append(list(indices[start:start + size]))
        start += size
    return out


def shard_batches(batches: Sequence[Sequence[int]], features: Sequence[dict], parts: int) -> list[list[int]]:
    """Deal whole evaluation batches to `parts` ranks: part p gets the positions (in `batches`)
    of its batches. Whole batches, so each feature shares its batch (and its padded length) with
    the same features as in one process: the outputs match a single process bit for bit. Each
    batch goes to the part with the least padded tokens so far (ties: the lowest part), which
    balances the longest-first order; a pure function, so every rank computes the same deal."""
    load = [0] * parts
    out: list[list[int]] = [[] for _ in range(parts)]
    for b, indices in enumerate(batches):
        p = min(range(parts), key=lambda q: (load[q], q))
        out[p].append(b)
        load[p] += len(indices) * max(feature_length(features[i]) for i in indices)
    return out
