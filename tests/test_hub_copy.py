"""--data-dir on a local copy of a task's Hugging Face dataset (the parquet files that
`huggingface-cli download <id> --repo-type dataset --local-dir DIR` gives): the same rows in the
official files and in the Hub's layout and feature types must give the same examples, scores
and fine-tuning record."""
import json
from pathlib import Path

import numpy as np
import pytest

datasets = pytest.importorskip("datasets")
from datasets import ClassLabel, Dataset, Features, Sequence, Value  # noqa: E402

from albert_bench.suite import plan as suite_plan  # noqa: E402
from albert_bench.tasks import get_task  # noqa: E402
from albert_bench.tasks.common import DataError  # noqa: E402

SHARD = "-00000-of-00001.parquet"
NLI2 = ["entailment", "not_entailment"]
MNLI_HUB = ["entailment", "neutral", "contradiction"]   # nyu-mll/glue's order, not ours


@pytest.fixture(autouse=True)
def offline_cache(tmp_path, monkeypatch):
    """datasets caches what it reads: keep that out of the user's cache, and stay offline."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", Path(tmp_path / "hf_cache"))
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def parquet(path: Path, columns: dict, features: Features) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Dataset.from_dict(columns, features=features).to_parquet(str(path))


def tsv(path: Path, header, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("\t".join(map(str, r)) + "\n" for r in ([header] if header else []) + rows),
                    encoding="utf-8")


def pair_features(a, b, label) -> Features:
    return Features({a: Value("string"), b: Value("string"), "label": label, "idx": Value("int32")})


# ---------------------------------------------------------------- the same rows, twice

def write_rte(official: Path, hub: Path) -> None:
    """RTE: train / validation / test (label -1); the official files hold label names."""
    splits = {"train": (["A man eats.", '"Quoted," he said.', "Dogs bark."], ["A person eats.", "He said it.",
                                                                             "Cats bark."], [0, 0, 1]),
              "validation": ([f"premise {i}" for i in range(5)], [f"hypothesis {i}" for i in range(5)], [0, 1, 1, 0, 1]),
              "test": (["p 0", "p 1"], ["h 0", "h 1"], [-1, -1])}
    feats = pair_features("sentence1", "sentence2", ClassLabel(names=NLI2))
    for split, (s1, s2, labels) in splits.items():
        parquet(hub / "rte" / f"{split}{SHARD}", {"sentence1": s1, "sentence2": s2, "label": labels,
                                                  "idx": list(range(len(s1)))}, feats)
        name = {"validation": "dev"}.get(split, split)
        if split == "test":
            tsv(official / "RTE" / "test.tsv", ["index", "sentence1", "sentence2"],
                [[i, a, b] for i, (a, b) in enumerate(zip(s1, s2))])
        else:
            tsv(official / "RTE" / f"{name}.tsv", ["index", "sentence1", "sentence2", "label"],
                [[i, a, b, NLI2[y]] for i, (a, b, y) in enumerate(zip(s1, s2, labels))])


def write_mnli(official: Path, hub: Path) -> None:
    """MNLI with its two dev splits; the Hub's label ids are entailment=0, neutral=1, contradiction=2."""
    head = ["index", "promptID", "pairID", "genre", "sentence1", "sentence2", "label1", "gold_label"]
    feats = pair_features("premise", "hypothesis", ClassLabel(names=MNLI_HUB))
    for split, labels in {"train": [0, 1, 2, 2], "validation_matched": [2, 0, 1],
                          "validation_mismatched": [1, 1, 0, 2, 0]}.items():
        premise = [f"{split} premise {i}" for i in range(len(labels))]
        hypothesis = [f"{split} hypothesis {i}" for i in range(len(labels))]
        idx = [10 * i + 3 for i in range(len(labels))]
        parquet(hub / "mnli" / f"{split}{SHARD}", {"premise": premise, "hypothesis": hypothesis, "label": labels,
                                                   "idx": idx}, feats)
        name = split.replace("validation", "dev")
        tsv(official / "MNLI" / f"{name}.tsv", head, [[i, 1, f"{i}n", "fiction", p, h, MNLI_HUB[y], MNLI_HUB[y]]
                                                      for i, p, h, y in zip(idx, premise, hypothesis, labels)])


def write_stsb(official: Path, hub: Path) -> None:
    """STS-B: float32 scores on the Hub (as nyu-mll/glue stores them; -1 on test), 3 decimals in the files."""
    head = ["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2"]
    feats = pair_features("sentence1", "sentence2", Value("float32"))
    splits = {"train": [5.0, 3.8, 0.6], "validation": [4.75, 3.8, 0.6, 2.25, 1.667, 0.0], "test": [-1.0, -1.0]}
    for split, scores in splits.items():
        s1 = [f"a man {i} {split}" for i in range(len(scores))]
        s2 = [f"a person {i}" for i in range(len(scores))]
        parquet(hub / "stsb" / f"{split}{SHARD}", {"sentence1": s1, "sentence2": s2, "label": scores,
                                                   "idx": list(range(len(scores)))}, feats)
        rows = [[i, "main-captions", "MSRvid", "2012test", f"{i:04d}", "none", "none", a, b]
                for i, (a, b) in enumerate(zip(s1, s2))]
        if split == "test":
            tsv(official / "STS-B" / "test.tsv", head, rows)
        else:
            tsv(official / "STS-B" / ("dev.tsv" if split == "validation" else "train.tsv"), head + ["score"],
                [row + [f"{y:.3f}"] for row, y in zip(rows, scores)])


CONTEXT = "The tower is 324 metres tall. It was built in 1889 by Gustave Eiffel for the fair."
SQUAD_ROWS = {   # (id, question, gold answer texts): none is v2's "no answer"
    "train": [("t1", "How tall is the tower?", ["324 metres"]), ("t2", "Who built it?", ["Gustave Eiffel"]),
              ("t3", "What colour is it?", [])],
    "validation": [("d1", "When was it built?", ["1889", "in 1889"]),
                   ("d2", "Who built the tower?", ["Gustave Eiffel", "Eiffel"]),
                   ("d3", "Who painted it?", []), ("d4", "How tall?", ["324 metres"]),
                   ("d5", "Where is the river?", [])]}


def write_squad_v2(official: Path, hub: Path) -> None:
    feats = Features({"id": Value("string"), "title": Value("string"), "context": Value("string"),
                      "question": Value("string"),
                      "answers": Sequence({"text": Value("string"), "answer_start": Value("int32")})})
    for split, rows in SQUAD_ROWS.items():
        rows = [(q, text, [(t, CONTEXT.index(t)) for t in answers]) for q, text, answers in rows]
        parquet(hub / "squad_v2" / f"{split}{SHARD}", {
            "id": [r[0] for r in rows], "title": ["Tower"] * len(rows), "context": [CONTEXT] * len(rows),
            "question": [r[1] for r in rows],
            "answers": [{"text": [t for t, _ in r[2]], "answer_start": [s for _, s in r[2]]} for r in rows]}, feats)
        qas = [{"id": q, "question": text, "is_impossible": not answers,
                "answers": [{"text": t, "answer_start": s} for t, s in answers],
                **({"plausible_answers": [{"text": "the fair", "answer_start": CONTEXT.index("the fair")}]} if not answers else {})}
               for q, text, answers in rows]
        name = "train-v2.0.json" if split == "train" else "dev-v2.0.json"
        official.mkdir(parents=True, exist_ok=True)
        (official / name).write_text(json.dumps({"version": "v2.0", "data": [
            {"title": "Tower", "paragraphs": [{"context": CONTEXT, "qas": qas}]}]}), encoding="utf-8")


RACE_FILES = {   # split -> [(file id, level, article, [(question, options, answer)])]
    "train": [("middle1.txt", "middle", "Tom has a red ball.", [("Tom has a _ ball.", ["red", "blue", "big", "old"], "A"),
                                                                ("What does Tom have?", ["a cat", "a ball", "a dog", "a car"], "B")])],
    "validation": [("high7.txt", "high", "Paris is the capital of France.",
                    [("Paris is the capital of _.", ["Spain", "Italy", "France", "Peru"], "C"),
                     ("Which city is named?", ["Rome", "Paris", "Lima", "Oslo"], "B"),
                     ("The text is about", ["food", "sport", "music", "a city"], "D")]),
                   ("middle3.txt", "middle", "Ann reads every night.",
                    [("When does Ann read?", ["at night", "at noon", "never", "in class"], "A")])],
    "test": [("high9.txt", "high", "Rain falls.", [("What falls?", ["rain", "snow", "hail", "ash"], "A")])]}


def write_race(official: Path, hub: Path) -> None:
    feats = Features({"example_id": Value("string"), "article": Value("string"), "answer": Value("string"),
                      "question": Value("string"), "options": [Value("string")]})
    for split, files in RACE_FILES.items():
        # Rows in the Hub's own order (high before middle); the reader orders them as the official files.
        rows = [(fid, art, q, opts, ans) for fid, _, art, qs in files for q, opts, ans in qs]
        parquet(hub / "all" / f"{split}{SHARD}", {
            "example_id": [r[0] for r in rows], "article": [r[1] for r in rows], "answer": [r[4] for r in rows],
            "question": [r[2] for r in rows], "options": [r[3] for r in rows]}, feats)
        for fid, level, article, qs in files:
            path = official / "RACE" / {"validation": "dev"}.get(split, split) / level / fid
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"id": fid, "article": article, "questions": [q for q, _, _ in qs],
                                        "options": [o for _, o, _ in qs], "answers": [a for _, _, a in qs]}))


WRITERS = {"rte": (write_rte, "glue"), "mnli": (write_mnli, "glue"), "stsb": (write_stsb, "glue"),
           "squad_v2": (write_squad_v2, "squad_v2"), "race": (write_race, "race")}


@pytest.fixture
def both(tmp_path):
    """official/ in the benchmarks' own layouts, hub/ as `huggingface-cli download` lays out each repo."""
    official, hub = tmp_path / "official", tmp_path / "hub"
    for name, (write, repo) in WRITERS.items():
        write(official / ("SQuAD" if repo == "squad_v2" else ""), hub / repo)
    return official, hub


def _dirs(task, official: Path, hub: Path) -> tuple[Path, Path]:
    repo = WRITERS[task.name][1]
    return (official / "SQuAD" if repo == "squad_v2" else official), hub / repo


def _splits(task):
    return (task.train_split, *task.eval_splits, *(s for s in task.test_splits if s not in task.eval_splits))


@pytest.mark.parametrize("name", list(WRITERS))
def test_same_examples_from_both_layouts(both, name):
    task = get_task(name)
    official, hub = _dirs(task, *both)
    for split in _splits(task):
        if name == "mnli" and split.startswith("test"):
            continue   # not written
        from_files, from_hub = task.load(split, official), task.load(split, hub)
        assert len(from_files) > 0 and list(from_hub) == list(from_files), (name, split)
        assert from_hub.skipped == from_files.skipped
    if name == "stsb":   # float32 on the Hub, yet the file's scores exactly
        assert [ex.label for ex in task.load("dev", hub)] == [4.75, 3.8, 0.6, 2.25, 1.667, 0.0]
    if name == "mnli":   # the Hub's ids mapped to names; ids are the idx column
        ex = task.load("dev_matched", hub)
        assert [e.label for e in ex] == ["contradiction", "entailment", "neutral"] and ex[0].id == "3"


@pytest.mark.parametrize("name", list(WRITERS))
def test_same_scores_for_the_same_predictions(both, name, tiny_checkpoint):
    from albert_bench.engine.runs import load_tokenizer
    task = get_task(name)
    tok = load_tokenizer(None, str(tiny_checkpoint[2]))
    official, hub = _dirs(task, *both)
    for split in task.eval_splits:
        results = []
        for folder in (official, hub):
            examples = task.load(split, folder)
            features = task.featurize(examples, tok, 64)
            rng = np.random.default_rng(0)   # the same "model" for both
            if task.head == "question_answering":
                outputs = {k: [rng.normal(size=len(f["input_ids"])) for f in features]
                           for k in ("start_logits", "end_logits")}
            else:
                width = {"multiple_choice": 4, "regression": 1}.get(task.head, len(task.labels))
                outputs = {"logits": [rng.normal(size=width) for _ in features]}
            results.append(task.score(examples, features, outputs))
        (metrics_files, preds_files), (metrics_hub, preds_hub) = results
        assert metrics_files and metrics_hub == metrics_files and preds_hub == preds_files, (name, split)


def test_score_file_against_a_hub_copy(both, tmp_path):
    """`albert-bench score --data <copy>` gives the official script's numbers, null odds included."""
    task = get_task("squad_v2")
    official, hub = both
    preds = tmp_path / "predictions.json"
    odds = tmp_path / "null_odds.json"
    preds.write_text(json.dumps({"d1": "1889", "d2": "Eiffel", "d3": "Picasso", "d4": "", "d5": ""}))
    odds.write_text(json.dumps({"d1": 0.1, "d2": 0.4, "d3": 0.2, "d4": 0.9, "d5": 0.8}))
    assert task.score_file(hub / "squad_v2", preds, odds) == task.score_file(official / "SQuAD", preds, odds)
    race = get_task("race")
    (tmp_path / "race.json").write_text(json.dumps({"high7.txt-0": "C", "high7.txt-1": "A", "high7.txt-2": "D",
                                                    "middle3.txt-0": "A"}))
    assert race.score_file(hub / "race", tmp_path / "race.json") == \
        race.score_file(official, tmp_path / "race.json") == {"accuracy": 0.75, "accuracy_middle": 1.0,
                                                               "accuracy_high": 2 / 3}


@pytest.mark.parametrize("where", ["repo", "config", "root", "data_subfolder", "split_folders"])
def test_layouts_accepted(tmp_path, where):
    """The repo folder, its config folder, a root holding glue/, the data/<config>/ variant and
    the Hub's refs/convert/parquet layout (<config>/<split>/0000.parquet) all read the same."""
    official, hub = tmp_path / "official", tmp_path / "copy"
    write_rte(official, hub / "glue")
    task = get_task("rte")
    if where == "data_subfolder":
        (hub / "glue" / "data").mkdir()
        (hub / "glue" / "rte").rename(hub / "glue" / "data" / "rte")
    if where == "split_folders":
        for f in sorted((hub / "glue" / "rte").glob("*.parquet")):
            (f.parent / f.name.split("-")[0]).mkdir()
            f.rename(f.parent / f.name.split("-")[0] / "0000.parquet")
    data_dir = {"config": hub / "glue" / "rte", "root": hub}.get(where, hub / "glue")
    assert list(task.load("dev", data_dir)) == list(task.load("dev", official))
    assert list(task.load("test", data_dir)) == list(task.load("test", official))


def test_missing_split_names_folder_found_files_and_expected(both):
    official, hub = both
    (hub / "glue" / "mnli" / f"validation_mismatched{SHARD}").unlink()
    with pytest.raises(DataError) as err:
        get_task("mnli").load("dev_mismatched", hub / "glue")
    message = str(err.value)
    assert str(hub / "glue" / "mnli") in message and "validation_mismatched" in message
    assert f"validation_matched{SHARD}" in message and f"train{SHARD}" in message        # what it found
    assert str(hub / "glue" / "mnli" / "validation_mismatched-*.parquet") in message     # what it expected
    assert "huggingface-cli download nyu-mll/glue" in message
    get_task("mnli").load("dev_matched", hub / "glue")   # the other splits still load


def test_wrong_columns_and_no_copy_errors(tmp_path):
    parquet(tmp_path / "rte" / f"validation{SHARD}", {"text": ["x"], "label": [0]},
            Features({"text": Value("string"), "label": ClassLabel(names=NLI2)}))
    with pytest.raises(DataError, match=r"no column\(s\) \['sentence1', 'sentence2', 'idx'\].*copy of nyu-mll/glue"):
        get_task("rte").load("dev", tmp_path)
    # Nothing of either kind: the official error, which now also names the Hub copy.
    with pytest.raises(DataError, match=r"RTE.*huggingface-cli download nyu-mll/glue"):
        get_task("rte").load("dev", tmp_path / "empty")
    with pytest.raises(DataError, match=r"dev-v2.0.json.*rajpurkar/squad_v2"):
        get_task("squad_v2").load("dev", tmp_path)


def test_suite_data_root_holding_hub_copies(both, tmp_path):
    """suite --data-root: each task's hub copy (glue/<config>, squad_v2/squad_v2, race/all) when
    the official folder is absent; the official folder still wins where it is there."""
    official, hub = both
    jobs = suite_plan.plan("m", "rte,stsb,mnli,squad_v2,race", "1", data_root=hub, get_task=get_task)
    assert {j.task: j.data_dir for j in jobs} == {
        "rte": str(hub / "glue" / "rte"), "stsb": str(hub / "glue" / "stsb"), "mnli": str(hub / "glue" / "mnli"),
        "squad_v2": str(hub / "squad_v2" / "squad_v2"), "race": str(hub / "race" / "all")}
    for job in jobs:
        task = get_task(job.task)
        assert list(task.load(task.eval_splits[0], job.data_dir)) == \
            list(task.load(task.eval_splits[0], _dirs(task, official, hub)[0]))
    (hub / "RTE").symlink_to(official / "RTE")
    assert suite_plan.task_data_dir(get_task("rte"), hub) == str(hub / "RTE")


def test_finetune_on_a_hub_copy_records_the_same_metrics(tmp_path, tiny_checkpoint):
    """A short fine-tune through runs.finetune: the demo's RTE TSV rows, rewritten as a Hub copy."""
    from albert_bench.engine import runs
    from albert_bench.tasks.glue import read_tsv
    _, dirs, model_dir = tiny_checkpoint
    task = get_task("rte")
    feats = pair_features("sentence1", "sentence2", ClassLabel(names=NLI2))
    hub = tmp_path / "glue"
    for split, name in (("train", "train.tsv"), ("validation", "dev.tsv")):
        rows = read_tsv(Path(dirs["rte"]) / name)
        head = rows[0][1]
        data = [dict(zip(head, fields)) for _, fields in rows[1:]]
        parquet(hub / "rte" / f"{split}{SHARD}", {
            "sentence1": [r["sentence1"] for r in data], "sentence2": [r["sentence2"] for r in data],
            "label": [NLI2.index(r["label"]) for r in data], "idx": [int(r["index"]) for r in data]}, feats)
    records = []
    for data_dir, out in ((dirs["rte"], "tsv"), (hub, "parquet")):
        rec = runs.finetune(task, model=str(model_dir), data_dir=str(data_dir), output_dir=str(tmp_path / out),
                            results_dir=str(tmp_path / f"results-{out}"), recipe="quick", max_steps=4, seed=3,
                            overrides={"batch_size": 8, "max_seq_length": 64, "eval_every": 2}, device="cpu")
        records.append(rec)
    tsv_rec, hub_rec = records
    assert hub_rec["metrics"]["best"]["dev"] and hub_rec["metrics"] == tsv_rec["metrics"]
    for key in ("best_step", "examples", "features"):
        assert hub_rec[key] == tsv_rec[key], key
    for key in ("predictions", "predictions_last"):   # files beside each record: the same lines
        def lines(rec):
            return {s: (Path(rec["path"]).parent / f).read_text() for s, f in rec[key].items()}
        assert lines(hub_rec) == lines(tsv_rec), key
    assert hub_rec["data_dir"] == str(hub)
