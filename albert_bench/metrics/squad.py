"""Official SQuAD v1.1 / v2.0 scoring, written from the published rules (ALBERT_FACTS.md s.4).

    from albert_bench.metrics.squad import evaluate_v2, squad_v2
    evaluate_v2(json.load(open("dev-v2.0.json"))["data"], predictions, na_probs)
    squad_v2({"q1": ["Paris"], "q2": []}, {"q1": "paris", "q2": ""}, {"q1": 0.1, "q2": 3.0})

Values are PERCENTAGES (exact 85.0), like the official scripts; GLUE/RACE metrics
(albert_bench.metrics.glue) are fractions. Totals are ints, thresholds are na_prob values.

Rules:
* normalize: lowercase, drop ASCII punctuation, drop the articles a/an/the, collapse
  whitespace. EM = equal after normalizing; F1 over the bags of normalized tokens; a question
  scores the max over its gold answers.
* v1.1 -> {"exact_match", "f1"}. A question without a prediction scores 0 and still counts
  in the total (the official script prints "Unanswered question ... will receive score 0").
* v2.0: gold answers that normalize to "" are dropped; none left means the gold is "".
  F1 with an empty side is 1 if both are empty, else 0. A question is answerable (HasAns)
  when its raw answer list is non-empty. A prediction counts as "" where
  na_prob > na_prob_thresh (default 1.0; without na_probs every na_prob is 0, so nothing
  is nulled). A question WITHOUT a prediction is left out of every score and total, as the
  official script's raw scores do ("Missing prediction for ..."; the official script then
  crashes computing HasAns/NoAns, here those totals simply count answered questions).
  With na_probs also best_exact / best_f1 and their thresholds: start from the score of
  answering every question null (= number of unanswerable questions), walk the questions in
  ascending na_prob adding the question's score if answerable, -1 if unanswerable with a
  non-empty prediction (0 if empty), keep the maximum (first one on ties, thresh starts at
  0.0) and divide by the number of scored questions.
  Feeding na_prob 0 for every question (a common bug) walks the questions in file order,
  which makes best_* meaningless: pass the model's real null odds.
"""
from __future__ import annotations

import json
import re
import string
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


# ------------------------------------------------------------------ one answer

def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation, drop articles, collapse whitespace (in that order)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_score(gold: str, pred: str) -> int:
    return int(normalize_answer(gold) == normalize_answer(pred))


def f1_score(gold: str, pred: str, empty_match: bool = True) -> float:
    """Token-bag F1 of two answers. An empty side scores 1.0 if both are empty (v2.0 rule,
    `empty_match=True`); v1.1's script has no such rule and scores empty/empty 0."""
    return token_f1(normalize_answer(gold).split(), normalize_answer(pred).split(), empty_match)


def token_f1(gold_tokens: list[str], pred_tokens: list[str], empty_match: bool = True) -> float:
    """`f1_score` on answers already normalized and split (reports normalize each answer once)."""
    if not gold_tokens or not pred_tokens:
        return float(empty_match and gold_tokens == pred_tokens)
    same = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


# ------------------------------------------------------------ from gold lists

def _warn_missing(missing: list[str], what: str) -> None:
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        print(f"warning: {len(missing)} question(s) have no prediction and {what}: {shown}", file=sys.stderr)


def squad_v1(golds: Mapping[str, list[str]], preds: Mapping[str, str]) -> dict[str, float]:
    """Official v1.1 scores from {id: [gold texts]} and {id: predicted text}."""
    if not golds:
        raise ValueError("no questions to score")
    exact = f1 = 0.0
    missing = [qid for qid in golds if qid not in preds]
    for qid, answers in golds.items():
        if qid in preds:
            exact += max((exact_score(a, preds[qid]) for a in answers), default=0)
            f1 += max((f1_score(a, preds[qid], empty_match=False) for a in answers), default=0.0)
    _warn_missing(missing, "will receive score 0")
    return {"exact_match": 100.0 * exact / len(golds), "f1": 100.0 * f1 / len(golds)}


def raw_scores_v2(golds: Mapping[str, list[str]], preds: Mapping[str, str]) -> tuple[dict, dict]:
    """Per-question (exact, f1) of the answered questions, before any null threshold."""
    exact, f1 = {}, {}
    for qid, answers in golds.items():
        if qid not in preds:
            continue
        kept = [a for a in answers if normalize_answer(a)] or [""]
        exact[qid] = max(exact_score(a, preds[qid]) for a in kept)
        f1[qid] = max(f1_score(a, preds[qid]) for a in kept)
    return exact, f1


def best_threshold(preds: Mapping[str, str], scores: Mapping[str, float], na_probs: Mapping[str, float],
                   has_ans: Mapping[str, bool]) -> tuple[float, float]:
    """(best score in percent, its na_prob threshold) by the official walk (module docstring)."""
    current = best = float(sum(1 for v in has_ans.values() if not v))
    threshold = 0.0
    for qid in sorted(na_probs, key=lambda k: na_probs[k]):   # stable: ties keep na_probs order
        if qid not in scores:
            continue
        if has_ans[qid]:
            current += scores[qid]
        elif preds[qid]:
            current -= 1
        if current > best:
            best, threshold = current, na_probs[qid]
    return 100.0 * best / len(scores), threshold


def squad_v2(golds: Mapping[str, list[str]], preds: Mapping[str, str],
             na_probs: Mapping[str, float] | None = None, na_prob_thresh: float = 1.0) -> dict[str, Any]:
    """Official v2.0 scores from {id: [gold texts] ([] = unanswerable)}, {id: text} and the
    optional null odds {id: float}; best_* keys only when na_probs is given."""
    has_ans = {qid: bool(answers) for qid, answers in golds.items()}
    exact_raw, f1_raw = raw_scores_v2(golds, preds)
    _warn_missing([qid for qid in golds if qid not in preds], "are left out of every score (official v2.0)")
    if not exact_raw:
        raise ValueError(f"none of the {len(golds)} questions has a prediction: predictions and gold ids differ")
    if na_probs is not None:
        lacking = [qid for qid in exact_raw if qid not in na_probs]
        if lacking:
            raise ValueError(f"{len(lacking)} answered question(s) have no null odds (na_probs), e.g. {lacking[0]!r}")
    probs = na_probs if na_probs is not None else {qid: 0.0 for qid in exact_raw}

    def thresholded(raw: dict) -> dict:
        return {qid: float(not has_ans[qid]) if probs[qid] > na_prob_thresh else s for qid, s in raw.items()}

    exact, f1 = thresholded(exact_raw), thresholded(f1_raw)
    out: dict[str, Any] = _summary(exact, f1, list(exact))
    for prefix, want in (("HasAns", True), ("NoAns", False)):
        qids = [qid for qid in exact if has_ans[qid] == want]
        if qids:
            out.update({f"{prefix}_{k}": v for k, v in _summary(exact, f1, qids).items()})
    if na_probs is not None:
        out["best_exact"], out["best_exact_thresh"] = best_threshold(preds, exact_raw, na_probs, has_ans)
        out["best_f1"], out["best_f1_thresh"] = best_threshold(preds, f1_raw, na_probs, has_ans)
    return out


def _summary(exact: dict, f1: dict, qids: list[str]) -> dict[str, Any]:
    n = len(qids)
    return {"exact": 100.0 * sum(exact[q] for q in qids) / n, "f1": 100.0 * sum(f1[q] for q in qids) / n, "total": n}


# ------------------------------------------------------ from the dataset json

def golds_from_dataset(data: Iterable[dict] | dict) -> dict[str, list[str]]:
    """{id: [answer texts]} from the parsed SQuAD json (the whole object or its "data" list)."""
    if isinstance(data, dict):
        data = data["data"]
    golds: dict[str, list[str]] = {}
    for article in data:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                golds[qa["id"]] = [a["text"] for a in qa.get("answers", [])]
    return golds


def evaluate_v1(data: Iterable[dict] | dict, predictions: Mapping[str, str]) -> dict[str, float]:
    """The official v1.1 evaluation of `predictions` against the dataset json."""
    return squad_v1(golds_from_dataset(data), predictions)


def evaluate_v2(data: Iterable[dict] | dict, predictions: Mapping[str, str],
                na_probs: Mapping[str, float] | None = None, na_prob_thresh: float = 1.0) -> dict[str, Any]:
    """The official v2.0 evaluation of `predictions` (and null odds) against the dataset json."""
    return squad_v2(golds_from_dataset(data), predictions, na_probs, na_prob_thresh)


def _read_json(path: str | Path, what: str, fix: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist; {fix}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{what} {path} is not valid JSON (line {err.lineno}): {err.msg}") from None


def score_files(dataset_file: str | Path, predictions_file: str | Path, na_probs_file: str | Path | None = None,
                version: str | None = None, na_prob_thresh: float = 1.0) -> dict[str, Any]:
    """Score official-format files; `version` "v1"/"v2" or None = from the dataset's "version"
    field (v2 when it starts with "v2" or any question has "is_impossible")."""
    dataset = _read_json(dataset_file, "SQuAD dataset", "pass dev-v1.1.json or dev-v2.0.json")
    preds = _read_json(predictions_file, "predictions file", "pass the JSON object id -> answer text")
    if not isinstance(dataset, dict) or "data" not in dataset:
        raise ValueError(f"{dataset_file} has no top-level \"data\" list: is it a SQuAD dataset file?")
    if not isinstance(preds, dict):
        raise ValueError(f"{predictions_file} must hold one JSON object id -> answer text")
    if version is None:
        impossible = any("is_impossible" in qa for a in dataset["data"] for p in a["paragraphs"] for qa in p["qas"])
        version = "v2" if str(dataset.get("version", "")).lstrip("v").startswith("2") or impossible else "v1"
    if version == "v1":
        return evaluate_v1(dataset, preds)
    na_probs = None
    if na_probs_file is not None:
        na_probs = _read_json(na_probs_file, "null-odds file", "pass the JSON object id -> float")
    return evaluate_v2(dataset, preds, na_probs, na_prob_thresh)
