"""GLUE tasks on tiny fixture files written in the benchmark's own formats (ALBERT_FACTS.md s.4)."""
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from albert_bench.tasks.common import DataError
from albert_bench.tasks.glue import GLUE_TASKS, get_glue_task, score_glue_file

T = "\t"


def tsv(*rows):
    return "".join(T.join(r) + "\n" for r in rows)


MNLI_HEAD = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
             "sentence1_parse", "sentence2_parse", "sentence1", "sentence2"]


def mnli_rows(labels, dev):
    extra = ["label1", "label2", "label3", "label4", "label5"] if dev else ["label1"]
    rows = [MNLI_HEAD + extra + ["gold_label"]]
    for i, lab in enumerate(labels):
        rows.append([str(i), "31193", f"{i}n", "fiction", "( x )", "( y )", "(ROOT x)", "(ROOT y)",
                     f'"premise {i}" he said', f"hypothesis {i}"] + [lab] * len(extra) + [lab])
    return tsv(*rows)


def mnli_test(n):
    return tsv(MNLI_HEAD, *[[str(i), "1", "1n", "slate", "", "", "", "", f"p {i}", f"h {i}"] for i in range(n)])


FIXTURES = {
    # CoLA train/dev: NO header; source, label, original mark, sentence (may start with a quote)
    "CoLA/train.tsv": tsv(["gj04", "1", "", "Our friends won't buy this analysis."],
                          ["gj04", "0", "*", '"Fred," he said the book.'], ["cj99", "1", "", "Bill whistled."]),
    "CoLA/dev.tsv": tsv(["gj04", "1", "", "The sailors rode the breeze."], ["gj04", "0", "*", "Sailors the rode."],
                        ["gj04", "1", "", "I ate."], ["gj04", "0", "*", "Ate I the."]),
    "CoLA/test.tsv": tsv(["index", "sentence"], ["0", "Bill whistled past the house."], ["1", '"Quote first.']),
    "SST-2/train.tsv": tsv(["sentence", "label"], ["hide new secretions ", "0"], ["a charming journey ", "1"]),
    "SST-2/dev.tsv": tsv(["sentence", "label"], ["it 's a charming and often affecting journey . ", "1"],
                         ["unflinchingly bleak ", "0"], ['" a gorgeous film', "1"]),
    "SST-2/test.tsv": tsv(["index", "sentence"], ["0", "uneasy mishmash"], ["1", "this film 's brilliant"]),
    "MRPC/train.tsv": tsv(["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"],
                          ["1", "702876", "702977", "Amrozi accused his brother .", "Referring to him , Amrozi ."],
                          ["0", "2108705", "2108831", "Yucaipa owned Dominick 's .", "Yucaipa bought Dominick 's ."]),
    "MRPC/dev.tsv": tsv(["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"],
                        *[[lab, str(i), str(i + 1), f"first {i}", f"second {i}"] for i, lab in enumerate("10110")]),
    "MRPC/test.tsv": tsv(["index", "#1 ID", "#2 ID", "#1 String", "#2 String"], ["0", "1", "2", "PCCW 's chief", "Chief"]),
    "STS-B/train.tsv": tsv(["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1",
                            "sentence2", "score"],
                           ["0", "main-captions", "MSRvid", "2012test", "0001", "none", "none", "A plane is taking off.",
                            "An air plane is taking off.", "5.000"]),
    "STS-B/dev.tsv": tsv(["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1",
                          "sentence2", "score"],
                         *[[str(i), "main-captions", "MSRvid", "2012test", f"{i:04d}", "none", "none", f"a man {i}",
                            f"a person {i}", s] for i, s in enumerate(["5.000", "3.800", "0.600", "2.250"])]),
    "STS-B/test.tsv": tsv(["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1",
                           "sentence2"], ["0", "main-captions", "MSRvid", "2012test", "0024", "none", "none", "A girl", "A kid"]),
    # QQP train has rows with missing fields in the official file: skipped and counted
    "QQP/train.tsv": tsv(["id", "qid1", "qid2", "question1", "question2", "is_duplicate"],
                         ["133273", "213221", "213222", "How is the life of a math student?", "Which level?", "0"],
                         ["363362", "493340", "493341", "How do I learn?\\"],
                         ["402555", "536040", "536041", "How do I lose weight?", "Losing weight fast?", "1"]),
    "QQP/dev.tsv": tsv(["id", "qid1", "qid2", "question1", "question2", "is_duplicate"],
                       *[[str(100 + i), "1", "2", f"q one {i}", f"q two {i}", lab] for i, lab in enumerate("0110")]),
    "QQP/test.tsv": tsv(["id", "question1", "question2"], ["0", "Why am I here?", "Why do I exist?"]),
    "MNLI/train.tsv": mnli_rows(["neutral", "contradiction", "entailment"], dev=False),
    "MNLI/dev_matched.tsv": mnli_rows(["entailment", "neutral", "contradiction", "entailment"], dev=True),
    "MNLI/dev_mismatched.tsv": mnli_rows(["contradiction", "contradiction"], dev=True),
    "MNLI/test_matched.tsv": mnli_test(3),
    "MNLI/test_mismatched.tsv": mnli_test(2),
    "QNLI/train.tsv": tsv(["index", "question", "sentence", "label"], ["0", "What?", "That.", "entailment"]),
    "QNLI/dev.tsv": tsv(["index", "question", "sentence", "label"], ["0", "Who?", "Him.", "entailment"],
                        ["1", "When?", "Red.", "not_entailment"]),
    "QNLI/test.tsv": tsv(["index", "question", "sentence"], ["0", "Where?", "Here."]),
    "RTE/train.tsv": tsv(["index", "sentence1", "sentence2", "label"], ["0", "No weapons.", "Found.", "not_entailment"]),
    "RTE/dev.tsv": tsv(["index", "sentence1", "sentence2", "label"], ["0", "Dana Reeve died.", "Dana died.", "entailment"]),
    "RTE/test.tsv": tsv(["index", "sentence1", "sentence2"], ["0", "Mangla Dam.", "A dam."]),
    "WNLI/train.tsv": tsv(["index", "sentence1", "sentence2", "label"], ["0", "I stuck a pin.", "The pin stuck.", "1"]),
    "WNLI/dev.tsv": tsv(["index", "sentence1", "sentence2", "label"], ["0", "The drain is clogged.", "It is.", "0"]),
    "WNLI/test.tsv": tsv(["index", "sentence1", "sentence2"], ["0", "Maude and Dora.", "They."]),
    "diagnostic/diagnostic.tsv": tsv(["index", "sentence1", "sentence2"], ["0", "The cat sat.", "The cat did not sit."],
                                     ["1", "A dog.", "An animal."]),
}

# task -> split -> (count, first label); None = test (no labels)
EXPECTED = {
    "cola": {"train": (3, "1"), "dev": (4, "1"), "test": (2, None)},
    "sst2": {"train": (2, "0"), "dev": (3, "1"), "test": (2, None)},
    "mrpc": {"train": (2, "1"), "dev": (5, "1"), "test": (1, None)},
    "stsb": {"train": (1, 5.0), "dev": (4, 5.0), "test": (1, None)},
    "qqp": {"train": (2, "0"), "dev": (4, "0"), "test": (1, None)},
    "mnli": {"train": (3, "neutral"), "dev_matched": (4, "entailment"), "dev_mismatched": (2, "contradiction"),
             "test_matched": (3, None), "test_mismatched": (2, None)},
    "qnli": {"train": (1, "entailment"), "dev": (2, "entailment"), "test": (1, None)},
    "rte": {"train": (1, "not_entailment"), "dev": (1, "entailment"), "test": (1, None)},
    "wnli": {"train": (1, "1"), "dev": (1, "0"), "test": (1, None)},
    "ax": {"test": (2, None)},
}


@pytest.fixture
def glue_root(tmp_path):
    for rel, text in FIXTURES.items():
        path = tmp_path / "glue" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path / "glue"


class FakeTokenizer:
    """Whitespace tokenizer with the AlbertTokenizer methods featurize uses (ids from 5 up)."""

    def __init__(self):
        self.vocab, self.batch_calls = {}, 0

    def encode_batch(self, texts):
        self.batch_calls += 1
        return [[self.vocab.setdefault(w, 5 + len(self.vocab)) for w in t.lower().split()] for t in texts]

    def truncate_pair(self, a, b, max_tokens, strategy="longest_first"):
        a, b = list(a), None if b is None else list(b)
        while len(a) + len(b or []) > max_tokens:
            if b is not None and len(b) >= len(a):   # ties cut B, as transformers does
                b.pop()
            else:
                a.pop()
        return a, b

    def build_inputs(self, a, b=None):
        ids = [2] + a + [3] + ([] if b is None else b + [3])
        return ids, [0] * (len(a) + 2) + ([] if b is None else [1] * (len(b) + 1))


def test_table_covers_every_task():
    assert [t.name for t in GLUE_TASKS] == ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli", "ax"]
    mnli = get_glue_task("mnli")
    assert mnli.labels == ("contradiction", "entailment", "neutral")
    assert mnli.eval_splits == ("dev_matched", "dev_mismatched")
    assert [mnli.display_name(s) for s in mnli.eval_splits] == ["mnli-m", "mnli-mm"]
    assert get_glue_task("stsb").head == "regression" and get_glue_task("stsb").labels == ()
    assert get_glue_task("cola").main_metric == "matthews_correlation"
    assert get_glue_task("ax").labels == mnli.labels and get_glue_task("ax").test_splits == ("test",)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_load_every_split(glue_root, name):
    task = get_glue_task(name)
    for split, (count, first) in EXPECTED[name].items():
        for data_dir in (glue_root, glue_root / task.spec.folder):   # GLUE root or the task folder
            examples = task.load(split, data_dir)
            assert len(examples) == count, (name, split)
            assert examples[0].label == first
            assert all((ex.text_b is None) == (task.spec.text_b is None) for ex in examples)


def test_text_is_read_without_quote_processing(glue_root):
    cola = get_glue_task("cola")
    train = cola.load("train", glue_root)
    assert train[1].text_a == '"Fred," he said the book.' and train[1].id == "1"
    assert cola.load("test", glue_root)[1].text_a == '"Quote first.'
    assert get_glue_task("mnli").load("train", glue_root)[0].text_a == '"premise 0" he said'


def test_qqp_short_rows_are_skipped_and_counted(glue_root):
    train = get_glue_task("qqp").load("train", glue_root)
    assert [ex.id for ex in train] == ["133273", "402555"]
    assert len(train.skipped) == 1 and train.skipped[0]["count"] == 1 and "missing fields" in train.skipped[0]["reason"]
    assert get_glue_task("qqp").load("dev", glue_root).skipped == []


def test_bad_data_errors_name_the_fix(glue_root, tmp_path):
    rte = get_glue_task("rte")
    with pytest.raises(DataError, match=r"RTE/dev.tsv"):
        rte.load("dev", tmp_path / "nowhere")
    with pytest.raises(DataError, match="no split 'dev'.*test-only"):
        get_glue_task("ax").load("dev", glue_root)
    (glue_root / "RTE/dev.tsv").write_text(tsv(["index", "sentence1", "sentence2", "label"], ["0", "a", "b", "entailment"],
                                               ["1", "a", "not_entailment"]))
    with pytest.raises(DataError, match=r"RTE/dev.tsv line 3: 3 tab-separated columns, expected 4"):
        rte.load("dev", glue_root)
    (glue_root / "RTE/dev.tsv").write_text(tsv(["index", "sentence1", "sentence2", "label"], ["0", "a", "b", "maybe"]))
    with pytest.raises(DataError, match=r"line 2: unknown label 'maybe'.*'entailment', 'not_entailment'"):
        rte.load("dev", glue_root)
    (glue_root / "STS-B/dev.tsv").write_text(FIXTURES["STS-B/dev.tsv"].replace("3.800", "high"))
    with pytest.raises(DataError, match="line 3: score 'high' is not a number"):
        get_glue_task("stsb").load("dev", glue_root)


def test_hugging_face_rows(monkeypatch):
    datasets = pytest.importorskip("datasets")
    rows = datasets.Dataset.from_dict({"premise": ["p0", "p1", "p2", "p3"], "hypothesis": ["h0", "h1", "h2", "h3"],
                                       "label": [0, 1, 2, -1], "idx": [0, 1, 2, 3]})
    calls = []

    def fake_load(path, config, split):
        calls.append((path, config, split))
        return rows
    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    examples = get_glue_task("mnli").load("dev_mismatched", None)
    assert calls == [("nyu-mll/glue", "mnli", "validation_mismatched")]
    # nyu-mll/glue mnli: entailment=0, neutral=1, contradiction=2; -1 = no label
    assert [ex.label for ex in examples] == ["entailment", "neutral", "contradiction", None]
    assert (examples[2].id, examples[2].text_a, examples[2].text_b) == ("2", "p2", "h2")

    stsb_rows = datasets.Dataset.from_dict({"sentence1": ["a", "b"], "sentence2": ["c", "d"], "label": [4.2, -1.0],
                                            "idx": [7, 8]})
    monkeypatch.setattr(datasets, "load_dataset", lambda path, config, split: stsb_rows)
    assert [ex.label for ex in get_glue_task("stsb").load("test", None)] == [4.2, None]

    def offline(*args, **kwargs):
        raise ConnectionError("no network")
    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match="nyu-mll/glue.*--data-dir"):
        get_glue_task("cola").load("train", None)


def _check_features(task, examples, features, max_len):
    for ex, f in zip(examples, features):
        assert len(f["input_ids"]) == len(f["token_type_ids"]) <= max_len
        assert f["input_ids"][0] == 2 and f["input_ids"][-1] == 3
        if ex.label is None:
            assert "labels" not in f
        elif task.labels:
            assert task.labels[f["labels"]] == ex.label
        else:
            assert isinstance(f["labels"], float) and f["labels"] == ex.label


def test_featurize_with_fake_tokenizer(glue_root):
    for name, split in [("cola", "dev"), ("mnli", "dev_matched"), ("stsb", "dev"), ("qqp", "test")]:
        task, tok = get_glue_task(name), FakeTokenizer()
        examples = task.load(split, glue_root)
        features = task.featurize(examples, tok, max_seq_length=6)
        assert tok.batch_calls == (2 if task.spec.text_b else 1)   # one batch call per text column
        assert [f["example_index"] for f in features] == list(range(len(examples)))
        _check_features(task, examples, features, 6)
    # a pair cut longest-first to 6 - 3 = 3 tokens: "a man 0" / "a person 0" -> 2 + 1
    f = get_glue_task("stsb").featurize(get_glue_task("stsb").load("dev", glue_root), FakeTokenizer(), 6)[0]
    assert f["token_type_ids"] == [0, 0, 0, 0, 1, 1]


def test_featurize_with_real_tokenizer(glue_root, tmp_path):
    tk = pytest.importorskip("albert_bench.modeling.tokenizer")
    texts = [line.split(T)[-1] for line in FIXTURES["CoLA/train.tsv"].splitlines()] + ["a man a person"] * 5
    tok = tk.AlbertTokenizer(str(tk.train_sentencepiece(texts * 4, tmp_path / "sp", vocab_size=60)))
    task = get_glue_task("mnli")
    examples = task.load("dev_matched", glue_root)
    features = task.featurize(examples, tok, max_seq_length=16)
    _check_features(task, examples, features, 16)
    ref = tok(examples[0].text_a, examples[0].text_b, truncation=True, max_length=16)
    assert features[0]["input_ids"] == ref["input_ids"] and features[0]["token_type_ids"] == ref["token_type_ids"]


def _one_hot(ids, width):
    return [np.eye(width)[i] * 3.0 - 1.0 for i in ids]


@pytest.mark.parametrize("name", ["cola", "mrpc", "qqp", "mnli", "rte"])
def test_score_matches_sklearn(glue_root, name):
    task = get_glue_task(name)
    split = task.eval_splits[0]
    examples = task.load(split, glue_root)
    features = task.featurize(examples, FakeTokenizer(), 32)
    rng = np.random.default_rng(0)
    pred_ids = rng.integers(0, len(task.labels), len(examples)).tolist()
    metrics, preds = task.score(examples, features, {"logits": _one_hot(pred_ids, len(task.labels))})
    gold_ids = [task.labels.index(ex.label) for ex in examples]
    expected = {"accuracy": lambda: accuracy_score(gold_ids, pred_ids),
                "f1": lambda: f1_score(gold_ids, pred_ids, pos_label=1),
                "matthews_correlation": lambda: matthews_corrcoef(gold_ids, pred_ids)}
    assert set(metrics) == {m.name for m in task.metrics}
    for key, value in metrics.items():
        assert value == pytest.approx(expected[key]()), key
    assert preds[0] == {"id": examples[0].id, "prediction": task.labels[pred_ids[0]], "label": examples[0].label}


def test_score_regression_and_test_split(glue_root):
    task = get_glue_task("stsb")
    examples = task.load("dev", glue_root)
    outputs = {"logits": [np.array([v]) for v in (4.1, 3.0, 1.5, 1.0)]}
    metrics, preds = task.score(examples, task.featurize(examples, FakeTokenizer(), 32), outputs)
    gold = [5.0, 3.8, 0.6, 2.25]
    assert metrics["pearson"] == pytest.approx(stats.pearsonr([4.1, 3.0, 1.5, 1.0], gold)[0])
    assert metrics["spearmanr"] == pytest.approx(stats.spearmanr([4.1, 3.0, 1.5, 1.0], gold)[0])
    assert preds[2]["prediction"] == 1.5 and preds[2]["label"] == 0.6
    test = task.load("test", glue_root)
    metrics, preds = task.score(test, task.featurize(test, FakeTokenizer(), 32), {"logits": [np.array([2.0])]})
    assert metrics == {} and preds == [{"id": "0", "prediction": 2.0, "label": None}]
    with pytest.raises(ValueError, match="expects 2 logits"):
        get_glue_task("rte").score(test, [{"example_index": 0}], {"logits": [np.zeros(3)]})


def test_submission_files(glue_root, tmp_path):
    out = tmp_path / "sub"
    written = []
    for task in GLUE_TASKS:
        for split in task.test_splits:
            examples = task.load(split, glue_root)
            feats = task.featurize(examples, FakeTokenizer(), 32)
            logits = [np.array([7.25 - 3 * i]) for i in range(len(examples))] if not task.labels else \
                _one_hot([i % len(task.labels) for i in range(len(examples))], len(task.labels))
            _, preds = task.score(examples, feats, {"logits": logits})
            written += task.write_predictions(split, preds, out)
    assert sorted(p.name for p in written) == sorted(
        ["CoLA.tsv", "SST-2.tsv", "MRPC.tsv", "STS-B.tsv", "MNLI-m.tsv", "MNLI-mm.tsv", "QNLI.tsv", "QQP.tsv",
         "RTE.tsv", "WNLI.tsv", "AX.tsv"])
    assert (out / "CoLA.tsv").read_text() == "index\tprediction\n0\t0\n1\t1\n"
    assert (out / "STS-B.tsv").read_text() == "index\tprediction\n0\t5.000\n"          # 7.25 clipped to 5
    assert (out / "MNLI-mm.tsv").read_text() == "index\tprediction\n0\tcontradiction\n1\tentailment\n"
    assert (out / "AX.tsv").read_text().splitlines()[1:] == ["0\tcontradiction", "1\tentailment"]
    assert (out / "QNLI.tsv").read_text() == "index\tprediction\n0\tentailment\n"
    with pytest.raises(ValueError, match="not a rte label"):
        get_glue_task("rte").write_predictions("test", [{"id": "0", "prediction": "maybe"}], out)


def test_score_glue_file(glue_root, tmp_path):
    mrpc = get_glue_task("mrpc")   # dev gold 1 0 1 1 0 (no index column: ids are row numbers)
    pred = tmp_path / "MRPC-dev.tsv"
    pred.write_text(tsv(["index", "prediction"], ["0", "1"], ["1", "1"], ["2", "0"], ["3", "1"], ["4", "0"]))
    metrics = score_glue_file(mrpc, glue_root, pred)
    gold, guess = [1, 0, 1, 1, 0], [1, 1, 0, 1, 0]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(gold, guess))
    assert metrics["f1"] == pytest.approx(f1_score(gold, guess))
    assert mrpc.score_file(glue_root / "MRPC/dev.tsv", pred) == metrics

    # the round trip: write_predictions of a dev split is scored by score_file
    mnli = get_glue_task("mnli")
    examples = mnli.load("dev_mismatched", glue_root)
    preds = [{"id": ex.id, "prediction": "contradiction"} for ex in examples]
    [path] = mnli.write_predictions("dev_mismatched", preds, tmp_path)
    assert path.name == "MNLI-dev_mismatched.tsv"
    assert score_glue_file(mnli, glue_root / "MNLI/dev_mismatched.tsv", path) == {"accuracy": 1.0}
    assert score_glue_file(mnli, glue_root, path, split="dev_mismatched") == {"accuracy": 1.0}

    bad = tmp_path / "bad.tsv"
    bad.write_text(tsv(["index", "prediction"], ["0", "1"], ["1", "yes"]))
    with pytest.raises(DataError, match=r"line 3: unknown label 'yes'"):
        score_glue_file(mrpc, glue_root, bad)
    bad.write_text(tsv(["index", "prediction"], ["0", "1"], ["1", "1"]))
    with pytest.raises(DataError, match=r"3 gold index\(es\) have no prediction \(e.g. \['2', '3', '4'\]\)"):
        score_glue_file(mrpc, glue_root, bad)
    bad.write_text(tsv(["id", "label"], ["0", "1"]))
    with pytest.raises(DataError, match="line 1: expected the header"):
        score_glue_file(mrpc, glue_root, bad)
    with pytest.raises(DataError, match="no gold labels"):
        score_glue_file(mrpc, glue_root / "MRPC/test.tsv", pred)
    with pytest.raises(DataError, match="--na-probs is for SQuAD"):
        mrpc.score_file(glue_root, pred, na_probs="x.json")


def test_empty_second_text_is_no_pair(glue_root):
    """As the original classifier (`if example.text_b:`): [CLS] A [SEP], all of max_seq_length for A."""
    from albert_bench.tasks.glue import GlueExample
    task = get_glue_task("rte")
    examples = [GlueExample(id="0", text_a="a man a person a man", text_b="", label="entailment"),
                GlueExample(id="1", text_a="a man a person a man", text_b="a man", label="entailment")]
    single, pair = task.featurize(examples, FakeTokenizer(), max_seq_length=6)
    assert single["input_ids"][-1] == 3 and single["input_ids"].count(3) == 1 and len(single["input_ids"]) == 6
    assert set(single["token_type_ids"]) == {0}
    assert pair["input_ids"].count(3) == 2 and pair["token_type_ids"][-1] == 1
