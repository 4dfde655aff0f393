"""SQuAD decoding (model outputs per window -> one answer per question) and scoring.

Two kinds of outputs, one per head:

* span head (AlbertForQuestionAnswering, Hugging Face style): `start_logits`, `end_logits`
  per window. For each window the n_best (20) highest start and end logits over the context
  tokens are paired; a span is valid when end >= start, it is at most max_answer_length (30)
  tokens, and the start token has its max context in this window. Span score = start + end
  logit; the best valid span over all windows of a question is its non-null answer. Null
  score = min over windows of start_logit[0] + end_logit[0] ([CLS]); the null odds
  na_prob = null score - best non-null score (original BERT/ALBERT v2 recipe).
  (Candidates are taken among valid positions before the top-n cut, so a question never
  loses its answer because the overall top-20 happened to sit in the question.)

* ALBERT's own v2 head (albert_bench.modeling.squad_head.AlbertForSquadV2): `start_top_index`,
  `start_top_log_probs` (5,), `end_top_index`, `end_top_log_probs` (5, 5), `cls_logits` ().
  Span score = start log-prob + end log-prob over the beam; na_prob = min cls logit over
  the question's windows (the original code's null score, higher = more likely no answer).

v2 scoring: the official scorer first runs on the best non-null answers with the REAL null
odds, which gives best_exact / best_f1 and their thresholds (questions with na_prob above the
threshold are answered ""). The threshold tuned on this split (best_f1_thresh, reported as
`null_threshold`) is then applied: predictions become "" where na_prob > threshold and
exact / f1 / HasAns_* / NoAns_* are the official numbers for those predictions (as the
original run_squad_v2 does in its second pass). So "f1" is F1 at the tuned threshold, and
equals best_f1 (up to ties in na_prob). One exception: when answering nothing is best, the
official walk reports threshold 0.0, which would still answer the questions below 0; then the
applied `null_threshold` is set below every na_prob instead, so every answer is "".
v1 reports the official exact_match and f1.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

NO_SPAN_NA_PROB = 1e6   # null odds of a question with no valid span (JSON has no infinity)


# -------------------------------------------------------------------- one window

def span_candidates(start_logits: np.ndarray, end_logits: np.ndarray, feature: dict,
                    n_best: int, max_answer_length: int) -> list[tuple[float, int, int]]:
    """(score, start, end) of the valid spans among the n_best starts x n_best ends of one
    window; start/end index the window's context tokens (0 = first context token)."""
    c0, n = feature["context_start"], len(feature["offsets"])
    if len(start_logits) < c0 + n or len(end_logits) < c0 + n:
        raise ValueError(f"start/end logits of length {len(start_logits)}/{len(end_logits)} do not cover "
                         f"the window's {n} context tokens from position {c0}: outputs and features disagree")
    start = np.asarray(start_logits[c0: c0 + n], dtype=np.float64)          # (n,)
    end = np.asarray(end_logits[c0: c0 + n], dtype=np.float64)              # (n,)
    max_context = np.asarray(feature["max_context"], dtype=bool)            # (n,)
    starts = _top(np.where(max_context, start, -np.inf), n_best)            # (<=k,)
    ends = _top(end, n_best)                                                # (<=k,)
    s, e = np.meshgrid(starts, ends, indexing="ij")                         # (ks, ke)
    valid = (e >= s) & (e - s + 1 <= max_answer_length)
    scores = start[s] + end[e]                                              # (ks, ke)
    return [(float(scores[a, b]), int(s[a, b]), int(e[a, b])) for a, b in zip(*np.nonzero(valid))]


def beam_candidates(start_top_index, start_top_log_probs, end_top_index, end_top_log_probs,
                    feature: dict, max_answer_length: int) -> list[tuple[float, int, int]]:
    """(score, start, end) of the valid spans of ALBERT's v2 beam for one window."""
    c0, n = feature["context_start"], len(feature["offsets"])
    max_context = feature["max_context"]
    s_idx = np.asarray(start_top_index).reshape(-1)                        # (K,)
    s_lp = np.asarray(start_top_log_probs, dtype=np.float64).reshape(-1)   # (K,)
    e_idx = np.asarray(end_top_index).reshape(len(s_idx), -1)              # (K, K_end)
    e_lp = np.asarray(end_top_log_probs, dtype=np.float64).reshape(len(s_idx), -1)
    out = []
    for a in range(len(s_idx)):
        s = int(s_idx[a]) - c0
        if not (0 <= s < n and max_context[s]):
            continue
        for b in range(e_idx.shape[1]):
            e = int(e_idx[a, b]) - c0
            if s <= e < n and e - s + 1 <= max_answer_length and np.isfinite(s_lp[a] + e_lp[a, b]):
                out.append((float(s_lp[a] + e_lp[a, b]), s, e))
    return out


def _top(x: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the k largest finite values, best first."""
    order = np.argsort(-x, kind="stable")[:k]
    return order[np.isfinite(x[order])]


def span_text(context: str, feature: dict, start: int, end: int) -> str:
    """The paragraph's own characters from the start token's first to the end token's last."""
    offsets = feature["offsets"]
    return context[offsets[start][0]: offsets[end][1]].strip()


# -------------------------------------------------------------------- one question

def decode_question(example: Any, feats: Sequence[dict], rows: Sequence[int], outputs: dict[str, list],
                    n_best: int, max_answer_length: int) -> tuple[str, float]:
    """Best non-null answer text and the null odds (na_prob) of one question from its windows
    (`rows`: the windows' indexes into features/outputs)."""
    candidates, null_scores = [], []
    beam = "cls_logits" in outputs
    for r in rows:
        feature = feats[r]
        if beam:
            spans = beam_candidates(outputs["start_top_index"][r], outputs["start_top_log_probs"][r],
                                    outputs["end_top_index"][r], outputs["end_top_log_probs"][r],
                                    feature, max_answer_length)
            null_scores.append(float(np.asarray(outputs["cls_logits"][r]).reshape(-1)[0]))
        else:
            start, end = outputs["start_logits"][r], outputs["end_logits"][r]
            spans = span_candidates(start, end, feature, n_best, max_answer_length)
            null_scores.append(float(start[0]) + float(end[0]))
        candidates.extend((score, r, s, e) for score, s, e in spans)
    null = min(null_scores)
    candidates.sort(key=lambda c: -c[0])
    for score, r, s, e in candidates:
        text = span_text(example.context, feats[r], s, e)
        if text:   # a span of whitespace only is no answer
            return text, (null if beam else null - score)
    return "", (null if beam else NO_SPAN_NA_PROB)


# -------------------------------------------------------------------- scoring

def score(task: Any, examples: Sequence[Any], features: Sequence[dict],
          outputs: dict[str, list]) -> tuple[dict[str, float], list[dict]]:
    need = ("start_top_index", "start_top_log_probs", "end_top_index", "end_top_log_probs", "cls_logits") \
        if "cls_logits" in outputs else ("start_logits", "end_logits")
    for key in need:
        if key not in outputs:
            raise ValueError(f"SQuAD scoring needs outputs {need}; {key!r} is missing (got {sorted(outputs)})")
        if len(outputs[key]) != len(features):
            raise ValueError(f"got {len(outputs[key])} {key} for {len(features)} features")
    rows_of: list[list[int]] = [[] for _ in examples]
    for r, feature in enumerate(features):
        rows_of[feature["example_index"]].append(r)

    predictions = []
    for i, ex in enumerate(examples):
        if not rows_of[i]:
            raise ValueError(f"question {ex.id!r} has no features: featurize the same examples that are scored")
        text, na_prob = decode_question(ex, features, rows_of[i], outputs, task.n_best, task.max_answer_length)
        pred = {"id": ex.id, "prediction": text, "label": list(ex.answers)}
        if task.version == "v2":
            pred.update(na_prob=na_prob, best_non_null=text)
        predictions.append(pred)
    if not examples:
        return {}, predictions

    golds = {ex.id: list(ex.answers) for ex in examples}
    if task.version == "v1":
        return _official_v1(golds, {p["id"]: p["prediction"] for p in predictions}), predictions

    na_probs = {p["id"]: p["na_prob"] for p in predictions}
    tuned = _official_v2(golds, {p["id"]: p["best_non_null"] for p in predictions}, na_probs)
    # A threshold given (e.g. the one tuned on dev) is applied as is; else tune it on this split.
    given = task.null_threshold is not None
    threshold = float(task.null_threshold if given else tuned["best_f1_thresh"])
    metrics = _apply_threshold(golds, predictions, threshold)
    all_null_f1 = 100.0 * sum(not answers for answers in golds.values()) / len(golds)
    if not given and abs(tuned["best_f1"] - all_null_f1) < 1e-9 \
            and metrics["f1"] < all_null_f1 - 1e-9:
        # The walk found nothing better than answering every question "": the official
        # script then reports threshold 0.0, which would still answer some. Null them all
        # (an untrained v2 model's F1 is the no-answer share, ~50).
        threshold = min(na_probs.values()) - 1.0
        metrics = _apply_threshold(golds, predictions, threshold)
    for key in ("best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh"):
        metrics[key] = tuned[key]
    metrics["null_threshold"] = threshold
    return metrics, predictions


def _apply_threshold(golds: dict[str, list[str]], predictions: list[dict], threshold: float) -> dict[str, float]:
    """Answer "" where na_prob > threshold (in place) and score those predictions."""
    for p in predictions:
        p["prediction"] = "" if p["na_prob"] > threshold else p["best_non_null"]
    return _official_v2(golds, {p["id"]: p["prediction"] for p in predictions}, None)


def _official_v1(golds: dict[str, list[str]], preds: dict[str, str]) -> dict[str, float]:
    from albert_bench.metrics import squad as squad_metrics
    return {k: float(v) for k, v in squad_metrics.squad_v1(golds, preds).items()}


def _official_v2(golds: dict[str, list[str]], preds: dict[str, str],
                 na_probs: dict[str, float] | None) -> dict[str, float]:
    from albert_bench.metrics import squad as squad_metrics
    # Counts stay integers; scores and thresholds are floats.
    return {k: int(v) if k.endswith("total") else float(v)
            for k, v in squad_metrics.squad_v2(golds, preds, na_probs).items()}
