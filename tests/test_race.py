"""RACE task: official-layout loading, the Hugging Face row mapping, bad-data errors,
featurization (blank filling, truncation, batched tokenization), scoring, predictions."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from albert_bench.tasks.common import DataError
from albert_bench.tasks.race import RaceTask, question_option


class WordTokenizer:
    """Stand-in with the AlbertTokenizer calls RACE uses: one id per whitespace word,
    [CLS]=2 [SEP]=3; counts encode_batch calls and texts to check batching."""

    def __init__(self):
        self.vocab: dict[str, int] = {}
        self.batch_calls: list[int] = []

    def encode_batch(self, texts):
        self.batch_calls.append(len(texts))
        return [[self.vocab.setdefault(w, 5 + len(self.vocab)) for w in t.lower().split()] for t in texts]

    def build_inputs(self, ids_a, ids_b=None):
        ids = [2] + list(ids_a) + [3]
        types = [0] * len(ids)
        if ids_b is not None:
            ids += list(ids_b) + [3]
            types += [1] * (len(ids_b) + 1)
        return ids, types


def write_race_file(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")


def article_obj(file_id: str, n_questions: int = 2, answers=("B", "D")) -> dict:
    return {
        "id": file_id,
        "article": "Tom has a red bike . Ann lives in Paris .",
        "questions": ["What color is the bike of Tom ?", "Ann lives in _ ."][:n_questions],
        "options": [["blue", "red", "green", "black"], ["Rome", "Oslo", "Lima", "Paris"]][:n_questions],
        "answers": list(answers)[:n_questions],
    }


@pytest.fixture
def race_dir(tmp_path) -> Path:
    root = tmp_path / "RACE"
    for split in ("train", "dev", "test"):
        write_race_file(root / split / "middle" / "1.txt", article_obj("middle1.txt"))
        write_race_file(root / split / "high" / "7.txt", article_obj("high7.txt", 1, answers=("A",)))
    return root


def test_load_official_layout(race_dir):
    task = RaceTask()
    examples = task.load("dev", race_dir)
    assert [ex.id for ex in examples] == ["middle1.txt-0", "middle1.txt-1", "high7.txt-0"]
    assert [ex.level for ex in examples] == ["middle", "middle", "high"]
    assert [ex.label for ex in examples] == ["B", "D", "A"]
    assert examples[1].options == ("Rome", "Oslo", "Lima", "Paris")
    # The parent folder (holding RACE/) works too.
    assert [ex.id for ex in task.load("train", race_dir.parent)] == [ex.id for ex in examples]


def test_task_protocol_fields():
    task = RaceTask()
    assert task.head == "multiple_choice" and task.labels == ("A", "B", "C", "D")
    assert [m.name for m in task.metrics] == ["accuracy", "accuracy_middle", "accuracy_high"]
    assert task.main_metric == "accuracy" and task.recipe == "race"
    assert task.source.hf_path == "ehovy/race" and task.source.hf_splits["dev"] == "validation"


def test_missing_folder_names_expected_path(tmp_path):
    with pytest.raises(DataError, match=r"dev.*not found.*RACE/\{train,dev,test\}"):
        RaceTask().load("dev", tmp_path / "nowhere")
    (tmp_path / "RACE" / "dev").mkdir(parents=True)
    with pytest.raises(DataError, match="no RACE files"):
        RaceTask().load("dev", tmp_path / "RACE")


def test_bad_json_names_file(race_dir):
    bad = race_dir / "dev" / "high" / "9.txt"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match=r"9\.txt.*not a valid RACE JSON"):
        RaceTask().load("dev", race_dir)


@pytest.mark.parametrize("patch, pattern", [
    ({"options": [["a", "b", "c", "d"], ["a", "b", "c"]]}, r"5\.txt: question 1: expected 4 option"),
    ({"answers": ["B", "E"]}, r"5\.txt: question 1: answer 'E'"),
    ({"answers": ["B"]}, r"5\.txt: 2 questions but 2 option lists and 1 answers"),
    ({"options": [["a", "b", "c", "d"]]}, r"5\.txt: 2 questions but 1 option lists"),
])
def test_bad_fields_name_file_and_question(race_dir, patch, pattern):
    obj = article_obj("high5.txt")
    obj.update(patch)
    write_race_file(race_dir / "dev" / "high" / "5.txt", obj)
    with pytest.raises(DataError, match=pattern):
        RaceTask().load("dev", race_dir)


def test_unknown_split():
    with pytest.raises(DataError, match="no split 'validation'"):
        RaceTask().load("validation", "/tmp")


def test_question_option_blank_and_append():
    assert question_option("Ann lives in _ .", "Paris") == "Ann lives in Paris ."
    assert question_option("_ and _ met.", "Bo") == "Bo and Bo met."   # every "_", like str.replace
    assert question_option("Where does Ann live?", "Paris") == "Where does Ann live? Paris"


def test_featurize_inputs_and_batching(race_dir):
    task = RaceTask()
    examples = task.load("dev", race_dir)
    tok = WordTokenizer()
    features = task.featurize(examples, tok, max_seq_length=64)
    # Articles once per example, question-options once per option: two batched calls.
    assert tok.batch_calls == [3, 12]
    f = features[1]
    assert f["labels"] == 3 and f["example_index"] == 1
    assert len(f["input_ids"]) == 4 and len(f["token_type_ids"]) == 4
    art = tok.encode_batch([examples[1].article])[0]
    qa = tok.encode_batch(["Ann lives in Paris ."])[0]
    assert f["input_ids"][3] == [2] + art + [3] + qa + [3]
    assert f["token_type_ids"][3] == [0] * (len(art) + 2) + [1] * (len(qa) + 1)


def test_featurize_truncation_keeps_last_qa_tokens():
    from albert_bench.tasks.race import RaceExample
    article = " ".join(f"a{i}" for i in range(300))
    question = " ".join(f"q{i}" for i in range(200))
    ex = RaceExample("x-0", article, question, ("o1", "o2", "o3", "o4"), "C", "high")
    tok = WordTokenizer()
    f = RaceTask().featurize([ex], tok, max_seq_length=160)[0]
    ids = f["input_ids"][2]
    assert len(ids) == 160
    inv = {v: k for k, v in tok.vocab.items()}
    words = [inv.get(i, f"<{i}>") for i in ids]
    sep = words.index("<3>")
    qa_words = words[sep + 1:-1]
    assert len(qa_words) == 128 and qa_words[-1] == "o3" and qa_words[0] == "q73"   # the LAST 128 kept
    assert words[1:sep] == [f"a{i}" for i in range(160 - 3 - 128)]                   # article head kept
    # A short max_seq_length still fits [CLS] [SEP] [SEP].
    short = RaceTask().featurize([ex], tok, max_seq_length=20)[0]
    assert all(len(ids) == 20 for ids in short["input_ids"])


def test_score_accuracy_by_level_and_predictions(race_dir, tmp_path):
    task = RaceTask()
    examples = task.load("dev", race_dir)          # gold B, D (middle), A (high)
    features = task.featurize(examples, WordTokenizer(), 64)
    logits = [np.array([0, 1, 0, 0.]), np.array([0, 2, 0, 1.]), np.array([3, 0, 0, 0.])]
    metrics, preds = task.score(examples, features, {"logits": logits})
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["accuracy_middle"] == pytest.approx(0.5)
    assert metrics["accuracy_high"] == pytest.approx(1.0)
    assert preds[1] == {"id": "middle1.txt-1", "prediction": "B", "label": "D", "level": "middle"}
    paths = task.write_predictions("test", preds, tmp_path / "out")
    assert json.loads(paths[0].read_text()) == {"middle1.txt-0": "B", "middle1.txt-1": "B", "high7.txt-0": "A"}


def test_unlabelled_files_give_no_metrics(tmp_path):
    obj = article_obj("middle3.txt")
    del obj["answers"]
    write_race_file(tmp_path / "RACE" / "test" / "middle" / "3.txt", obj)
    task = RaceTask()
    examples = task.load("test", tmp_path)
    features = task.featurize(examples, WordTokenizer(), 64)
    assert all("labels" not in f for f in features)
    metrics, preds = task.score(examples, features, {"logits": [np.eye(4)[0], np.eye(4)[2]]})
    assert metrics == {} and [p["prediction"] for p in preds] == ["A", "C"]


def test_hf_rows_mapping(monkeypatch):
    datasets = pytest.importorskip("datasets")
    rows = {
        "example_id": ["high10.txt", "high10.txt", "middle4.txt"],
        "article": ["Art one.", "Art one.", "Art two."],
        "answer": ["C", "A", "D"],
        "question": ["Q1?", "Q2 _ .", "Q3?"],
        "options": [["a", "b", "c", "d"], ["e", "f", "g", "h"], ["i", "j", "k", "l"]],
    }
    calls = []

    def fake_load_dataset(path, name=None, split=None, **kw):
        calls.append((path, name, split))
        return datasets.Dataset.from_dict(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    examples = RaceTask().load("dev", None)
    assert calls == [("ehovy/race", "all", "validation")]
    # In the official reader's order (middle, then high; files by name), not the Hub's row order.
    assert [ex.id for ex in examples] == ["middle4.txt-0", "high10.txt-0", "high10.txt-1"]
    assert [ex.level for ex in examples] == ["middle", "high", "high"]
    assert [ex.label for ex in examples] == ["D", "C", "A"]
    assert examples[2].options == ("e", "f", "g", "h") and examples[2].question == "Q2 _ ."


def test_hf_offline_error_names_id_and_flag(monkeypatch):
    datasets = pytest.importorskip("datasets")

    def offline(*a, **kw):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match=r"ehovy/race.*--data-dir"):
        RaceTask().load("train", None)


def test_real_tokenizer_if_available(race_dir, tmp_path):
    tk = pytest.importorskip("albert_bench.modeling.tokenizer")
    corpus = ["tom has a red bike . ann lives in paris . what color is the bike ?"] * 50
    spm = tk.train_sentencepiece(corpus, tmp_path / "spm", vocab_size=60)
    tok = tk.AlbertTokenizer(str(spm))
    task = RaceTask()
    feats = task.featurize(task.load("dev", race_dir), tok, 32)
    for f in feats:
        for ids, types in zip(f["input_ids"], f["token_type_ids"]):
            assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
            assert len(ids) == len(types) <= 32


def test_score_file_against_gold(race_dir, tmp_path):
    task = RaceTask()
    preds = tmp_path / "RACE-dev.json"
    preds.write_text(json.dumps({"middle1.txt-0": "B", "middle1.txt-1": "A", "high7.txt-0": "A"}))
    metrics = task.score_file(race_dir, preds)                 # RACE folder, default split dev
    assert metrics == pytest.approx({"accuracy": 2 / 3, "accuracy_middle": 0.5, "accuracy_high": 1.0})
    assert task.score_file(race_dir / "dev", preds) == metrics  # a split folder works too
    preds.write_text(json.dumps({"middle1.txt-0": "B"}))
    with pytest.raises(DataError, match="no prediction for 2 of 3"):
        task.score_file(race_dir, preds)
    preds.write_text(json.dumps({"middle1.txt-0": "B", "middle1.txt-1": "E", "high7.txt-0": "A"}))
    with pytest.raises(DataError, match="'E' for middle1.txt-1"):
        task.score_file(race_dir, preds)
    assert task.get_recipe("paper", version="v2").lr == 1e-5   # TaskBase: the v2 RACE exception
