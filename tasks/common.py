"""What every task provides. A task is a small object with a few methods; the training
engine (albert_bench.engine.train) only ever talks to tasks through this interface.

Data flow of one run:
    examples = task.load(split, data_dir)            # list of the task's Example objects
    features = task.featurize(examples, tokenizer, max_seq_length)
    ... engine batches features (albert_bench.engine.batching.collate), trains / runs the model ...
    outputs  = {"logits": [...]} or {"start_logits": [...], "end_logits": [...], ...}
    metrics, predictions = task.score(examples, features, outputs)

Feature dicts (plain Python lists, so they pickle, cache and pad cheaply):
    input_ids, token_type_ids : list[int]            (multiple choice: list[list[int]], one per choice)
    example_index             : int                  index into `examples` (several features may share one: SQuAD windows)
    labels                    : int | float          classification label id / regression target (absent on test)
    start_positions, end_positions : int             QA (0 = [CLS] for "no answer in this window")
    is_impossible             : float                QA v2 (ALBERT's own v2 head trains its verifier on it)
    any other key is metadata the task keeps for scoring (e.g. offsets, context token map); the
    collate passes to the model only MODEL_INPUT_KEYS + LABEL_KEYS.

Outputs given to `score`: dict name -> list with one numpy array per feature, in feature
order, trimmed to that feature's length (logits: shape (num_labels,) or (num_choices,);
start_logits/end_logits: shape (seq_len,)).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

MODEL_INPUT_KEYS = ("input_ids", "token_type_ids", "attention_mask")
LABEL_KEYS = ("labels", "start_positions", "end_positions", "is_impossible")

# Heads a task can ask for; the engine maps each to a model class.
HEADS = ("classification", "regression", "question_answering", "multiple_choice")


class DataError(ValueError):
    """Bad input data a user can fix. The message names the file (and line) and the fix."""


@dataclass(frozen=True)
class Metric:
    name: str                     # the name users know: accuracy, f1, matthews_correlation, ...
    higher_is_better: bool | None = True  # direction, shown in tables; None: not a score (a count, a threshold)


@dataclass(frozen=True)
class DataSource:
    """Where a split comes from: official file(s) under --data-dir, or a Hugging Face id."""
    files: dict[str, str]          # split -> relative path under data dir (e.g. {"dev": "dev.tsv"})
    hf_path: str | None = None     # e.g. "nyu-mll/glue"
    hf_config: str | None = None   # e.g. "cola"
    hf_splits: dict[str, str] | None = None  # our split -> HF split name


# Checkpoints fine-tuned on another task that score a task by design, their label sets being one:
# AX is GLUE's diagnostic set, scored with an MNLI model. evaluate / predict refuse any other pair
# (RTE and QNLI share label NAMES, but an RTE head is no QNLI model) unless told --force.
SCORED_WITH = {"ax": ("mnli",)}


class TaskBase:
    """What every task class shares: its recipe lookup (recipes are data, in tasks/recipes.py;
    the core engine asks the task, so it never imports `tasks`)."""

    recipe: str
    # Settings besides max_seq_length that shape the inputs or decoding (SQuAD's doc_stride...);
    # each is an attribute whose default is the paper's value. albert_bench.engine.inputs saves them
    # with every checkpoint.
    input_settings: tuple[str, ...] = ()

    def get_recipe(self, name: str = "paper", version: str = "v2"):
        from albert_bench.tasks.recipes import get_recipe
        return get_recipe(self.recipe, name, version=version)

    def baseline(self, examples, split: str = "dev"):
        """The trivial baseline (a constant prediction) on labelled dev `examples`: tasks/baselines.py."""
        from albert_bench.tasks.baselines import baseline
        return baseline(self, examples, split)

    @property
    def scored_with(self) -> tuple[str, ...]:
        """Tasks whose fine-tuned checkpoints score this one by design (SCORED_WITH)."""
        return SCORED_WITH.get(self.name, ())

    def with_inputs(self, **values):
        """A copy of the task with input settings changed (the registry's task stays as it is)."""
        unknown = sorted(set(values) - set(self.input_settings))
        if unknown:
            raise ValueError(f"task {self.name!r} has no input setting(s) {unknown}; it has "
                             f"{list(self.input_settings) or 'none besides max_seq_length'}")
        return dataclasses.replace(self, **values) if values else self


def check_whole_number(task: str, name: str, value: Any) -> None:
    """An input setting such as doc_stride must be an int >= 1 (not a bool, not a float)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{task} {name} must be a whole number >= 1, got {value!r}")


class Task(Protocol):
    name: str                      # registry key, e.g. "mnli"
    head: str                      # one of HEADS
    labels: tuple[str, ...]        # label names in model-id order (classification); () otherwise
    metrics: tuple[Metric, ...]    # every metric `score` reports
    main_metric: str               # metric that picks the best checkpoint
    train_split: str               # usually "train"
    eval_splits: tuple[str, ...]   # dev splits scored (mnli: dev_matched, dev_mismatched)
    test_splits: tuple[str, ...]   # splits `predict` writes submissions for
    source: DataSource
    recipe: str                    # key into tasks.recipes (e.g. "cola", "squad_v2")
    input_settings: tuple[str, ...]  # input/decoding settings besides max_seq_length (TaskBase)
    scored_with: tuple[str, ...]   # other tasks whose checkpoints score this one by design (TaskBase)

    def load(self, split: str, data_dir: str | Path | None) -> Examples:
        """Read a split: from `data_dir` in the official layout, or from the Hugging Face id
        when data_dir is None. Raises DataError naming the file/line on bad data."""

    def featurize(self, examples: Sequence[Any], tokenizer: Any, max_seq_length: int) -> list[dict]:
        """Turn examples into feature dicts (see module docstring)."""

    def score(self, examples: Sequence[Any], features: Sequence[dict],
              outputs: dict[str, list]) -> tuple[dict[str, float], list[dict]]:
        """Metrics (names as in `metrics`) and one prediction dict per example
        ({"id": ..., "prediction": ..., "label": ... , plus task extras}) for the run record.
        Examples without gold labels (test) give metrics == {}."""

    def write_predictions(self, split: str, predictions: Sequence[dict], output_dir: str | Path) -> list[Path]:
        """Write test-set submission files in the official format; return their paths."""

    def score_file(self, data: str | Path, predictions: str | Path, na_probs: str | Path | None = None,
                   split: str | None = None) -> dict[str, float]:
        """Score a predictions file against gold like the official scripts (`albert-bench score`)."""

    def get_recipe(self, name: str = "paper", version: str = "v2"):
        """The fine-tuning recipe `name` ("paper" | "quick") for this task (TaskBase gives it)."""

    def baseline(self, examples: Sequence[Any], split: str = "dev") -> Any:
        """The trivial baseline on labelled examples: tasks/baselines.Baseline (TaskBase gives it)."""

    def with_inputs(self, **values) -> "Task":
        """A copy with input settings (names in input_settings) changed (TaskBase gives it)."""


class Examples(list):
    """What `Task.load` returns: a list of examples, plus `skipped`, the examples left out
    for a stated reason ({"reason": str, "count": int} each), which the run record counts."""

    def __init__(self, items=(), skipped: list[dict] | None = None):
        super().__init__(items)
        self.skipped: list[dict] = list(skipped or [])
