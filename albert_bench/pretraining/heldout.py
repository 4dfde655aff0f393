"""Held-out evaluation of a pretrained ALBERT: masked-token accuracy beside a unigram baseline.

    from albert_bench.pretraining.heldout import masked_token_accuracy, unigram_baseline_accuracy, most_frequent_token_id
    acc = masked_token_accuracy(model, tokenizer, heldout_texts, seed=0)
    top = most_frequent_token_id(tokenizer, training_texts)
    base = unigram_baseline_accuracy(tokenizer, heldout_texts, top, seed=0)   # same masked positions

Both mask the texts exactly as pretraining does (whole-word n-grams, 80/10/10, sentence-order
pairs; no short sequences) with a generator seeded by `seed`, so model and baseline are scored on the
same positions. Accuracy counts every predicted position (also the 10% kept and the 10% random
ones), as the original run_pretraining.py's masked_lm_accuracy does. Texts are split into
documents on blank lines; each line is a sentence.
"""
from __future__ import annotations

import sys
from typing import Sequence

import numpy as np
import torch

from albert_bench.engine.evaluation import autocast, show_progress
from albert_bench.pretraining.data import (FIRST_NORMAL_ID, IGNORE, check_objective, collate_pretraining, layout_chunks,
                                        make_instance, word_start_table)
from albert_bench.pretraining.token_cache import TokenCorpus


def default_max_predictions(seq_len: int, masked_lm_prob: float = 0.15) -> int:
    """round(seq_len * 0.15): BERT/ALBERT's max_predictions_per_seq guideline (77 for 512)."""
    return max(1, int(round(seq_len * masked_lm_prob)))


def texts_to_corpus(tokenizer, texts: Sequence[str]) -> TokenCorpus:
    """Documents split on blank lines (every text starts a new one), a sentence per line."""
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    documents: list[list[str]] = []
    for text in texts:
        documents.append([])
        for line in text.splitlines():
            line = line.strip()
            if not line:
                documents.append([])
            else:
                documents[-1].append(line)
    lines = [line for doc in documents for line in doc]
    ids = iter(tokenizer.encode_batch(lines) if lines else [])
    return TokenCorpus.from_documents([[next(ids) for _ in doc] for doc in documents])


def heldout_instances(corpus: TokenCorpus, documents: np.ndarray, seed: int, seq_len: int, vocab_size: int,
                      max_predictions: int | None = None, word_starts: np.ndarray | None = None,
                      objective: str = "sop", limit: int | None = None) -> list[dict]:
    """One masked instance per chunk of the documents, in corpus order: sentence-order pairs
    (objective "sop") or next-sentence pairs whose random B comes from another of `documents`
    ("nsp"). limit: at most this many chunks, a subset drawn from the seed (in corpus order)."""
    chunks = layout_chunks(corpus, documents, seq_len - 3, seed, short_seq_prob=0.0)
    check_objective(objective, chunks)
    max_predictions = max_predictions or default_max_predictions(seq_len)
    picked = np.arange(len(chunks))
    if limit is not None and limit < len(chunks):
        picked = np.sort(np.random.default_rng([seed, 5]).choice(len(chunks), limit, replace=False))
    stream = [seed, 4] if objective != "nsp" else [seed, 4, 1]     # sop: the masks it always had
    return [make_instance(corpus, chunks, i, np.random.default_rng([*stream, i]), seq_len, vocab_size,
                          max_predictions, word_starts=word_starts, objective=objective) for i in picked.tolist()]


@torch.no_grad()
def encode_instances(model, instances: Sequence[dict], batch_size: int = 32, device=None,
                     precision: str = "fp32") -> dict:
    """One pass of an AlbertForPreTraining over the instances: masked_correct / masked_total (the
    MLM head's top prediction vs the original token), sentence_predictions (N,) (the sentence
    head's argmax), features (N, H) float32 (the final layer's [CLS] hidden state, for probes)."""
    if not instances:
        raise ValueError("no held-out instance to score: the held-out text is empty or shorter than 2 tokens")
    from tqdm import tqdm
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    correct = total = 0
    predictions, features = [], []
    try:
        for start in tqdm(range(0, len(instances), batch_size), desc="held-out", unit="batch", file=sys.stderr,
                          disable=not show_progress(), leave=False):
            batch = {k: v.to(device) for k, v in collate_pretraining(instances[start:start + batch_size]).items()}
            with autocast(device, precision):
                out = model(batch["input_ids"], attention_mask=batch["attention_mask"],
                            token_type_ids=batch["token_type_ids"], output_hidden_states=True)
            picked = batch["labels"] != IGNORE                               # (B, T)
            correct += int((out.prediction_logits.argmax(-1)[picked] == batch["labels"][picked]).sum())
            total += int(picked.sum())
            predictions.append(out.sop_logits.argmax(-1).cpu())              # (B,)
            features.append(out.hidden_states[-1][:, 0].float().cpu())       # (B, H) the final layer's [CLS]
    finally:
        model.train(was_training)
    return {"masked_correct": correct, "masked_total": total, "sentence_predictions": torch.cat(predictions).numpy(),
            "features": torch.cat(features).numpy()}


def sentence_labels(instances: Sequence[dict]) -> np.ndarray:
    """(N,) the instances' sentence labels: 0 = B follows A in the text, 1 = not (swapped / random)."""
    return np.array([x["sentence_order_label"] for x in instances], dtype=np.int64)


def score_instances(model, instances: Sequence[dict], batch_size: int = 32, device=None,
                    precision: str = "fp32") -> dict:
    """masked_token_accuracy, sop_accuracy (the sentence head on these instances) and the counts
    behind them, for AlbertForPreTraining."""
    enc = encode_instances(model, instances, batch_size, device, precision)
    return {"masked_token_accuracy": enc["masked_correct"] / max(1, enc["masked_total"]),
            "sop_accuracy": float((enc["sentence_predictions"] == sentence_labels(instances)).mean()),
            "masked_tokens": enc["masked_total"], "instances": len(instances)}


def unigram_accuracy(instances: Sequence[dict], token_id: int) -> float:
    """Share of predicted positions whose original token is `token_id`."""
    labels = np.concatenate([x["labels"][x["labels"] != IGNORE] for x in instances])
    return float((labels == token_id).mean()) if len(labels) else 0.0


def token_counts(tokens: np.ndarray, vocab_size: int, block: int = 1 << 24) -> np.ndarray:
    """Occurrences of every id, read in blocks (the token array may be a large memmap)."""
    counts = np.zeros(vocab_size, np.int64)
    for start in range(0, len(tokens), block):
        counts += np.bincount(np.asarray(tokens[start:start + block]), minlength=vocab_size)[:vocab_size]
    return counts


def most_frequent_id(counts: np.ndarray) -> int:
    """The most frequent id that is not a special token (the baseline's constant prediction)."""
    counts = counts.copy()
    counts[:FIRST_NORMAL_ID] = -1
    return int(counts.argmax())


# ---- text-level helpers (what the demo calls) ----------------------------------------------

def most_frequent_token_id(tokenizer, texts: Sequence[str]) -> int:
    """The id the unigram baseline predicts: the most frequent non-special token of `texts`."""
    corpus = texts_to_corpus(tokenizer, texts)
    return most_frequent_id(token_counts(corpus.tokens, tokenizer.vocab_size))


def masked_token_accuracy(model, tokenizer, texts: Sequence[str], seed: int = 0, seq_len: int = 128,
                          batch_size: int = 32, device=None) -> float:
    """Share of masked positions of `texts` (masked as in pretraining) whose original token is
    the model's top prediction. `model` is an AlbertForPreTraining."""
    instances = _text_instances(tokenizer, texts, seed, seq_len)
    return score_instances(model, instances, batch_size, device)["masked_token_accuracy"]


def unigram_baseline_accuracy(tokenizer, texts: Sequence[str], token_id: int, seed: int = 0,
                              seq_len: int = 128) -> float:
    """The same positions as masked_token_accuracy, all predicted as `token_id` (the most frequent
    training token, see most_frequent_token_id)."""
    return unigram_accuracy(_text_instances(tokenizer, texts, seed, seq_len), token_id)


def _text_instances(tokenizer, texts: Sequence[str], seed: int, seq_len: int) -> list[dict]:
    """`texts` masked as pretraining masks them (the same positions for the same seed)."""
    corpus = texts_to_corpus(tokenizer, texts)
    return heldout_instances(corpus, corpus.document_ranges(), seed, seq_len, tokenizer.vocab_size,
                             word_starts=word_start_table(tokenizer))
