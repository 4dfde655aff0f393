"""SQuAD v1.1 and v2.0: extractive question answering over Wikipedia paragraphs.

Data comes from the official files under --data-dir (or --data-dir pointing at one of them),

    train-v1.1.json  dev-v1.1.json  train-v2.0.json  dev-v2.0.json
    {"version", "data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
        "answers": [{"text", "answer_start"}], "is_impossible"?}]}]}]}

or, without --data-dir, from the Hugging Face datasets `rajpurkar/squad` / `rajpurkar/squad_v2`
(rows {id, title, context, question, answers: {text: [...], answer_start: [...]}}; an empty
answer list means "no answer"). A --data-dir without the json files may hold a local copy of
that dataset (plain_text/ or squad_v2/ parquet files, tasks/hub_copy.py), read the same way.

    from albert_bench.tasks.squad import SquadTask
    task = SquadTask("squad_v2")
    examples = task.load("dev", "/data/squad")
    features = task.featurize(examples, tokenizer, max_seq_length=384)

Bad training answers. Like the original code (which skips answers it cannot find in the
paragraph), a TRAIN question whose answer text is not found at its answer_start is left out
and counted in `Examples.skipped` ("answer_start does not match the context"); the run record
shows the count. Dev answers are only ever compared as text by the official scorer, so their
answer_start is not checked. Missing keys (id, question, context, answers) are errors naming
the file and question id.

Features (ALBERT's original squad_utils recipe): the question is cut to max_query_length (64)
tokens; the context is tokenized once with character offsets and cut into windows of at most
max_seq_length - len(question) - 3 tokens, moving by doc_stride (128) tokens:
`[CLS] question [SEP] context-window [SEP]`, token types 0 / 1. The answer's tokens are
labelled when the whole answer lies inside the window; otherwise start = end = 0 ([CLS]) and,
for v2, is_impossible = 1.0 FOR THAT WINDOW (the original code sets `span_is_impossible` on
windows that miss the answer, so ALBERT's verifier learns "no answer in this window").
Per window we keep, for decoding: `context_start` (input position of the first context
token), `offsets` ((start, end) character span of each context token in the original
paragraph) and `max_context` (1 where this window gives the token its most context: the
standard rule, min(left, right) context + 0.01 * window length). Only the context tokens carry
offsets, so the metadata stays small.

Decoding and scoring live in tasks/squad_decode.py.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from albert_bench.metrics import squad as squad_metrics
from albert_bench.io import atomic_write_json
from albert_bench.tasks.common import DataError, DataSource, Examples, Metric, TaskBase, check_whole_number
from albert_bench.tasks import hub_copy, squad_decode

SPLITS = ("train", "dev")
FILES = {
    "v1": {"train": "train-v1.1.json", "dev": "dev-v1.1.json"},
    "v2": {"train": "train-v2.0.json", "dev": "dev-v2.0.json"},
}
HF_IDS = {"v1": "rajpurkar/squad", "v2": "rajpurkar/squad_v2"}
HF_CONFIGS = {"v1": "plain_text", "v2": "squad_v2"}   # the config folders of a local copy of each repo
SPLIT_NAMES = {"train": "train", "dev": "validation"}  # our split -> the Hub's
HF_COLUMNS = ("id", "context", "question", "answers")
SKIP_BAD_START = "answer_start does not match the context"

V1_METRICS = (Metric("exact_match"), Metric("f1"))
V2_METRICS = tuple(Metric(n) for n in (
    "exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1",
    "best_exact", "best_f1")) + tuple(
    # Counts and thresholds are reported but are not scores: no direction.
    Metric(n, higher_is_better=None) for n in (
        "total", "HasAns_total", "NoAns_total", "best_exact_thresh", "best_f1_thresh", "null_threshold"))


@dataclass(frozen=True)
class SquadExample:
    id: str
    title: str
    context: str
    question: str
    answers: tuple[str, ...]        # gold texts (train: one; dev: several, may repeat); () = no answer
    answer_starts: tuple[int, ...]  # character index of each answer in `context`
    is_impossible: bool             # v2 "no answer" question (always False for v1)


@dataclass
class SquadTask(TaskBase):
    """SQuAD v1.1 (name "squad_v1") or v2.0 (name "squad_v2")."""
    name: str = "squad_v1"
    head: str = "question_answering"
    labels: tuple[str, ...] = ()
    train_split: str = "train"
    eval_splits: tuple[str, ...] = ("dev",)
    # The test set is hidden (scored by the benchmark from a predictions file); `predict`
    # writes that file, in the official format, for the dev split.
    test_splits: tuple[str, ...] = ("dev",)
    doc_stride: int = 128          # tokens between window starts (original run_squad)
    max_query_length: int = 64     # question tokens kept
    n_best: int = 20               # start / end candidates per window
    max_answer_length: int = 30    # tokens
    null_threshold: float | None = None  # v2: None = tune on the scored split (best F1); a number = apply it
    version: str = field(init=False)
    metrics: tuple[Metric, ...] = field(init=False)
    main_metric: str = field(init=False, default="f1")
    source: DataSource = field(init=False)
    recipe: str = field(init=False)

    def __post_init__(self) -> None:
        versions = {"squad_v1": "v1", "squad_v2": "v2"}
        if self.name not in versions:
            raise ValueError(f"unknown SQuAD task {self.name!r}; use 'squad_v1' or 'squad_v2'")
        self.version = versions[self.name]
        self.input_settings = ("doc_stride", "max_query_length", "max_answer_length", "n_best") + \
            (("null_threshold",) if self.version == "v2" else ())
        for name in ("doc_stride", "max_query_length", "max_answer_length", "n_best"):
            check_whole_number(self.name, name, getattr(self, name))
        if self.version == "v1" and self.null_threshold is not None:
            raise ValueError("null_threshold applies to squad_v2 only (SQuAD v1.1 always answers)")
        self.metrics = V1_METRICS if self.version == "v1" else V2_METRICS
        self.recipe = self.name
        self.source = DataSource(files=dict(FILES[self.version]), hf_path=HF_IDS[self.version],
                                 hf_splits=dict(SPLIT_NAMES))

    # ---------------------------------------------------------------- loading

    def load(self, split: str, data_dir: str | Path | None) -> Examples:
        if split not in SPLITS:
            raise DataError(f"SQuAD has no split {split!r}; choose one of {', '.join(SPLITS)} "
                            f"(the test set is hidden)")
        if data_dir is None:
            return self._load_hf(split)
        path = Path(data_dir)
        if path.is_dir():
            if not (path / self.source.files[split]).is_file():
                copy = self.hub_copy_dir(path)
                if copy is not None:   # a local copy of the Hub dataset: read as the online path reads it
                    rows = hub_copy.read_split(copy, self.source.hf_path, SPLIT_NAMES[split], HF_COLUMNS,
                                               f"{self.name} split {split!r}")
                    return examples_from_hf_rows(rows, str(copy), is_train=(split == "train"))
            path = path / self.source.files[split]
        if not path.is_file():
            raise DataError(f"SQuAD {self.version} {split} file not found: expected {path} "
                            f"(pass --data-dir holding {self.source.files[split]}, "
                            f"{hub_copy.describe(self.source.hf_path, HF_CONFIGS[self.version])})")
        return read_squad_file(path, is_train=(split == "train"))

    def hub_copy_dir(self, folder: str | Path) -> Path | None:
        """The config folder of a local copy of the Hub dataset under `folder` (tasks/hub_copy.py), or None."""
        return hub_copy.find(folder, self.source.hf_path, HF_CONFIGS[self.version], list(SPLIT_NAMES.values()))

    def _load_hf(self, split: str) -> Examples:
        hf_id, hf_split = self.source.hf_path, self.source.hf_splits[split]
        try:
            import datasets
            rows = datasets.load_dataset(hf_id, split=hf_split)
        except Exception as err:  # offline, missing package, hub error: all need the same fix
            raise DataError(
                f"could not load SQuAD split {split!r} from the Hugging Face dataset {hf_id!r} "
                f"(split {hf_split!r}): {type(err).__name__}: {err}. Offline? Download "
                f"{self.source.files[split]} and pass --data-dir pointing at its folder.") from err
        return examples_from_hf_rows(rows, hf_id, is_train=(split == "train"))

    # ---------------------------------------------------------------- features

    def featurize(self, examples: Sequence[SquadExample], tokenizer: Any, max_seq_length: int) -> list[dict]:
        question_ids = tokenizer.encode_batch([ex.question for ex in examples])  # one batched call
        contexts: dict[str, tuple[list[int], list[tuple[int, int]]]] = {}  # paragraphs repeat per question
        features = []
        for i, ex in enumerate(examples):
            q = list(question_ids[i][: self.max_query_length])
            if ex.context not in contexts:
                ids, offsets = tokenizer.encode_with_offsets(ex.context)
                contexts[ex.context] = (list(ids), [tuple(o) for o in offsets])
            doc_ids, doc_offsets = contexts[ex.context]
            max_doc = max_seq_length - len(q) - 3   # [CLS] q [SEP] window [SEP]
            if max_doc < 1:
                raise ValueError(f"max_seq_length {max_seq_length} leaves no room for the context after a "
                                 f"{len(q)}-token question; use at least {len(q) + 4}")
            spans = doc_windows(len(doc_ids), max_doc, self.doc_stride)
            best_window = max_context_windows(len(doc_ids), spans)    # (doc_len,) window index per token
            answer = None if ex.is_impossible or not ex.answers else \
                char_span_to_tokens(doc_offsets, ex.answer_starts[0], ex.answer_starts[0] + len(ex.answers[0]))
            for w, (ws, wl) in enumerate(spans):
                input_ids, token_type_ids = tokenizer.build_inputs(q, doc_ids[ws: ws + wl])
                context_start = len(q) + 2
                start = end = 0          # [CLS]: no answer in this window
                if answer is not None and ws <= answer[0] and answer[1] < ws + wl:
                    start, end = answer[0] - ws + context_start, answer[1] - ws + context_start
                feature = {
                    "input_ids": list(input_ids), "token_type_ids": list(token_type_ids),
                    "example_index": i,
                    "start_positions": start, "end_positions": end,
                    "context_start": context_start,
                    "offsets": doc_offsets[ws: ws + wl],                      # (wl,) char spans
                    "max_context": (best_window[ws: ws + wl] == w).astype(np.int8).tolist(),  # (wl,)
                }
                if self.version == "v2":
                    feature["is_impossible"] = float(start == 0)
                features.append(feature)
        return features

    # ---------------------------------------------------------------- scoring

    def score(self, examples: Sequence[SquadExample], features: Sequence[dict],
              outputs: dict[str, list]) -> tuple[dict[str, float], list[dict]]:
        return squad_decode.score(self, examples, features, outputs)

    def score_file(self, data: str | Path, predictions: str | Path, na_probs: str | Path | None = None,
                   split: str | None = None) -> dict[str, float]:
        """The official evaluation script: a dataset json (or --data-dir holding the dev file),
        predictions.json and, for v2, null_odds.json (its best_* need them)."""
        path = Path(data)
        if na_probs is not None and self.version == "v1":
            raise DataError(f"--na-probs is for SQuAD v2.0 only; {self.name} takes --data and --predictions")
        if path.is_dir():
            if not (path / self.source.files[split or "dev"]).is_file() and self.hub_copy_dir(path) is not None:
                return self._score_hub_copy(path, split or "dev", predictions, na_probs)
            path = path / self.source.files[split or "dev"]
        try:
            return squad_metrics.score_files(path, predictions, na_probs, version=self.version)
        except (FileNotFoundError, ValueError) as err:
            raise DataError(str(err)) from err

    def _score_hub_copy(self, folder: Path, split: str, predictions: str | Path,
                        na_probs: str | Path | None) -> dict[str, float]:
        """The official scoring of a local Hub copy: the same gold texts the json would give
        (every dev answer, none for a v2 unanswerable question), the same scorer."""
        golds = {ex.id: list(ex.answers) for ex in self.load(split, folder)}
        preds = _read_json_object(predictions, "predictions file (id -> answer text)")
        if self.version == "v1":
            return squad_metrics.squad_v1(golds, preds)
        odds = None if na_probs is None else _read_json_object(na_probs, "null-odds file (id -> float)")
        try:
            return squad_metrics.squad_v2(golds, preds, odds)
        except ValueError as err:
            raise DataError(f"{predictions}: {err}") from err

    def write_predictions(self, split: str, predictions: Sequence[dict], output_dir: str | Path) -> list[Path]:
        """The official files: predictions.json (id -> text, "" for no answer) and, for v2,
        null_odds.json (id -> the null odds the threshold was applied to)."""
        out = Path(output_dir)
        paths = [atomic_write_json(out / "predictions.json", {p["id"]: p["prediction"] for p in predictions})]
        if self.version == "v2":
            paths.append(atomic_write_json(out / "null_odds.json", {p["id"]: float(p["na_prob"]) for p in predictions}))
        return paths


# -------------------------------------------------------------------- windows and offsets

def doc_windows(doc_len: int, max_doc: int, doc_stride: int) -> list[tuple[int, int]]:
    """(start, length) of each context window: up to max_doc tokens, the next window starting
    min(length, doc_stride) tokens later, until one reaches the end of the context."""
    spans, start = [], 0
    while True:
        length = min(doc_len - start, max_doc)
        spans.append((start, length))
        if start + length >= doc_len:
            return spans
        start += min(length, doc_stride)


def max_context_windows(doc_len: int, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """For each context token, the window where it has the most context: the highest
    min(left, right) + 0.01 * window length, first window winning ties."""
    best_score = np.full(doc_len, -np.inf)
    best = np.zeros(doc_len, dtype=np.int64)
    for w, (ws, wl) in enumerate(spans):
        pos = np.arange(ws, ws + wl)
        score = np.minimum(pos - ws, ws + wl - 1 - pos) + 0.01 * wl
        better = score > best_score[pos]
        best_score[pos[better]] = score[better]
        best[pos[better]] = w
    return best


def char_span_to_tokens(offsets: Sequence[tuple[int, int]], char_start: int, char_end: int) -> tuple[int, int] | None:
    """First and last token overlapping the characters [char_start, char_end); None if none."""
    inside = [t for t, (s, e) in enumerate(offsets) if s < char_end and e > char_start]
    return (inside[0], inside[-1]) if inside else None


# -------------------------------------------------------------------- reading the data

def _read_json_object(path: str | Path, what: str) -> dict:
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"cannot read the {what} {path}: {err}") from err
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected one JSON object, the {what}")
    return obj


def read_squad_file(path: Path, is_train: bool) -> Examples:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not valid SQuAD JSON ({err})") from err
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise DataError(f"{path}: expected a JSON object with a 'data' list of articles (official SQuAD format)")
    rows = []
    for a, article in enumerate(obj["data"]):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise DataError(f"{path}: article {a} has no 'paragraphs' list")
        for p, paragraph in enumerate(article["paragraphs"]):
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str) \
                    or not isinstance(paragraph.get("qas"), list):
                raise DataError(f"{path}: article {a} paragraph {p} needs a string 'context' and a 'qas' list")
            for n, qa in enumerate(paragraph["qas"]):
                if not isinstance(qa, dict):
                    raise DataError(f"{path}: article {a} paragraph {p} question {n} is not an object")
                where = f"{path}: question {qa.get('id', f'#{n} of article {a} paragraph {p}')!r}"
                answers = qa.get("answers")
                if answers is None:
                    raise DataError(f"{where} has no 'answers' list (use [] with \"is_impossible\": true "
                                    f"for v2 questions without an answer)")
                if not isinstance(answers, list) or not all(isinstance(x, dict) for x in answers):
                    raise DataError(f"{where}: 'answers' must be a list of {{text, answer_start}} objects")
                rows.append(dict(id=qa.get("id"), title=article.get("title", ""), context=paragraph["context"],
                                 question=qa.get("question"), is_impossible=qa.get("is_impossible", False),
                                 texts=[x.get("text") for x in answers],
                                 starts=[x.get("answer_start") for x in answers], where=where))
    return _make_examples(rows, is_train, str(path))


def examples_from_hf_rows(rows: Any, hf_id: str, is_train: bool) -> Examples:
    """Map rajpurkar/squad(_v2) rows to examples; an empty answer list is a v2 'no answer'."""
    out = []
    for n, row in enumerate(rows):
        answers = row.get("answers") or {}
        texts = list(answers.get("text") or [])
        out.append(dict(id=row.get("id"), title=row.get("title") or "", context=row.get("context"),
                        question=row.get("question"), is_impossible=not texts, texts=texts,
                        starts=list(answers.get("answer_start") or []),
                        where=f"{hf_id} row {n} (id {row.get('id')!r})"))
    return _make_examples(out, is_train, hf_id)


def _make_examples(rows: list[dict], is_train: bool, source: str) -> Examples:
    examples, seen, bad_start = [], set(), 0
    for r in rows:
        where = r["where"]
        if not isinstance(r["id"], str) or not r["id"]:
            raise DataError(f"{where} has no 'id'")
        if r["id"] in seen:
            raise DataError(f"{where}: id {r['id']!r} occurs twice in {source}; ids must be unique")
        seen.add(r["id"])
        if not isinstance(r["question"], str):
            raise DataError(f"{where} has no 'question' string")
        if not isinstance(r["context"], str):
            raise DataError(f"{where} has no 'context' string")
        if not isinstance(r["is_impossible"], bool):
            raise DataError(f"{where}: 'is_impossible' must be true or false, got {r['is_impossible']!r}")
        texts, starts = r["texts"], r["starts"]
        if r["is_impossible"]:
            texts, starts = [], []   # v2 "plausible_answers" are not gold answers
        if len(texts) != len(starts) or not all(isinstance(t, str) for t in texts) \
                or not all(isinstance(s, int) and not isinstance(s, bool) for s in starts):
            raise DataError(f"{where}: each answer needs a string 'text' and an integer 'answer_start'")
        if not r["is_impossible"] and not texts:
            raise DataError(f"{where} has an empty 'answers' list but is not marked \"is_impossible\": true")
        if is_train and texts:
            # The original code trains on the first answer and skips it when it is not found.
            s, t = starts[0], texts[0]
            if r["context"][s: s + len(t)] != t:
                bad_start += 1
                continue
        examples.append(SquadExample(r["id"], r["title"], r["context"], r["question"],
                                     tuple(texts), tuple(starts), r["is_impossible"]))
    skipped = [{"reason": SKIP_BAD_START, "count": bad_start}] if bad_start else []
    return Examples(examples, skipped=skipped)
