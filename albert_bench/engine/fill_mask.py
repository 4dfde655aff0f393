"""Top-k fillers for [MASK], with the structure and values of transformers' pipeline("fill-mask").

    from albert_bench import AlbertForMaskedLM, AlbertTokenizer
    from albert_bench.engine.fill_mask import fill_mask, format_fill_mask
    model = AlbertForMaskedLM.from_pretrained("albert-base-v2-dir")
    tok = AlbertTokenizer.from_pretrained("albert-base-v2-dir")
    results = fill_mask(model, tok, "The man worked as a [MASK].", top_k=5)
    print(format_fill_mask("The man worked as a [MASK].", results))

One text with one [MASK] gives a list of dicts {score, token, token_str, sequence}, best first;
several [MASK]s give one such list per mask; a list of texts gives one result per text.
`sequence` is the input with the prediction filled in, decoded as transformers 5 does: without
special tokens when there is one mask ("the man worked as a chauffeur."), with them (and the other
[MASK]s) when there are several ("[CLS] the man [MASK] as a chauffeur.[SEP]"). The albert-base-v2
model card shows the older form with [CLS]/[SEP] even for one mask.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from albert_bench.engine.batching import collate


def fill_mask(model: Any, tokenizer: Any, text_or_texts: str | Sequence[str], top_k: int = 5,
              batch_size: int = 32) -> list:
    """See the module docstring. The model is run in eval mode without gradients (its mode is restored)."""
    single = isinstance(text_or_texts, str)
    texts = [text_or_texts] if single else list(text_or_texts)
    if not texts:
        return []
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, not {top_k}")
    encoded = tokenizer(texts)["input_ids"]               # per text: [CLS] ... [SEP]
    for k, ids in enumerate(encoded):
        if tokenizer.mask_token_id not in ids:
            where = "the text" if single else f"text {k}"
            raise ValueError(f"no [MASK] in {where} {texts[k]!r}: write [MASK] (upper case, with brackets) "
                             f"where the word to predict goes")
    top_k = min(top_k, tokenizer.vocab_size)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    results = []
    try:
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                chunk = encoded[start: start + batch_size]
                batch = collate([{"input_ids": ids} for ids in chunk], tokenizer.pad_token_id)   # padded (B, T)
                logits = model(batch["input_ids"].to(device),
                               attention_mask=batch["attention_mask"].to(device)).logits   # (B, T, V)
                for row, ids in enumerate(chunk):
                    results.append(_predictions(tokenizer, ids, logits[row, : len(ids)].float().cpu(), top_k))
    finally:
        model.train(was_training)
    return results[0] if single else results


def _predictions(tokenizer: Any, ids: list[int], logits: torch.Tensor, top_k: int) -> list:
    """One text: logits (T, V) -> list of dicts (one mask) or list of lists (several masks)."""
    positions = [t for t, i in enumerate(ids) if i == tokenizer.mask_token_id]
    probs = logits[positions].softmax(dim=-1)             # (M, V)
    values, predictions = probs.topk(top_k)               # (M, k)
    one_mask = len(positions) == 1
    per_mask = []
    for m, position in enumerate(positions):
        row = []
        for score, token in zip(values[m].tolist(), predictions[m].tolist()):
            filled = list(ids)
            filled[position] = token
            filled = [i for i in filled if i != tokenizer.pad_token_id]   # as the pipeline does
            row.append({"score": score, "token": token,
                        "token_str": tokenizer.decode([token], skip_special_tokens=False),
                        "sequence": tokenizer.decode(filled, skip_special_tokens=one_mask)})
        per_mask.append(row)
    return per_mask[0] if one_mask else per_mask


def format_fill_mask(text: str, result: list) -> str:
    """Readable lines for one text's result (one mask or several), for the CLI."""
    lines = [text]
    groups = [result] if result and isinstance(result[0], dict) else result
    for m, group in enumerate(groups):
        if len(groups) > 1:
            lines.append(f"  [MASK] #{m + 1}")
        for item in group:
            lines.append(f"  {item['score']:.4f}  {item['token_str']:<15} {item['sequence']}")
    return "\n".join(lines)
