"""Trivial baselines from the dev labels: what a model that learnt nothing scores.

    from albert_bench.tasks import get_task
    task = get_task("mrpc")
    base = task.baseline(task.load("dev", "glue/MRPC"), split="dev")
    base.values        # {"accuracy": 0.684, "f1": 0.812}: in the record's units (fractions; SQuAD percent)
    base.rules["f1"]   # "always '1' (the constant that maximises F1)"
    base.margin        # how far the main metric must beat values[main_metric] (0.01 = 1 point)

The rules, per task family (every one a CONSTANT prediction, computed from the loaded dev Examples):
* accuracy (GLUE, RACE, per RACE level): the commonest gold label (answer letter) of the split.
* F1 (MRPC, QQP): the constant prediction that maximises F1, which is always the positive class
  (always "paraphrase" / "duplicate": recall 1, F1 = 2P / (P + N)); always-negative gives F1 0.
* Matthews correlation (CoLA): 0 (any constant prediction).
* Pearson / Spearman (STS-B): a constant score has no correlation (undefined; counted as 0).
* SQuAD 2.0: always answer "no answer": exact = F1 = the share of unanswerable questions, in percent
  (HasAns 0, NoAns 100). This is what a run stuck at all-null scores (ALBERT_FACTS.md s.6).
* SQuAD 1.1: the empty answer, which scores 0 on exact match and F1. Any non-empty constant (the
  context's first k tokens, its first sentence) would be an arbitrary choice of k; 0 is the honest
  floor, and the margin (1 F1 point) then asks a run to answer some questions at all.

Margins (`MARGINS`): the main metric must beat the baseline by 1 point of accuracy / F1, 0.02 of
MCC or correlation, 1 F1 point (percent) on SQuAD; a run that does not is "degenerate"
(albert_bench/engine/health.py). Missing from the table: no rule (the metric is not judged).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from albert_bench.tasks.common import DataError

CORRELATIONS = ("matthews_correlation", "pearson", "spearmanr")
PERCENT_TASKS = ("squad_v1", "squad_v2")   # metrics in percent (the official scripts'); others fractions


@dataclass(frozen=True)
class Baseline:
    task: str
    split: str
    examples: int
    main_metric: str
    values: dict          # metric -> the constant prediction's score, in the record's units
    rules: dict           # metric -> which constant prediction that is
    margin: float         # the main metric must beat values[main_metric] by this much (same units)

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """'accuracy 0.527 (always 'not_entailment')' for the main metric."""
        value = self.values.get(self.main_metric)
        return f"{self.main_metric} {value:.4g} ({self.rules.get(self.main_metric)})" if value is not None else "-"


def margin(task_name: str, metric: str) -> float:
    """How much the main metric must beat the trivial baseline (in the record's units)."""
    if task_name in PERCENT_TASKS:
        return 1.0                              # 1 F1 / EM point (percent)
    return 0.02 if metric in CORRELATIONS else 0.01   # 0.02 MCC / correlation; 1 point of accuracy / F1


def _label(example: Any):
    return example["label"] if isinstance(example, dict) else getattr(example, "label", None)


def _majority(labels: Sequence) -> tuple[Any, float]:
    """The commonest label (ties: the first in sorted order, so it is reproducible) and its share."""
    counts = Counter(labels)
    best = max(sorted(counts, key=str), key=lambda k: counts[k])
    return best, counts[best] / len(labels)


def baseline(task: Any, examples: Sequence, split: str = "dev") -> Baseline:
    """The trivial baseline of `task` on labelled `examples` (module docstring)."""
    if not examples:
        raise DataError(f"{task.name} {split}: no examples, so no baseline")
    values, rules = {}, {}
    if task.head == "question_answering":
        if getattr(task, "version", "v1") == "v2":
            share = 100.0 * sum(bool(ex.is_impossible) for ex in examples) / len(examples)
            values.update(exact=share, f1=share, HasAns_exact=0.0, HasAns_f1=0.0, NoAns_exact=100.0, NoAns_f1=100.0)
            rules.update({m: "always no answer (= the share of unanswerable questions)" for m in values})
        else:
            values.update(exact_match=0.0, f1=0.0)
            rules.update({m: "the empty answer (scores 0)" for m in values})
    else:
        labels = [_label(ex) for ex in examples]
        if any(x is None for x in labels):
            raise DataError(f"{task.name} {split} has examples without gold labels: a baseline needs a dev split")
        names = {m.name for m in task.metrics}
        if task.head == "regression":
            for m in names & {"pearson", "spearmanr"}:
                values[m], rules[m] = 0.0, "a constant score (correlation undefined; counted as 0)"
        else:
            top, share = _majority(labels)
            if "accuracy" in names:
                values["accuracy"], rules["accuracy"] = share, f"always {top!r} (the commonest label)"
            if "matthews_correlation" in names:
                values["matthews_correlation"], rules["matthews_correlation"] = 0.0, "any constant label (MCC 0)"
            if "f1" in names and len(task.labels) == 2:
                positive = task.labels[1]   # F1's positive class is label id 1 (metrics/glue.py)
                p = sum(x == positive for x in labels) / len(labels)
                values["f1"] = 2 * p / (1 + p) if p else 0.0
                rules["f1"] = f"always {positive!r} (the constant that maximises F1)"
            levels = sorted({getattr(ex, "level", None) for ex in examples} - {None})
            for level in levels:   # RACE: accuracy per level of the overall commonest letter
                part = [x for ex, x in zip(examples, labels) if ex.level == level]
                values[f"accuracy_{level}"] = sum(x == top for x in part) / len(part)
                rules[f"accuracy_{level}"] = f"always {top!r} (the split's commonest answer)"
    return Baseline(task=task.name, split=split, examples=len(examples), main_metric=task.main_metric,
                    values={k: float(v) for k, v in values.items()}, rules=rules,
                    margin=margin(task.name, task.main_metric))


def format_baselines(rows: Sequence[Baseline | tuple[str, str]]) -> str:
    """Plain text for `albert-bench tasks --baselines`: one line per (task, split, metric);
    a (task, why) pair stands for a task without data."""
    lines = [f"{'task':<10} {'split':<15} {'n':>6}  {'metric':<22} {'baseline':>9}  {'margin':>6}  rule"]
    for row in rows:
        if isinstance(row, tuple):
            lines.append(f"{row[0]:<10} -  {row[1]}")
            continue
        for metric, value in row.values.items():
            main = metric == row.main_metric
            lines.append(f"{row.task:<10} {row.split:<15} {row.examples:>6}  {metric + (' *' if main else ''):<22} "
                         f"{value:>9.4g}  {(f'{row.margin:g}' if main else ''):>6}  {row.rules[metric]}")
    lines.append("* = main metric: a run whose best dev value does not beat baseline + margin is marked degenerate. "
                 "Units as in the records: fractions, SQuAD in percent.")
    return "\n".join(lines)
