"""SQuAD v1.1 / v2.0 task: loading the official JSON and the Hugging Face rows, bad-data
errors, windows over long contexts, answer labels and offsets, decoding (span head and
ALBERT's beam head), the v2 null threshold, scoring end to end, prediction files."""
from __future__ import annotations

import json
import re
import string
from pathlib import Path

import numpy as np
import pytest

from albert_bench.tasks.common import DataError
from albert_bench.tasks.squad import SKIP_BAD_START, SquadTask


class WordTokenizer:
    """Stand-in with the AlbertTokenizer calls SQuAD uses: one id per word or punctuation
    mark (lowercased), character offsets into the original text, [CLS]=2 [SEP]=3."""

    def __init__(self):
        self.vocab: dict[str, int] = {}
        self.batch_calls = 0

    def _id(self, word: str) -> int:
        return self.vocab.setdefault(word.lower(), 5 + len(self.vocab))

    def encode_with_offsets(self, text):
        spans = [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]
        return [self._id(text[s:e]) for s, e in spans], spans

    def encode_batch(self, texts):
        self.batch_calls += 1
        return [self.encode_with_offsets(t)[0] for t in texts]

    def build_inputs(self, ids_a, ids_b=None):
        ids, types = [2] + list(ids_a) + [3], [0] * (len(ids_a) + 2)
        if ids_b is not None:
            ids += list(ids_b) + [3]
            types += [1] * (len(ids_b) + 1)
        return ids, types


def normalize(s: str) -> str:
    """The official answer normalization, written out here independently of the code under test."""
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


LONG = ("Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
        "sigma tau upsilon phi chi psi omega. The Eiffel Tower was finished in 1889 in Paris, France. "
        "Many visitors climb it every year, and some of them take the stairs to the second floor.")


def qa(qid, question, answers=(), impossible=None, context=LONG):
    q = {"id": qid, "question": question,
         "answers": [{"text": t, "answer_start": context.index(t)} for t in answers]}
    if impossible is not None:
        q["is_impossible"] = impossible
    return q


def write_squad(path: Path, paragraphs: list[dict], title="Tower") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": "x", "data": [{"title": title, "paragraphs": paragraphs}]}),
                    encoding="utf-8")
    return path


@pytest.fixture
def v1_dir(tmp_path):
    para = {"context": LONG, "qas": [
        qa("q1", "When was the Eiffel Tower finished?", ["1889"]),
        qa("q2", "Where is the tower?", ["Paris, France", "Paris"]),
        qa("q3", "What is the first letter?", ["Alpha"]),
    ]}
    write_squad(tmp_path / "train-v1.1.json", [para])
    write_squad(tmp_path / "dev-v1.1.json", [para])
    return tmp_path


@pytest.fixture
def v2_dir(tmp_path):
    para = {"context": LONG, "qas": [
        qa("a1", "When was the Eiffel Tower finished?", ["1889"], impossible=False),
        qa("n1", "When was the Eiffel Tower demolished?", [], impossible=True),
        qa("a2", "Which floor do stair climbers reach?", ["second floor"], impossible=False),
    ]}
    para["qas"][1]["plausible_answers"] = [{"text": "1889", "answer_start": LONG.index("1889")}]
    write_squad(tmp_path / "train-v2.0.json", [para])
    write_squad(tmp_path / "dev-v2.0.json", [para])
    return tmp_path


# ---------------------------------------------------------------------------- loading

def test_load_v1(v1_dir):
    ex = SquadTask("squad_v1").load("dev", v1_dir)
    assert [e.id for e in ex] == ["q1", "q2", "q3"]
    assert ex[1].answers == ("Paris, France", "Paris") and ex[1].context == LONG
    assert ex[0].title == "Tower" and not ex[0].is_impossible
    assert LONG[ex[1].answer_starts[0]:].startswith("Paris, France")
    assert ex.skipped == []


def test_load_v2_impossible_and_plausible_ignored(v2_dir):
    task = SquadTask("squad_v2")
    ex = task.load("train", v2_dir)
    assert [e.is_impossible for e in ex] == [False, True, False]
    assert ex[1].answers == () and ex[1].answer_starts == ()
    # a file path works as well as its folder
    assert [e.id for e in task.load("dev", v2_dir / "dev-v2.0.json")] == ["a1", "n1", "a2"]


def test_train_answer_start_mismatch_is_skipped_and_counted(tmp_path):
    bad = qa("bad", "q?", ["1889"])
    bad["answers"][0]["answer_start"] += 3
    para = {"context": LONG, "qas": [qa("ok", "q?", ["Paris"]), bad]}
    write_squad(tmp_path / "train-v1.1.json", [para])
    write_squad(tmp_path / "dev-v1.1.json", [para])
    task = SquadTask("squad_v1")
    train = task.load("train", tmp_path)
    assert [e.id for e in train] == ["ok"]
    assert train.skipped == [{"reason": SKIP_BAD_START, "count": 1}]
    dev = task.load("dev", tmp_path)            # dev answers are scored as text only
    assert [e.id for e in dev] == ["ok", "bad"] and dev.skipped == []


def test_errors_name_file_and_question(tmp_path):
    task = SquadTask("squad_v1")
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "dev-v1.1.json"))):
        task.load("dev", tmp_path)
    (tmp_path / "dev-v1.1.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="dev-v1.1.json.*not valid"):
        task.load("dev", tmp_path)
    no_answers = {"id": "qx", "question": "q?"}
    write_squad(tmp_path / "dev-v1.1.json", [{"context": LONG, "qas": [no_answers]}])
    with pytest.raises(DataError, match="dev-v1.1.json.*'qx'.*answers"):
        task.load("dev", tmp_path)
    no_id = qa("zz", "q?", ["Paris"])
    del no_id["id"]
    write_squad(tmp_path / "dev-v1.1.json", [{"context": LONG, "qas": [no_id]}])
    with pytest.raises(DataError, match="dev-v1.1.json.*no 'id'"):
        task.load("dev", tmp_path)
    write_squad(tmp_path / "dev-v1.1.json", [{"context": LONG, "qas": [qa("d", "q?", ["Paris"]), qa("d", "r?", ["Paris"])]}])
    with pytest.raises(DataError, match="'d' occurs twice"):
        task.load("dev", tmp_path)
    write_squad(tmp_path / "dev-v1.1.json", [{"context": LONG, "qas": [qa("e", "q?", [])]}])
    with pytest.raises(DataError, match="'e'.*empty 'answers'.*is_impossible"):
        task.load("dev", tmp_path)
    with pytest.raises(DataError, match="no split 'test'"):
        task.load("test", tmp_path)


def test_hf_rows_mapping(monkeypatch):
    datasets = pytest.importorskip("datasets")
    rows = [
        {"id": "h1", "title": "T", "context": LONG, "question": "When?",
         "answers": {"text": ["1889"], "answer_start": [LONG.index("1889")]}},
        {"id": "h2", "title": "T", "context": LONG, "question": "Demolished?",
         "answers": {"text": [], "answer_start": []}},
    ]
    calls = []

    def fake_load_dataset(path, name=None, split=None, **kw):
        calls.append((path, split))
        return datasets.Dataset.from_list(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    ex = SquadTask("squad_v2").load("dev", None)
    assert calls == [("rajpurkar/squad_v2", "validation")]
    assert [(e.id, e.answers, e.is_impossible) for e in ex] == [("h1", ("1889",), False), ("h2", (), True)]
    assert ex[0].answer_starts == (LONG.index("1889"),)
    SquadTask("squad_v1").load("train", None)
    assert calls[-1] == ("rajpurkar/squad", "train")


def test_hf_offline_error_names_id_and_flag(monkeypatch):
    datasets = pytest.importorskip("datasets")

    def offline(*a, **kw):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match=r"rajpurkar/squad_v2.*--data-dir"):
        SquadTask("squad_v2").load("train", None)


# ---------------------------------------------------------------------------- features

def _answer_in_window(feature, char_start, char_end):
    offsets = feature["offsets"]
    return offsets[0][0] <= char_start and char_end <= offsets[-1][1]


def test_windows_labels_and_offsets(v2_dir):
    task = SquadTask("squad_v2", doc_stride=6)
    examples = task.load("train", v2_dir)
    tok = WordTokenizer()
    feats = task.featurize(examples, tok, max_seq_length=24)
    assert tok.batch_calls == 1                       # questions tokenized in one batch
    doc_len = len(tok.encode_with_offsets(LONG)[0])
    for i, ex in enumerate(examples):
        fs = [f for f in feats if f["example_index"] == i]
        assert len(fs) > 2                            # the context really is split
        for f in fs:
            assert len(f["input_ids"]) <= 24 and f["input_ids"][0] == 2 and f["input_ids"][-1] == 3
            c0 = f["context_start"]
            assert f["input_ids"][c0 - 1] == 3 and f["token_type_ids"][c0:] == [1] * (len(f["input_ids"]) - c0)
            assert f["token_type_ids"][:c0] == [0] * c0
            assert len(f["offsets"]) == len(f["max_context"]) == len(f["input_ids"]) - c0 - 1
        # windows cover every context token, each token has exactly one max-context window
        first = [tok.encode_with_offsets(LONG)[1].index(tuple(f["offsets"][0])) for f in fs]
        assert first == [6 * w for w in range(len(fs))]
        owners = np.zeros(doc_len, dtype=int)
        for w, f in zip(first, fs):
            owners[w: w + len(f["max_context"])] += np.asarray(f["max_context"])
        assert owners.tolist() == [1] * doc_len
        for f in fs:
            if ex.is_impossible:
                assert (f["start_positions"], f["end_positions"], f["is_impossible"]) == (0, 0, 1.0)
                continue
            a, b = ex.answer_starts[0], ex.answer_starts[0] + len(ex.answers[0])
            inside = _answer_in_window(f, a, b)
            assert (f["start_positions"] > 0) == inside
            assert f["is_impossible"] == (0.0 if inside else 1.0)
            if inside:
                c0 = f["context_start"]
                s, e = f["offsets"][f["start_positions"] - c0][0], f["offsets"][f["end_positions"] - c0][1]
                assert normalize(ex.context[s:e]) == normalize(ex.answers[0])
            else:
                assert f["end_positions"] == 0
        assert sum(f["start_positions"] > 0 for f in fs) >= (0 if ex.is_impossible else 1)


def test_max_context_prefers_middle_of_window(v1_dir):
    task = SquadTask("squad_v1", doc_stride=4)
    feats = task.featurize(task.load("dev", v1_dir)[:1], WordTokenizer(), max_seq_length=20)
    # 7 question tokens leave 10 context tokens per window, windows start at 0, 4, 8, ...
    # token 5: window 0 min(left 5, right 4) = 4 beats window 4 (left 1); token 8: window 4
    # min(4, 5) = 4 beats window 0 (right 1) and window 8 (left 0).
    w0, w1 = feats[0], feats[1]
    assert w0["max_context"][5] == 1 and w1["max_context"][1] == 0
    assert w0["max_context"][8] == 0 and w1["max_context"][4] == 1


def test_question_truncated_to_max_query_length(v1_dir):
    task = SquadTask("squad_v1")
    ex = task.load("dev", v1_dir)[:1]
    long_q = type(ex[0])(**{**ex[0].__dict__, "question": " ".join(f"w{i}" for i in range(100))})
    f = task.featurize([long_q], WordTokenizer(), max_seq_length=384)[0]
    assert f["context_start"] == 64 + 2
    with pytest.raises(ValueError, match="max_seq_length 60"):
        task.featurize([long_q], WordTokenizer(), max_seq_length=60)


def test_v1_features_have_no_is_impossible(v1_dir):
    feats = SquadTask("squad_v1").featurize(SquadTask("squad_v1").load("train", v1_dir), WordTokenizer(), 384)
    assert all("is_impossible" not in f for f in feats) and len(feats) == 3


# ---------------------------------------------------------------------------- decoding

def _logits(feats, spans, null=None, low=-10.0):
    """start/end logits per feature: `spans` maps feature index -> (start, end, value)
    in input positions; `null` maps feature index -> [CLS] value (default low)."""
    out = {"start_logits": [], "end_logits": []}
    for i, f in enumerate(feats):
        s, e = np.full(len(f["input_ids"]), low), np.full(len(f["input_ids"]), low)
        s[0] = e[0] = (null or {}).get(i, low)
        for (a, b, v) in spans.get(i, []):
            s[a] = max(s[a], v)
            e[b] = max(e[b], v)
        out["start_logits"].append(s)
        out["end_logits"].append(e)
    return out


def _pos(feature, text, context=LONG):
    """Input positions of the first and last token of `text` in this window (by offsets)."""
    a, b = context.index(text), context.index(text) + len(text)
    toks = [t for t, (s, e) in enumerate(feature["offsets"]) if s < b and e > a]
    return feature["context_start"] + toks[0], feature["context_start"] + toks[-1]


def _single_window(task_name, data_dir, split="dev"):
    task = SquadTask(task_name)
    ex = task.load(split, data_dir)
    feats = task.featurize(ex, WordTokenizer(), max_seq_length=384)
    assert len(feats) == len(ex)
    return task, ex, feats


def test_decoding_picks_best_valid_span(v1_dir):
    task, ex, feats = _single_window("squad_v1", v1_dir)
    f = feats[0]
    s, e = _pos(f, "1889")
    spans = {0: [(s, e, 5.0),
                 (1, 1, 9.0),                       # question token: not context
                 (e + 1, s - 1, 9.0)]}              # high start after the high end
    _, preds = task.score(ex, feats, _logits(feats, spans))
    assert preds[0]["prediction"] == "1889"
    # question 2's best span is the exact characters of the context, punctuation included
    s2, _ = _pos(feats[1], "Paris")
    _, e2 = _pos(feats[1], "France")
    outputs = _logits(feats, {0: [(s, e, 5.0)], 1: [(s2, e2, 5.0)]})
    _, preds = task.score(ex, feats, outputs)
    assert preds[1]["prediction"] == "Paris, France"
    assert preds[1]["label"] == ["Paris, France", "Paris"]


def test_decoding_respects_max_answer_length(v1_dir):
    task, ex, feats = _single_window("squad_v1", v1_dir)
    s, e = _pos(feats[0], "1889")
    outputs = _logits(feats, {0: [(s, e, 5.0)]})
    outputs["start_logits"][0][s - 5] = 9.0        # a better start 5 tokens earlier
    _, preds = SquadTask("squad_v1", max_answer_length=3).score(ex, feats, outputs)
    assert preds[0]["prediction"] == "1889"
    _, preds = SquadTask("squad_v1", max_answer_length=6).score(ex, feats, outputs)
    assert preds[0]["prediction"] == "Eiffel Tower was finished in 1889"   # 6 tokens: allowed, better


def test_decoding_skips_start_without_max_context(v1_dir):
    task = SquadTask("squad_v1", doc_stride=4)
    ex = task.load("dev", v1_dir)[:1]
    feats = task.featurize(ex, WordTokenizer(), max_seq_length=20)
    w0, w1 = feats[0], feats[1]
    # context token 8 sits in both windows; it has max context only in window 1
    bad = (w0["context_start"] + 8, w0["context_start"] + 8, 9.0)
    good = (w1["context_start"] + 5, w1["context_start"] + 5, 5.0)     # = context token 9
    _, preds = task.score(ex, feats, _logits(feats, {0: [bad], 1: [good]}))
    tokens = re.findall(r"\w+|[^\w\s]", LONG)
    assert preds[0]["prediction"] == tokens[9]


def test_v2_null_threshold_and_real_na_probs(v2_dir):
    task, ex, feats = _single_window("squad_v2", v2_dir)
    s1, e1 = _pos(feats[0], "1889")
    s3, e3 = _pos(feats[2], "second floor")
    # a1: span 4+4=8, null 1+1=2 -> na_prob -6;  n1: span 1.5+1.5=3, null 3+3=6 -> na_prob 3
    # a2: span 0+0=0, null 0.5+0.5=1 -> na_prob 1 (answer right but less sure)
    outputs = _logits(feats, {0: [(s1, e1, 4.0)], 1: [(s1, e1, 1.5)], 2: [(s3, e3, 0.0)]},
                      null={0: 1.0, 1: 3.0, 2: 0.5})
    metrics, preds = task.score(ex, feats, outputs)
    assert [p["na_prob"] for p in preds] == pytest.approx([-6.0, 3.0, 1.0])
    # walk in ascending na_prob from "all null" (1 point): a1 +1 -> 2, a2 +1 -> 3, n1 -1 -> 2
    assert metrics["best_f1_thresh"] == pytest.approx(1.0)
    assert metrics["null_threshold"] == pytest.approx(1.0)
    assert metrics["best_f1"] == pytest.approx(100.0)
    assert [p["prediction"] for p in preds] == ["1889", "", "second floor"]
    assert metrics["exact"] == pytest.approx(100.0) and metrics["f1"] == pytest.approx(100.0)
    assert metrics["HasAns_total"] == 2 and metrics["NoAns_total"] == 1
    assert all(type(metrics[k]) is int for k in ("total", "HasAns_total", "NoAns_total"))  # counts, not floats
    # make n1 look answerable: the tuned threshold now answers a1, a2 and gets n1 wrong
    outputs = _logits(feats, {0: [(s1, e1, 4.0)], 1: [(s1, e1, 5.0)], 2: [(s3, e3, 0.0)]},
                      null={0: 1.0, 1: 3.0, 2: 0.5})
    metrics, preds = task.score(ex, feats, outputs)
    assert preds[1]["na_prob"] == pytest.approx(6.0 - 10.0)
    # ascending: a1 (-6) +1 = 2, n1 (-4) -1 = 1, a2 (1) +1 = 2: best 2 of 3 first reached at -6
    assert metrics["best_f1"] == pytest.approx(200.0 / 3)
    assert metrics["best_f1_thresh"] == pytest.approx(-6.0)
    assert [p["prediction"] for p in preds] == ["1889", "", ""]
    assert metrics["f1"] == pytest.approx(200.0 / 3)
    assert metrics["NoAns_exact"] == pytest.approx(100.0) and metrics["HasAns_exact"] == pytest.approx(50.0)
    # a threshold given (null_threshold, e.g. the one tuned on dev) is applied as is, not tuned again
    metrics, preds = task.with_inputs(null_threshold=-5.0).score(ex, feats, outputs)
    assert metrics["null_threshold"] == -5.0 and metrics["best_f1_thresh"] == pytest.approx(-6.0)
    assert [p["prediction"] for p in preds] == ["1889", "", ""]          # na_probs -6, -4, 1: only a1 answered


def test_null_score_is_min_over_windows(v2_dir):
    task = SquadTask("squad_v2", doc_stride=6)
    ex = task.load("dev", v2_dir)[:1]
    feats = task.featurize(ex, WordTokenizer(), max_seq_length=24)
    inside = [i for i, f in enumerate(feats) if _answer_in_window(f, LONG.index("1889"), LONG.index("1889") + 4)]
    i = next(j for j in inside if feats[j]["max_context"][_pos(feats[j], "1889")[0] - feats[j]["context_start"]])
    s, e = _pos(feats[i], "1889")
    null = {j: 5.0 for j in range(len(feats))}
    null[len(feats) - 1] = -2.0                     # the lowest [CLS] score is in another window
    _, preds = task.score(ex, feats, _logits(feats, {i: [(s, e, 3.0)]}, null=null))
    assert preds[0]["best_non_null"] == "1889"
    assert preds[0]["na_prob"] == pytest.approx(-4.0 - 6.0)


def test_beam_outputs_decoding(v2_dir):
    task, ex, feats = _single_window("squad_v2", v2_dir)
    outs = {k: [] for k in ("start_top_index", "start_top_log_probs", "end_top_index", "end_top_log_probs", "cls_logits")}
    golds = {0: "1889", 2: "second floor"}
    for i, f in enumerate(feats):
        c0 = f["context_start"]
        si = np.array([c0 + 3, c0 + 1, c0, c0 + 2, 0])             # last start is [CLS]: never valid
        sl = np.array([-0.5, -1.0, -2.0, -3.0, -0.1])
        ei = np.tile(np.array([c0 + 4, c0 + 2, c0 + 1, c0, c0 + 3]), (5, 1))
        el = np.full((5, 5), -1.0)
        if i in golds:
            s, e = _pos(f, golds[i])
            si[1], sl[1], ei[1, 2], el[1, 2] = s, -0.2, e, -0.1      # best valid pair
        outs["start_top_index"].append(si)
        outs["start_top_log_probs"].append(sl)
        outs["end_top_index"].append(ei)
        outs["end_top_log_probs"].append(el)
        outs["cls_logits"].append(np.array(3.0 if i == 1 else -1.0 - i))
    metrics, preds = task.score(ex, feats, outs)
    assert [p["na_prob"] for p in preds] == pytest.approx([-1.0, 3.0, -3.0])
    assert preds[0]["best_non_null"] == "1889" and preds[2]["best_non_null"] == "second floor"
    assert [p["prediction"] for p in preds] == ["1889", "", "second floor"]
    assert metrics["exact"] == pytest.approx(100.0)


def _perfect_outputs(feats):
    """Logits that put everything on the labelled span (or on [CLS] where there is none)."""
    spans = {i: [(f["start_positions"], f["end_positions"], 10.0)] for i, f in enumerate(feats) if f["start_positions"]}
    null = {i: 10.0 for i, f in enumerate(feats) if not f["start_positions"]}
    return _logits(feats, spans, null=null)


@pytest.mark.parametrize("name", ["squad_v1", "squad_v2"])
def test_end_to_end_perfect_logits(name, v1_dir, v2_dir):
    data_dir = v1_dir if name == "squad_v1" else v2_dir
    task = SquadTask(name, doc_stride=6)
    ex = task.load("dev", data_dir)
    feats = task.featurize(ex, WordTokenizer(), max_seq_length=24)
    metrics, preds = task.score(ex, feats, _perfect_outputs(feats))
    if name == "squad_v1":
        assert metrics == {"exact_match": pytest.approx(100.0), "f1": pytest.approx(100.0)}
    else:
        assert metrics["exact"] == pytest.approx(100.0) and metrics["best_f1"] == pytest.approx(100.0)
        assert {m.name for m in task.metrics} == set(metrics)
    assert [p["id"] for p in preds] == [e.id for e in ex]


def test_score_checks_outputs(v1_dir):
    task, ex, feats = _single_window("squad_v1", v1_dir)
    with pytest.raises(ValueError, match="end_logits"):
        task.score(ex, feats, {"start_logits": [np.zeros(len(f["input_ids"])) for f in feats]})
    with pytest.raises(ValueError, match="3 features"):
        task.score(ex, feats, {"start_logits": [], "end_logits": []})


def test_write_predictions(tmp_path):
    preds = [{"id": "a", "prediction": "1889", "na_prob": -2.5, "label": ["1889"]},
             {"id": "b", "prediction": "", "na_prob": 4.0, "label": []}]
    paths = SquadTask("squad_v2").write_predictions("dev", preds, tmp_path)
    assert [p.name for p in paths] == ["predictions.json", "null_odds.json"]
    assert json.loads((tmp_path / "predictions.json").read_text()) == {"a": "1889", "b": ""}
    assert json.loads((tmp_path / "null_odds.json").read_text()) == {"a": -2.5, "b": 4.0}
    paths = SquadTask("squad_v1").write_predictions("dev", preds, tmp_path / "v1")
    assert [p.name for p in paths] == ["predictions.json"]


def test_v2_all_null_best_nulls_everything(v2_dir):
    """An untrained-looking model: every best span is wrong, so answering nothing is best.
    The official walk then reports threshold 0.0; the applied threshold must null all."""
    task, ex, feats = _single_window("squad_v2", v2_dir)
    wrong = _pos(feats[0], "Alpha")
    # na_probs: a1 -1, n1 -2, a2 +1 (span 1+1=2 vs null 0.5+0.5=1 / 0+0=0 / 1.5+1.5=3)
    outputs = _logits(feats, {i: [(*wrong, 1.0)] for i in range(3)}, null={0: 0.5, 1: 0.0, 2: 1.5})
    metrics, preds = task.score(ex, feats, outputs)
    assert [p["na_prob"] for p in preds] == pytest.approx([-1.0, -2.0, 1.0])
    assert metrics["best_f1"] == pytest.approx(100.0 / 3) and metrics["best_f1_thresh"] == 0.0
    assert [p["prediction"] for p in preds] == ["", "", ""]
    assert metrics["f1"] == pytest.approx(100.0 / 3)
    assert metrics["null_threshold"] < -2.0


def test_real_null_odds_reach_the_official_scorer(v2_dir, monkeypatch):
    from albert_bench.metrics import squad as squad_metrics
    calls = []
    real = squad_metrics.squad_v2

    def spy(golds, preds, na_probs=None, na_prob_thresh=1.0):
        calls.append(None if na_probs is None else dict(na_probs))
        return real(golds, preds, na_probs, na_prob_thresh)

    monkeypatch.setattr(squad_metrics, "squad_v2", spy)
    task, ex, feats = _single_window("squad_v2", v2_dir)
    s1, e1 = _pos(feats[0], "1889")
    _, preds = task.score(ex, feats, _logits(feats, {0: [(s1, e1, 4.0)]}, null={0: 1.0, 1: 3.0, 2: 0.5}))
    assert calls[0] == {p["id"]: p["na_prob"] for p in preds}
    assert len(set(calls[0].values())) == 3            # not a constant (e.g. all 0)


def test_real_tokenizer_offsets_map_back(tmp_path, v2_dir):
    """With the project's SentencePiece tokenizer: every labelled window's offsets give back
    the gold answer, and perfect logits score 100."""
    from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece
    task = SquadTask("squad_v2", doc_stride=8)
    examples = task.load("train", v2_dir)
    texts = [LONG, "When was the Eiffel Tower finished or demolished? Which floor do stair climbers reach?"] * 20
    tok = AlbertTokenizer(str(train_sentencepiece(texts, tmp_path / "sp", vocab_size=120)))
    feats = task.featurize(examples, tok, max_seq_length=40)
    labelled = [f for f in feats if f["start_positions"]]
    assert len(labelled) >= 2 and len(feats) > len(examples)
    for f in labelled:
        ex = examples[f["example_index"]]
        assert f["input_ids"][0] == tok.cls_token_id and f["input_ids"][-1] == tok.sep_token_id
        c0 = f["context_start"]
        s, e = f["offsets"][f["start_positions"] - c0][0], f["offsets"][f["end_positions"] - c0][1]
        assert normalize(ex.context[s:e]) == normalize(ex.answers[0])
    metrics, _ = task.score(examples, feats, _perfect_outputs(feats))
    assert metrics["exact"] == pytest.approx(100.0)


def test_score_file_runs_the_official_evaluation(v2_dir, tmp_path):
    task = SquadTask("squad_v2")
    preds = [{"id": "a1", "prediction": "1889", "na_prob": -3.0}, {"id": "n1", "prediction": "", "na_prob": 2.0},
             {"id": "a2", "prediction": "the stairs", "na_prob": 1.5}]
    out = tmp_path / "out"
    task.write_predictions("dev", preds, out)
    metrics = task.score_file(v2_dir, out / "predictions.json", na_probs=out / "null_odds.json")
    # a1 right, n1 right (""), a2 wrong but nulled by the default na_prob threshold 1.0
    assert metrics["exact"] == pytest.approx(200.0 / 3) and metrics["best_f1_thresh"] == pytest.approx(-3.0)
    with pytest.raises(DataError, match="missing.json"):
        task.score_file(v2_dir / "dev-v2.0.json", out / "missing.json")
    with pytest.raises(DataError, match="v2.0 only"):
        SquadTask("squad_v1").score_file(v2_dir, out / "predictions.json", na_probs=out / "null_odds.json")
