"""Intrinsic evaluation of a pretrained ALBERT on held-out text, whatever sentence objective (sop,
nsp or none) trained it: the paper's Table 5 columns MLM / NSP / SOP.

    from albert_bench.pretraining.intrinsic import intrinsic_scores
    scores = intrinsic_scores(model, corpus, train_docs, heldout_docs, objective="sop", seed=0, seq_len=128,
                              vocab_size=30000, max_predictions=19)
    scores["masked_token_accuracy"], scores["sop_accuracy"], scores["nsp_accuracy"]       # the head's
    scores["sop_probe_accuracy"], scores["nsp_probe_accuracy"]                             # a linear probe's

Both sentence tasks are built from the held-out documents, masked as in pretraining: SOP pairs
(two consecutive segments, swapped half the time) and NSP pairs (the true next segment, or half
the time text of ANOTHER held-out document). One 2-way head serves both: label 0 = "B follows A
in the text", 1 = "not" (swapped / random), so a head trained on either task is scored on both
(the paper's finding: NSP-trained heads are at chance on SOP, SOP-trained ones fair on NSP).

The sentence head of an `--objective none` run never trained (random init: chance), so every run
also gets a linear probe, comparable across objectives: the frozen model's final-layer [CLS]
hidden state (before the pooler, which none never trains either), standardized, into an
L2-regularized logistic regression (sklearn, C=1), fit on up to PROBE_INSTANCES instances of that
task drawn from the TRAINING documents (other masks than training saw) and scored on the held-out
instances. A held-out part of one document cannot make NSP pairs: nsp_accuracy is then None with
an "nsp_missing" reason.
"""
from __future__ import annotations

import numpy as np

from albert_bench.pretraining.heldout import encode_instances, heldout_instances, sentence_labels

PROBE_INSTANCES = 2000     # probe-training instances per task at most (a forward pass each: cheap)
PROBE = ("logistic regression (sklearn, L2, C=1) on standardized final-layer [CLS] hidden states of the frozen "
         "model, fit on up to {n} instances per task from the training documents, scored on the held-out ones")
TASKS = ("sop", "nsp")


def fit_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
              seed: int = 0) -> float | None:
    """Accuracy on (test_x, test_y) of the linear probe fit on (train_x, train_y); None when the
    training labels hold one class only (nothing to separate)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    if len(np.unique(train_y)) < 2 or not len(test_y):
        return None
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, random_state=seed))
    probe.fit(np.asarray(train_x, np.float64), train_y)
    return float((probe.predict(np.asarray(test_x, np.float64)) == test_y).mean())


def _nsp_missing(documents: np.ndarray, where: str) -> str | None:
    """Why NSP pairs cannot be made from `documents` (None: they can)."""
    if len(documents) >= 2:
        return None
    return (f"the {where} text holds {len(documents)} document(s); NSP's random B needs another document: use a "
            "larger --heldout-fraction or a corpus with more documents (blank lines separate them)")


def intrinsic_scores(model, corpus, train_docs: np.ndarray, heldout_docs: np.ndarray, *, objective: str, seed: int,
                     seq_len: int, vocab_size: int, max_predictions: int | None = None, word_starts=None,
                     device=None, precision: str = "fp32", probe: bool = True,
                     probe_instances: int = PROBE_INSTANCES) -> dict:
    """The held-out block of the pretraining summary (see the module docstring): masked_token_accuracy
    (on the SOP instances, as before), sop_accuracy, nsp_accuracy (or None + nsp_missing),
    sentence_head (trained / untrained), and with probe the *_probe_accuracy, probe, probe_instances."""
    options = dict(seq_len=seq_len, vocab_size=vocab_size, max_predictions=max_predictions, word_starts=word_starts)
    run = dict(device=device, precision=precision)
    out: dict = {"sentence_head": "untrained" if objective == "none" else "trained",
                 "sentence_head_objective": None if objective == "none" else objective}
    evals: dict[str, tuple[list, dict]] = {}
    for task in TASKS:
        missing = _nsp_missing(heldout_docs, "held-out") if task == "nsp" else None
        if missing:
            out.update(nsp_accuracy=None, nsp_missing=missing)
            continue
        instances = heldout_instances(corpus, heldout_docs, seed, objective=task, **options)
        enc = encode_instances(model, instances, **run)
        evals[task] = (instances, enc)
        out[f"{task}_accuracy"] = float((enc["sentence_predictions"] == sentence_labels(instances)).mean())
        out[f"{task}_instances"] = len(instances)
        if task == "sop":       # the MLM column: the SOP instances' masks, as held-out scoring always had
            out.update(masked_token_accuracy=enc["masked_correct"] / max(1, enc["masked_total"]),
                       masked_tokens=enc["masked_total"], instances=len(instances))
    if not probe:
        return out
    out["probe"] = PROBE.format(n=probe_instances)
    out["probe_instances"] = {}
    for task in TASKS:
        if task not in evals:
            out[f"{task}_probe_accuracy"] = None
            continue
        if task == "nsp" and _nsp_missing(train_docs, "training"):
            out.update(nsp_probe_accuracy=None, nsp_probe_missing=_nsp_missing(train_docs, "training"))
            continue
        fit = heldout_instances(corpus, train_docs, seed + 1, objective=task, limit=probe_instances, **options)
        fit_enc = encode_instances(model, fit, **run)
        instances, enc = evals[task]
        out[f"{task}_probe_accuracy"] = fit_probe(fit_enc["features"], sentence_labels(fit), enc["features"],
                                                  sentence_labels(instances), seed)
        out["probe_instances"][task] = len(fit)
    return out
