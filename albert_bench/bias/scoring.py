"""Masked-LM log-probabilities, batched: the one scoring routine under the template and
CrowS-Pairs probes.

    items = [MaskedItem(ids=(2, 10, 4, 3), positions=(2,), targets=(57,))]
    masked_log_probs(model, items)   # [log p(57 at position 2 | [CLS] x [MASK] [SEP])]

Each item is a token-id sequence with [MASK] already written at `positions`; its score is the sum of
log p(targets[k] at positions[k]). Items with the same (ids, positions) share one forward pass (the
template probe asks for many target words in one masked sentence). Sequences run longest-first in
padded batches with an attention mask, and only the masked positions go through the MLM head (the
vocabulary projection is the expensive part of it), which equals running the whole head and picking
those rows.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Sequence

import torch


@dataclass(frozen=True)
class MaskedItem:
    ids: tuple[int, ...]          # [CLS] ... [SEP] with [MASK] at `positions`
    positions: tuple[int, ...]    # where the scored tokens are masked
    targets: tuple[int, ...]      # the token id scored at each position


def _mlm_parts(model: Any) -> tuple[Any, Any]:
    """(encoder, MLM head) of an AlbertForMaskedLM / AlbertForPreTraining."""
    encoder, head = getattr(model, "albert", None), getattr(model, "predictions", None)
    if encoder is None or head is None:
        raise ValueError(f"{type(model).__name__} has no masked-LM head; load the checkpoint with "
                         "AlbertForMaskedLM (see albert_bench.bias.load_masked_lm)")
    return encoder, head


@torch.no_grad()
def masked_log_probs(model: Any, items: Sequence[MaskedItem], batch_size: int = 64, pad_id: int = 0,
                     desc: str = "scoring") -> list[float]:
    """Sum of log p(target | masked sequence) per item, in the items' order. Model mode is restored."""
    from tqdm import tqdm

    from albert_bench.engine.batching import collate
    from albert_bench.engine.evaluation import show_progress

    encoder, head = _mlm_parts(model)
    groups: dict[tuple, list[int]] = {}               # (ids, positions) -> indices of items
    for i, item in enumerate(items):
        if len(item.positions) != len(item.targets) or not item.positions:
            raise ValueError(f"item {i}: {len(item.positions)} positions but {len(item.targets)} targets")
        groups.setdefault((item.ids, item.positions), []).append(i)
    keys = sorted(groups, key=lambda k: -len(k[0]))    # longest first: the first batch shows peak memory
    device = next(model.parameters()).device
    scores = [0.0] * len(items)
    was_training = model.training
    model.eval()
    try:
        starts = range(0, len(keys), batch_size)
        for start in tqdm(starts, desc=desc, unit="batch", file=sys.stderr, disable=not show_progress(), leave=False):
            chunk = keys[start: start + batch_size]
            batch = collate([{"input_ids": list(ids)} for ids, _ in chunk], pad_id)    # padded (B, T)
            hidden = encoder(batch["input_ids"].to(device),
                             attention_mask=batch["attention_mask"].to(device)).last_hidden_state  # (B, T, H)
            rows = torch.tensor([b for b, (_, pos) in enumerate(chunk) for _ in pos], device=device)
            cols = torch.tensor([p for _, pos in chunk for p in pos], device=device)
            log_probs = head(hidden[rows, cols]).float().log_softmax(dim=-1).cpu()   # (sum of P, V)
            offset = 0
            for ids, pos in chunk:
                block = log_probs[offset: offset + len(pos)]                          # (P, V)
                offset += len(pos)
                for i in groups[(ids, pos)]:
                    targets = torch.tensor(items[i].targets)
                    scores[i] = float(block[torch.arange(len(pos)), targets].sum())
    finally:
        model.train(was_training)
    return scores
