"""Every GLUE task (and the AX diagnostic) as ONE table of specs plus ONE task class.

    from albert_bench.tasks.glue import GLUE_TASKS, get_glue_task, score_glue_file
    mnli = get_glue_task("mnli")
    examples = mnli.load("dev_matched", "/data/glue")          # GLUE root or /data/glue/MNLI
    features = mnli.featurize(examples, tokenizer, max_seq_length=512)
    score_glue_file(mnli, "/data/glue/MNLI/dev_mismatched.tsv", "MNLI-mm.tsv")

Files are the benchmark's own download (ALBERT_FACTS.md s.4), one folder per task (CoLA,
SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE, WNLI, diagnostic). TSV is split on tabs with NO
quote processing: sentences may start with `"`, and csv's quoting would swallow lines.
Without --data-dir a split comes from the Hugging Face dataset `nyu-mll/glue`; --data-dir may
also point at a local copy of it (its parquet files, tasks/hub_copy.py), read the same way.

Labels are kept as NAMES (the strings of the official files: "0"/"1", "entailment", ...);
`task.labels` is the model-id order (MNLI: the original code's contradiction, entailment,
neutral). Hugging Face's integer labels are mapped through each spec's `hf_labels`, because
its orders differ (nyu-mll/glue mnli: entailment=0, neutral=1, contradiction=2; -1 = test).

Example ids: the file's `index` (or QQP's `id`) column; files without one (CoLA, SST-2 and
MRPC train/dev) use the 0-based data row number. Metric values are fractions (see
albert_bench.metrics.glue). MNLI's two dev splits are shown as mnli-m / mnli-mm (`display_name`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from albert_bench.io import atomic_write_text
from albert_bench.metrics.glue import METRICS
from albert_bench.tasks import hub_copy
from albert_bench.tasks.common import DataError, DataSource, Examples, Metric, TaskBase

HF_PATH = "nyu-mll/glue"
ID_COLUMNS = ("index", "id")   # first one present in a header is the example id
BINARY = ("0", "1")
NLI3 = ("contradiction", "entailment", "neutral")   # original ALBERT code order
NLI2 = ("entailment", "not_entailment")


@dataclass(frozen=True)
class GlueSpec:
    name: str                         # registry key
    folder: str                       # task folder of the GLUE download
    files: dict[str, str]             # split -> file in the folder
    text_a: str                       # column names in the official files
    text_b: str | None
    label_column: str
    labels: tuple[str, ...]           # model-id order; () = regression
    metrics: tuple[str, ...]          # the first picks the best checkpoint (accuracy for MRPC/QQP, as the paper's dev tables)
    hf_config: str
    hf_text: tuple[str, str | None]   # Hugging Face column names
    hf_labels: tuple[str, ...]        # our label names in Hugging Face's integer order
    stem: str                         # submission file stem (CoLA, SST-2, ...)
    submission: dict[str, str]        # test split -> official submission file name
    recipe: str
    no_header: dict[str, tuple[str, ...]] = field(default_factory=dict)   # split -> column names of a headerless file
    skip_short_rows: bool = False     # QQP's official train.tsv has rows with missing fields
    display: dict[str, str] = field(default_factory=dict)                 # split -> name in tables

    @property
    def eval_splits(self) -> tuple[str, ...]:
        return tuple(s for s in self.files if s.startswith("dev"))

    @property
    def test_splits(self) -> tuple[str, ...]:
        return tuple(s for s in self.files if s.startswith("test"))


def _std(test: str = "test") -> dict[str, str]:
    return {"train": "train.tsv", "dev": "dev.tsv", test: "test.tsv"}


MNLI_FILES = {s: f"{s}.tsv" for s in ("train", "dev_matched", "dev_mismatched", "test_matched", "test_mismatched")}

SPECS: tuple[GlueSpec, ...] = (
    GlueSpec("cola", "CoLA", _std(), "sentence", None, "label", BINARY, ("matthews_correlation", "accuracy"),
             "cola", ("sentence", None), BINARY, "CoLA", {"test": "CoLA.tsv"}, "cola",
             no_header={s: ("source", "label", "original_mark", "sentence") for s in ("train", "dev")}),
    GlueSpec("sst2", "SST-2", _std(), "sentence", None, "label", BINARY, ("accuracy",),
             "sst2", ("sentence", None), BINARY, "SST-2", {"test": "SST-2.tsv"}, "sst2"),
    GlueSpec("mrpc", "MRPC", _std(), "#1 String", "#2 String", "Quality", BINARY, ("accuracy", "f1"),
             "mrpc", ("sentence1", "sentence2"), BINARY, "MRPC", {"test": "MRPC.tsv"}, "mrpc"),
    GlueSpec("stsb", "STS-B", _std(), "sentence1", "sentence2", "score", (), ("pearson", "spearmanr"),
             "stsb", ("sentence1", "sentence2"), (), "STS-B", {"test": "STS-B.tsv"}, "stsb"),
    GlueSpec("qqp", "QQP", _std(), "question1", "question2", "is_duplicate", BINARY, ("accuracy", "f1"),
             "qqp", ("question1", "question2"), BINARY, "QQP", {"test": "QQP.tsv"}, "qqp", skip_short_rows=True),
    GlueSpec("mnli", "MNLI", MNLI_FILES, "sentence1", "sentence2", "gold_label", NLI3, ("accuracy",),
             "mnli", ("premise", "hypothesis"), ("entailment", "neutral", "contradiction"), "MNLI",
             {"test_matched": "MNLI-m.tsv", "test_mismatched": "MNLI-mm.tsv"}, "mnli",
             display={"dev_matched": "mnli-m", "dev_mismatched": "mnli-mm"}),
    GlueSpec("qnli", "QNLI", _std(), "question", "sentence", "label", NLI2, ("accuracy",),
             "qnli", ("question", "sentence"), NLI2, "QNLI", {"test": "QNLI.tsv"}, "qnli"),
    GlueSpec("rte", "RTE", _std(), "sentence1", "sentence2", "label", NLI2, ("accuracy",),
             "rte", ("sentence1", "sentence2"), NLI2, "RTE", {"test": "RTE.tsv"}, "rte"),
    # nyu-mll/glue wnli: 0 = not_entailment, 1 = entailment, the same as the files' 0/1
    GlueSpec("wnli", "WNLI", _std(), "sentence1", "sentence2", "label", BINARY, ("accuracy",),
             "wnli", ("sentence1", "sentence2"), BINARY, "WNLI", {"test": "WNLI.tsv"}, "wnli"),
    # AX: test-only diagnostic, predicted by an MNLI model (hence MNLI's labels and recipe);
    # the leaderboard scores it with (3-class) Matthews correlation.
    GlueSpec("ax", "diagnostic", {"test": "diagnostic.tsv"}, "sentence1", "sentence2", "label", NLI3,
             ("matthews_correlation",), "ax", ("premise", "hypothesis"), ("entailment", "neutral", "contradiction"),
             "AX", {"test": "AX.tsv"}, "mnli"),
)


@dataclass(frozen=True)
class GlueExample:
    id: str
    text_a: str
    text_b: str | None
    label: str | float | None   # label name, STS-B score, or None (test)


# ---------------------------------------------------------------- reading TSV

def read_tsv(path: Path) -> list[tuple[int, list[str]]]:
    """(1-based line number, fields) of every non-empty line, split on tabs only. Lines end at
    "\\n" alone: str.splitlines would also split on \\x0b, \\x1c, \\u2028 inside sentences."""
    rows = []
    with open(path, encoding="utf-8-sig", newline="\n") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\n").removesuffix("\r")
            if line:
                rows.append((number, line.split("\t")))
    return rows


def _read_split_file(spec: GlueSpec, split: str, path: Path) -> Examples:
    rows = read_tsv(path)
    if split in spec.no_header:
        header = list(spec.no_header[split])
    elif rows:
        header = rows.pop(0)[1]
    else:
        raise DataError(f"{path} is empty; expected a header line and data rows (re-download {spec.folder})")
    col = {name: i for i, name in enumerate(header)}
    for name in (spec.text_a, spec.text_b):
        if name is not None and name not in col:
            raise DataError(f"{path}: header has no column {name!r} (got {header}); is this the {spec.folder} file?")
    label_at = col.get(spec.label_column)
    if label_at is None and split.startswith(("train", "dev")):
        raise DataError(f"{path}: header has no label column {spec.label_column!r} (got {header})")
    id_at = next((col[c] for c in ID_COLUMNS if c in col), None)

    examples, short = Examples(), 0
    for row_number, (line, fields) in enumerate(rows):
        if len(fields) != len(header):
            if spec.skip_short_rows and len(fields) < len(header):
                short += 1
                continue
            raise DataError(f"{path} line {line}: {len(fields)} tab-separated columns, expected {len(header)} "
                            f"({', '.join(header)}); fix or remove the line")
        label = None if label_at is None else _parse_label(spec, fields[label_at], f"{path} line {line}")
        examples.append(GlueExample(id=fields[id_at] if id_at is not None else str(row_number),
                                    text_a=fields[col[spec.text_a]],
                                    text_b=fields[col[spec.text_b]] if spec.text_b else None, label=label))
    if short:
        examples.skipped.append({"reason": f"rows with missing fields in {path.name} (known in the official "
                                           f"{spec.folder} file)", "count": short})
    return examples


def _parse_label(spec: GlueSpec, value: str, where: str) -> str | float:
    if not spec.labels:   # regression
        try:
            return float(value)
        except ValueError:
            raise DataError(f"{where}: score {value!r} is not a number") from None
    if value not in spec.labels:
        raise DataError(f"{where}: unknown label {value!r}; {spec.name} labels are {list(spec.labels)}")
    return value


def examples_from_hf_rows(spec: GlueSpec, rows: Any) -> Examples:
    """GlueExamples from nyu-mll/glue rows ({text columns, label: int (-1 = test) / float, idx})."""
    col_a, col_b = spec.hf_text
    examples = Examples()
    for row in rows:
        raw = row["label"]
        if spec.labels:
            label = None if raw is None or int(raw) < 0 else spec.hf_labels[int(raw)]
        else:   # the Hub stores STS-B scores as float32: its shortest text is the file's score (3.800 -> 3.8)
            label = None if raw is None or float(raw) < 0 else float(str(np.float32(raw)))
        examples.append(GlueExample(id=str(row["idx"]), text_a=row[col_a],
                                    text_b=row[col_b] if col_b else None, label=label))
    return examples


# ---------------------------------------------------------------- the task

class GlueTask(TaskBase):
    """One GLUE task, driven by its GlueSpec (see tasks/common.py for the protocol)."""

    train_split = "train"

    def __init__(self, spec: GlueSpec):
        self.spec = spec
        self.name = spec.name
        self.head = "classification" if spec.labels else "regression"
        self.labels = spec.labels
        self.metrics = tuple(Metric(m, METRICS[m][1]) for m in spec.metrics)
        self.main_metric = spec.metrics[0]
        self.eval_splits = spec.eval_splits
        self.test_splits = spec.test_splits
        self.recipe = spec.recipe
        hf_names = {"dev": "validation", "dev_matched": "validation_matched", "dev_mismatched": "validation_mismatched"}
        self.source = DataSource(files={s: f"{spec.folder}/{f}" for s, f in spec.files.items()}, hf_path=HF_PATH,
                                 hf_config=spec.hf_config, hf_splits={s: hf_names.get(s, s) for s in spec.files})
        self._label_id = {name: i for i, name in enumerate(spec.labels)}

    def __repr__(self) -> str:
        return f"GlueTask({self.name!r})"

    def display_name(self, split: str) -> str:
        """Name of a split's scores in tables: mnli-m / mnli-mm, else the task name."""
        return self.spec.display.get(split, self.name)

    # ---------------------------------------------------------------- loading

    def _check_split(self, split: str) -> None:
        if split not in self.spec.files:
            hint = " AX is test-only: fine-tune mnli, then predict ax with that model." if self.name == "ax" else ""
            raise DataError(f"{self.name} has no split {split!r}; choose one of {', '.join(self.spec.files)}.{hint}")

    def _official_file(self, split: str, data_dir: str | Path) -> Path | None:
        name = self.spec.files[split]
        return next((p for p in (Path(data_dir) / name, Path(data_dir) / self.spec.folder / name) if p.is_file()), None)

    def file_path(self, split: str, data_dir: str | Path) -> Path:
        """The split's file under data_dir, which may be the task folder or the GLUE root."""
        self._check_split(split)
        path = self._official_file(split, data_dir)
        if path is not None:
            return path
        data_dir, name = Path(data_dir), self.spec.files[split]
        raise DataError(f"{self.name} {split} file not found: expected {data_dir / name} or "
                        f"{data_dir / self.spec.folder / name}; pass --data-dir pointing at the GLUE download's "
                        f"{self.spec.folder} folder (or its parent), {hub_copy.describe(HF_PATH, self.spec.hf_config)}")

    def hub_copy_dir(self, data_dir: str | Path) -> Path | None:
        """The config folder of a local copy of nyu-mll/glue under data_dir (tasks/hub_copy.py), or None."""
        return hub_copy.find(data_dir, HF_PATH, self.spec.hf_config, list(self.source.hf_splits.values()))

    def load(self, split: str, data_dir: str | Path | None) -> Examples:
        """Official files first; a folder without them may hold a local copy of nyu-mll/glue (tasks/hub_copy.py)."""
        self._check_split(split)
        hf_split = self.source.hf_splits[split]
        if data_dir is not None:
            copy = None if self._official_file(split, data_dir) else self.hub_copy_dir(data_dir)
            if copy is None:
                return _read_split_file(self.spec, split, self.file_path(split, data_dir))
            columns = [c for c in self.spec.hf_text if c] + ["label", "idx"]
            rows = hub_copy.read_split(copy, HF_PATH, hf_split, columns, f"{self.name} split {split!r}")
            return examples_from_hf_rows(self.spec, rows)
        try:
            import datasets
            rows = datasets.load_dataset(HF_PATH, self.spec.hf_config, split=hf_split)
        except Exception as err:   # offline, hub error, missing package: all need the same fix
            raise DataError(f"could not load {self.name} split {split!r} from the Hugging Face dataset {HF_PATH!r} "
                            f"(config {self.spec.hf_config!r}, split {hf_split!r}): {type(err).__name__}: {err}. "
                            f"Offline? Download GLUE and pass --data-dir pointing at the {self.spec.folder} folder "
                            f"(or the GLUE root), or at a local copy of {HF_PATH} (README: data from a local "
                            f"copy of the Hugging Face datasets).") from err
        return examples_from_hf_rows(self.spec, rows)

    # ---------------------------------------------------------------- features

    def featurize(self, examples: Sequence[GlueExample], tokenizer: Any, max_seq_length: int) -> list[dict]:
        pair = self.spec.text_b is not None
        if max_seq_length - (3 if pair else 2) < 1:   # [CLS] A [SEP] (B [SEP])
            raise ValueError(f"max_seq_length {max_seq_length} leaves no room for text in {self.name}")
        ids_a = tokenizer.encode_batch([ex.text_a for ex in examples])
        ids_b = tokenizer.encode_batch([ex.text_b for ex in examples]) if pair else [None] * len(examples)
        features = []
        for i, ex in enumerate(examples):
            # An empty second text is no pair, as the original classifier (`if example.text_b:`).
            b = ids_b[i] if pair and ex.text_b else None
            a, b = tokenizer.truncate_pair(ids_a[i], b, max_seq_length - (2 if b is None else 3), "longest_first")
            input_ids, token_type_ids = tokenizer.build_inputs(a, b)
            feature = {"input_ids": list(input_ids), "token_type_ids": list(token_type_ids), "example_index": i}
            if ex.label is not None:
                feature["labels"] = self._label_id[ex.label] if self.labels else float(ex.label)
            features.append(feature)
        return features

    # ---------------------------------------------------------------- scoring

    def score(self, examples: Sequence[GlueExample], features: Sequence[dict],
              outputs: dict[str, list]) -> tuple[dict[str, float], list[dict]]:
        logits = outputs["logits"]
        if len(logits) != len(features):
            raise ValueError(f"got {len(logits)} logits for {len(features)} features")
        width = len(self.labels) or 1
        pred_of: dict[int, str | float] = {}
        for feature, row in zip(features, logits):
            row = np.asarray(row, dtype=np.float64).reshape(-1)   # (num_labels,) or (1,)
            if row.shape[0] != width:
                raise ValueError(f"{self.name} expects {width} logits per example, got {row.shape[0]}: "
                                 f"was the model built for another task (num_labels)?")
            pred_of[feature["example_index"]] = self.labels[int(np.argmax(row))] if self.labels else float(row[0])
        predictions = [{"id": ex.id, "prediction": pred_of[i], "label": ex.label} for i, ex in enumerate(examples)]
        labelled = [p for p in predictions if p["label"] is not None]
        if not labelled:
            return {}, predictions
        return self.compute_metrics([p["prediction"] for p in labelled], [p["label"] for p in labelled]), predictions

    def compute_metrics(self, predictions: Sequence, references: Sequence) -> dict[str, float]:
        """Every metric of the spec; classification inputs are label names (f1's positive class is id 1)."""
        if self.labels:
            predictions = [self._label_id[p] for p in predictions]
            references = [self._label_id[r] for r in references]
        return {name: METRICS[name][0](predictions, references) for name in self.spec.metrics}

    # ---------------------------------------------------------------- files

    def submission_name(self, split: str) -> str:
        self._check_split(split)
        return self.spec.submission.get(split, f"{self.spec.stem}-{split}.tsv")

    def format_prediction(self, value: str | float) -> str:
        if not self.labels:   # STS-B: the server wants 0..5 with 3 decimals
            return f"{min(5.0, max(0.0, float(value))):.3f}"
        if value not in self._label_id:
            raise ValueError(f"prediction {value!r} is not a {self.name} label ({list(self.labels)})")
        return str(value)

    def write_predictions(self, split: str, predictions: Sequence[dict], output_dir: str | Path) -> list[Path]:
        """`index<TAB>prediction` TSV named as the GLUE server wants (CoLA.tsv, MNLI-m.tsv, AX.tsv, ...);
        splits other than the test ones get `<stem>-<split>.tsv` (e.g. for `score`)."""
        lines = ["index\tprediction"] + [f"{p['id']}\t{self.format_prediction(p['prediction'])}" for p in predictions]
        return [atomic_write_text(Path(output_dir) / self.submission_name(split), "\n".join(lines) + "\n")]

    def score_file(self, data: str | Path, predictions: str | Path, na_probs: str | Path | None = None,
                   split: str | None = None) -> dict[str, float]:
        if na_probs is not None:
            raise DataError(f"--na-probs is for SQuAD v2.0 only; {self.name} takes --data and --predictions")
        return score_glue_file(self, data, predictions, split)


def score_glue_file(task: GlueTask, gold: str | Path, predictions_tsv: str | Path,
                    split: str | None = None) -> dict[str, float]:
    """Metrics of an `index<TAB>prediction` TSV against the gold labels. `gold` is a split file
    (its name picks the split: dev.tsv, dev_mismatched.tsv) or a task folder / GLUE root (then
    `split`, default the first dev split: MNLI dev_matched)."""
    gold = Path(gold)
    if gold.is_file():
        by_name = {f: s for s, f in task.spec.files.items()}
        split = split or by_name.get(gold.name, task.eval_splits[0] if task.eval_splits else None)
        if split is None:
            raise DataError(f"{task.name} has no labelled split to score against ({gold})")
        examples = _read_split_file(task.spec, split, gold)
    else:
        split = split or (task.eval_splits[0] if task.eval_splits else "")
        examples = task.load(split, gold)
    if not examples or any(ex.label is None for ex in examples):
        raise DataError(f"{gold} ({task.name} {split}) has no gold labels; score against a dev file")

    path = Path(predictions_tsv)
    if not path.is_file():
        raise DataError(f"predictions file {path} does not exist")
    rows = read_tsv(path)
    if not rows or [c.lower() for c in rows[0][1]] != ["index", "prediction"]:
        raise DataError(f"{path} line 1: expected the header 'index<TAB>prediction'")
    predicted: dict[str, str | float] = {}
    for line, fields in rows[1:]:
        if len(fields) != 2:
            raise DataError(f"{path} line {line}: expected 2 tab-separated columns (index, prediction)")
        index, value = fields
        if index in predicted:
            raise DataError(f"{path} line {line}: index {index!r} appears twice")
        if task.labels and value not in task.labels:
            raise DataError(f"{path} line {line}: unknown label {value!r}; {task.name} labels are {list(task.labels)}")
        try:
            predicted[index] = value if task.labels else float(value)
        except ValueError:
            raise DataError(f"{path} line {line}: {value!r} is not a number") from None
    gold_ids = {ex.id for ex in examples}
    missing = [ex.id for ex in examples if ex.id not in predicted]
    extra = [i for i in predicted if i not in gold_ids]
    if missing or extra:
        raise DataError(f"{path}: {len(missing)} gold index(es) have no prediction (e.g. {missing[:3]}) and "
                        f"{len(extra)} prediction index(es) are not in {gold} (e.g. {extra[:3]}); "
                        f"predict the same split")
    return task.compute_metrics([predicted[ex.id] for ex in examples], [ex.label for ex in examples])


GLUE_TASKS: list[GlueTask] = [GlueTask(spec) for spec in SPECS]
_BY_NAME = {task.name: task for task in GLUE_TASKS}


def get_glue_task(name: str) -> GlueTask:
    if name not in _BY_NAME:
        raise ValueError(f"unknown GLUE task {name!r}; known: {', '.join(_BY_NAME)}")
    return _BY_NAME[name]
