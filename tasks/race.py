"""RACE: reading comprehension from English exams, four options per question.

Data comes from the official release under --data-dir,

    RACE/{train,dev,test}/{middle,high}/*.txt

each file one JSON object {"id", "article", "questions", "options", "answers"} holding one
article and all its questions (data_dir may be the RACE folder or its parent). Without
--data-dir the split is read from the Hugging Face dataset `ehovy/race` (config "all"),
whose rows are one question each: {example_id, article, question, options, answer}; a
--data-dir without the official folders may hold a local copy of it (all/<split>-*.parquet,
tasks/hub_copy.py), read the same way.

    from albert_bench.tasks.race import RaceTask
    task = RaceTask()
    examples = task.load("dev", "/data/RACE")
    features = task.featurize(examples, tokenizer, max_seq_length=512)

Input per option (ALBERT's original recipe): `[CLS] article [SEP] question-option [SEP]`.
The question-option is the question with every "_" replaced by the option when the question
has a blank, else question + " " + option. Every "_" (not only the first) is replaced, as in
the original code's `str.replace`, so our numbers stay comparable with the paper's; a blank
written as "___" therefore repeats the option. Only the LAST `max_qa_length` (128) tokens of
the question-option are kept (the option sits at the end), and the article is cut from the
end to fit max_seq_length.

Metrics: accuracy over all questions and over the middle- and high-school parts (fractions
in 0..1). A level with no labelled question in the split is left out of the metrics dict.

RACE has no official submission format; `write_predictions` writes `RACE-{split}.json`, a
JSON object example id -> predicted letter ("A".."D").
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from albert_bench.io import atomic_write_json
from albert_bench.tasks import hub_copy
from albert_bench.tasks.common import DataError, DataSource, Examples, Metric, TaskBase, check_whole_number

LETTERS = ("A", "B", "C", "D")
LEVELS = ("middle", "high")
SPLITS = ("train", "dev", "test")
HF_ID = "ehovy/race"
HF_COLUMNS = ("example_id", "article", "question", "options", "answer")


@dataclass(frozen=True)
class RaceExample:
    id: str                    # f"{file id}-{question index}", e.g. "high1234.txt-2"
    article: str
    question: str
    options: tuple[str, ...]   # exactly four, in A..D order
    label: str | None          # "A".."D"; None where the file carries no answers
    level: str                 # "middle" or "high"


def question_option(question: str, option: str) -> str:
    """The second segment for one option: fill the blank(s) if the question has one."""
    if "_" in question:
        return question.replace("_", option)
    return question + " " + option


def _accuracy(pred: Sequence[int], gold: Sequence[int]) -> float:
    """albert_bench.metrics.glue.accuracy when that module provides it, else numpy."""
    try:
        from albert_bench.metrics.glue import accuracy
    except ImportError:
        return float(np.mean(np.asarray(pred) == np.asarray(gold)))
    return float(accuracy(pred, gold))


@dataclass
class RaceTask(TaskBase):
    name: str = "race"
    head: str = "multiple_choice"
    labels: tuple[str, ...] = LETTERS
    metrics: tuple[Metric, ...] = (Metric("accuracy"), Metric("accuracy_middle"), Metric("accuracy_high"))
    main_metric: str = "accuracy"
    train_split: str = "train"
    eval_splits: tuple[str, ...] = ("dev",)
    test_splits: tuple[str, ...] = ("test",)
    source: DataSource = field(default_factory=lambda: DataSource(
        files={s: f"RACE/{s}" for s in SPLITS}, hf_path=HF_ID, hf_config="all",
        hf_splits={"train": "train", "dev": "validation", "test": "test"}))
    recipe: str = "race"
    max_qa_length: int = 128   # question-option tokens kept (the last ones), original run_race.py
    input_settings: tuple[str, ...] = field(default=("max_qa_length",), init=False, repr=False)

    # ---------------------------------------------------------------- loading

    def __post_init__(self) -> None:
        check_whole_number(self.name, "max_qa_length", self.max_qa_length)

    def load(self, split: str, data_dir: str | Path | None) -> Examples:
        if split not in SPLITS:
            raise DataError(f"RACE has no split {split!r}; choose one of {', '.join(SPLITS)}")
        if data_dir is None:
            return self._load_hf(split)
        split_dir = _race_root(Path(data_dir)) / split
        copy = None if split_dir.is_dir() else self.hub_copy_dir(Path(data_dir))
        if copy is None:
            return Examples(_read_split(split_dir))
        # A local copy of ehovy/race: the same rows the online path reads, through the same converter.
        rows = hub_copy.read_split(copy, HF_ID, self.source.hf_splits[split], HF_COLUMNS, f"race split {split!r}")
        return Examples(examples_from_hf_rows(rows, copy.name, source=str(copy)))

    def hub_copy_dir(self, folder: str | Path) -> Path | None:
        """The config folder of a local copy of the Hub dataset under `folder` (tasks/hub_copy.py), or None."""
        return hub_copy.find(folder, HF_ID, self.source.hf_config, list(self.source.hf_splits.values()))

    def _load_hf(self, split: str) -> Examples:
        hf_split = self.source.hf_splits[split]
        try:
            import datasets
            rows = datasets.load_dataset(self.source.hf_path, self.source.hf_config, split=hf_split)
        except Exception as err:  # offline, missing package, hub error: all need the same fix
            raise DataError(
                f"could not load RACE split {split!r} from the Hugging Face dataset {self.source.hf_path!r} "
                f"(config {self.source.hf_config!r}, split {hf_split!r}): {type(err).__name__}: {err}. "
                f"Offline? Download RACE and pass --data-dir pointing at the RACE folder "
                f"(containing train/, dev/, test/).") from err
        return Examples(examples_from_hf_rows(rows, self.source.hf_config))

    # ---------------------------------------------------------------- features

    def featurize(self, examples: Sequence[RaceExample], tokenizer: Any, max_seq_length: int) -> list[dict]:
        if max_seq_length < 8:
            raise ValueError(f"max_seq_length {max_seq_length} is too short for RACE (need room for "
                             f"[CLS] article [SEP] question-option [SEP])")
        # Tokenize each article once (not once per option), and all question-options in one batch.
        article_ids = tokenizer.encode_batch([ex.article for ex in examples])
        qa_texts = [question_option(ex.question, opt) for ex in examples for opt in ex.options]
        qa_ids = tokenizer.encode_batch(qa_texts)
        # The question-option keeps its end (the option), capped so [CLS] [SEP] [SEP] still fit.
        qa_keep = min(self.max_qa_length, max_seq_length - 3)
        label_of = {letter: i for i, letter in enumerate(LETTERS)}
        features = []
        for i, ex in enumerate(examples):
            input_ids, token_type_ids = [], []
            for j in range(len(LETTERS)):
                qa = qa_ids[i * len(LETTERS) + j][-qa_keep:]
                article = article_ids[i][: max_seq_length - 3 - len(qa)]
                ids, types = tokenizer.build_inputs(article, qa)
                input_ids.append(list(ids))        # (seq_j,) one per choice; collate pads
                token_type_ids.append(list(types))
            feature = {"input_ids": input_ids, "token_type_ids": token_type_ids, "example_index": i}
            if ex.label is not None:
                feature["labels"] = label_of[ex.label]
            features.append(feature)
        return features

    # ---------------------------------------------------------------- scoring

    def score(self, examples: Sequence[RaceExample], features: Sequence[dict],
              outputs: dict[str, list]) -> tuple[dict[str, float], list[dict]]:
        logits = outputs["logits"]
        if len(logits) != len(features):
            raise ValueError(f"got {len(logits)} logits for {len(features)} features")
        pred_of: dict[int, int] = {}
        for feat, row in zip(features, logits):   # one feature per example; row: (4,)
            pred_of[feat["example_index"]] = int(np.argmax(np.asarray(row)))
        predictions = []
        for i, ex in enumerate(examples):
            predictions.append({"id": ex.id, "prediction": LETTERS[pred_of[i]], "label": ex.label,
                                "level": ex.level})
        return _metrics(predictions), predictions

    def score_file(self, data: str | Path, predictions: str | Path, na_probs: str | Path | None = None,
                   split: str | None = None) -> dict[str, float]:
        """Score a `RACE-<split>.json` (id -> letter) against the gold answers. `data` is the RACE
        folder (or its parent; `split` picks the split, default dev) or one split folder."""
        if na_probs is not None:
            raise DataError("--na-probs is for SQuAD v2.0 only; race takes --data and --predictions")
        data = Path(data)
        # a split folder such as RACE/dev (a Hub copy also has middle/ and high/, holding parquet files)
        if any((data / level).is_dir() for level in LEVELS) and self.hub_copy_dir(data) is None:
            examples = _read_split(data)
        else:
            examples = self.load(split or "dev", data)
        try:
            by_id = json.loads(Path(predictions).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise DataError(f"cannot read RACE predictions {predictions}: {err}; expected a JSON object "
                            f"id -> letter as written by `albert-bench predict`") from err
        if not isinstance(by_id, dict):
            raise DataError(f"{predictions}: expected a JSON object id -> letter (A-D)")
        missing = [ex.id for ex in examples if ex.id not in by_id]
        if missing:
            raise DataError(f"{predictions}: no prediction for {len(missing)} of {len(examples)} questions "
                            f"(first: {missing[0]}); were they made for another split?")
        bad = next((k for k, v in by_id.items() if v not in LETTERS), None)
        if bad is not None:
            raise DataError(f"{predictions}: prediction {by_id[bad]!r} for {bad} is not one of A, B, C, D")
        if any(ex.label is None for ex in examples):
            raise DataError(f"{data} has questions without answers; score against labelled files")
        return _metrics([{"prediction": by_id[ex.id], "label": ex.label, "level": ex.level} for ex in examples])

    def write_predictions(self, split: str, predictions: Sequence[dict], output_dir: str | Path) -> list[Path]:
        # No official RACE submission format exists: a JSON object id -> letter.
        path = Path(output_dir) / f"RACE-{split}.json"
        return [atomic_write_json(path, {p["id"]: p["prediction"] for p in predictions})]


def _metrics(predictions: Sequence[dict]) -> dict[str, float]:
    """Accuracy over the labelled predictions, and per level where that level has any."""
    labelled = [p for p in predictions if p["label"] is not None]
    if not labelled:
        return {}
    metrics = {"accuracy": _accuracy([p["prediction"] for p in labelled], [p["label"] for p in labelled])}
    for level in LEVELS:
        part = [p for p in labelled if p["level"] == level]
        if part:
            metrics[f"accuracy_{level}"] = _accuracy([p["prediction"] for p in part], [p["label"] for p in part])
    return metrics


# -------------------------------------------------------------------- file reading

def _race_root(data_dir: Path) -> Path:
    """Accept the RACE folder itself or a folder that contains RACE/."""
    if (data_dir / "RACE").is_dir() and not any((data_dir / s).is_dir() for s in SPLITS):
        return data_dir / "RACE"
    return data_dir


def _read_split(split_dir: Path) -> list[RaceExample]:
    if not split_dir.is_dir():
        raise DataError(f"RACE split folder {split_dir} not found: expected RACE/{{train,dev,test}}/"
                        f"{{middle,high}}/*.txt under --data-dir (the RACE folder or its parent), "
                        f"{hub_copy.describe(HF_ID, 'all')}")
    examples = []
    found = False
    for level in LEVELS:
        level_dir = split_dir / level
        if not level_dir.is_dir():
            continue
        for path in sorted(level_dir.glob("*.txt")):
            found = True
            examples.extend(_read_file(path, level))
    if not found:
        raise DataError(f"no RACE files in {split_dir}: expected {split_dir}/middle/*.txt and/or "
                        f"{split_dir}/high/*.txt")
    return examples


def _read_file(path: Path, level: str) -> list[RaceExample]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a valid RACE JSON file ({err}); each .txt must hold one JSON "
                        f"object with id, article, questions, options, answers") from err
    if not isinstance(obj, dict) or not isinstance(obj.get("article"), str) \
            or not isinstance(obj.get("questions"), list) or not isinstance(obj.get("options"), list):
        raise DataError(f"{path}: expected a JSON object with a string 'article' and lists "
                        f"'questions', 'options' (and 'answers')")
    questions, options = obj["questions"], obj["options"]
    answers = obj.get("answers")
    if answers is not None and not isinstance(answers, list):
        raise DataError(f"{path}: 'answers' must be a list of letters A-D")
    if len(options) != len(questions) or (answers is not None and len(answers) != len(questions)):
        raise DataError(f"{path}: {len(questions)} questions but {len(options)} option lists and "
                        f"{'no' if answers is None else len(answers)} answers; they must agree")
    file_id = str(obj.get("id") or path.name)
    out = []
    for q, question in enumerate(questions):
        out.append(_make_example(f"{file_id}-{q}", obj["article"], question, options[q],
                                 None if answers is None else answers[q], level,
                                 where=f"{path}: question {q}"))
    return out


def _make_example(example_id: str, article: str, question: Any, options: Any, answer: Any,
                  level: str, where: str) -> RaceExample:
    if not isinstance(question, str):
        raise DataError(f"{where}: the question must be a string, got {question!r}")
    if not isinstance(options, (list, tuple)) or len(options) != 4 or not all(isinstance(o, str) for o in options):
        raise DataError(f"{where}: expected 4 option strings, got {options!r}")
    if answer is not None and answer not in LETTERS:
        raise DataError(f"{where}: answer {answer!r} is not one of A, B, C, D")
    return RaceExample(example_id, article, question, tuple(options), answer, level)


def examples_from_hf_rows(rows: Any, config: str = "all", source: str = HF_ID) -> list[RaceExample]:
    """Map `ehovy/race` rows (one question each, in file order) to examples with the same ids
    as the official files: example_id is the file name ("high1234.txt"), the question index
    counts the rows of that file; the level is the example_id's prefix (or the config).
    `source` names the rows in errors (the Hub id, or the folder of a local copy)."""
    examples = []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows):
        file_id = str(row["example_id"])
        q = seen.get(file_id, 0)
        seen[file_id] = q + 1
        level = next((lv for lv in LEVELS if file_id.startswith(lv)), config if config in LEVELS else None)
        if level is None:
            raise DataError(f"{source} row {n}: cannot tell middle/high from example_id {file_id!r}")
        answer = row.get("answer") or None   # test rows may carry an empty answer
        examples.append(_make_example(f"{file_id}-{q}", row["article"], row["question"], list(row["options"]),
                                      answer, level, where=f"{source} row {n} ({file_id}, question {q})"))
    # The official reader's order (middle, then high; files by name; questions in file order), so the
    # same data gives the same run whichever way it came (the Hub's row order is its own).
    return sorted(examples, key=lambda ex: (LEVELS.index(ex.level), ex.id.rsplit("-", 1)[0]))
