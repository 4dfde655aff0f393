"""Official SQuAD scoring on hand-worked examples (every expected number is worked out in
the comments, not taken from the code under test)."""
import json

import pytest

from albert_bench.metrics.squad import (best_threshold, evaluate_v1, evaluate_v2, exact_score, f1_score,
                                        normalize_answer, score_files, squad_v1, squad_v2)


@pytest.mark.parametrize("text, expected", [
    ("The  Quick, brown-fox!", "quick brownfox"),     # case, punctuation (joins), article, spaces
    ("An apple a day", "apple day"),
    ("theater anthem", "theater anthem"),             # articles only as whole words
    ("\t x \n y ", "x y"),
    ("A.B.C.", "abc"),                                # punctuation goes before articles are looked for
    ("the", ""),
])
def test_normalize(text, expected):
    assert normalize_answer(text) == expected


def test_exact_and_f1():
    assert exact_score("Denver Broncos", "the denver broncos.") == 1
    # bags of tokens: gold x y y z, pred y y y -> 2 shared, P 2/3, R 2/4, F1 4/7
    assert f1_score("x y y z", "y y y") == pytest.approx(4 / 7)
    assert f1_score("", "") == 1.0 and f1_score("", "x") == 0.0 and f1_score("x", "") == 0.0
    assert f1_score("the", "a", empty_match=False) == 0.0   # v1.1 has no empty/empty rule
    assert f1_score("cat", "dog") == 0.0


def test_max_over_gold_answers():
    golds = {"q": ["Broncos", "Denver Broncos"]}
    assert squad_v1(golds, {"q": "the Denver Broncos!"}) == {"exact_match": 100.0, "f1": 100.0}
    # "Denver" vs "Denver Broncos": P 1, R 1/2 -> 2/3; vs "Broncos": 0
    out = squad_v1(golds, {"q": "Denver"})
    assert out["exact_match"] == 0.0 and out["f1"] == pytest.approx(200 / 3)


def _squad_json(questions):
    """A one-article SQuAD json from (id, [answer texts], is_impossible or None)."""
    qas = []
    for qid, answers, impossible in questions:
        qa = {"id": qid, "question": "?", "answers": [{"text": a, "answer_start": 0} for a in answers]}
        if impossible is not None:
            qa["is_impossible"] = impossible
        qas.append(qa)
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "c", "qas": qas[:2]},
                                                                        {"context": "d", "qas": qas[2:]}]}]}


def test_v1_json_and_unanswered_question_scores_zero(capsys):
    data = _squad_json([("a", ["Paris", "paris france"], None), ("b", ["1990"], None), ("c", ["red car"], None)])
    preds = {"a": "Paris, France", "b": "1990"}        # c unanswered: 0, still in the total of 3
    # a: EM 1 (vs "paris france"); b: EM 1; c: 0 -> 2/3. F1 the same here.
    out = evaluate_v1(data["data"], preds)
    assert out == {"exact_match": pytest.approx(200 / 3), "f1": pytest.approx(200 / 3)}
    assert "c" in capsys.readouterr().err
    assert evaluate_v1(data, preds) == out                 # the whole object works too


# Five questions, in this file order. q3/q4 unanswerable.
#   q3 pred "something" na 0.6 : exact 0 f1 0 (gold "")
#   q1 pred exact          na 0.1 : exact 1 f1 1
#   q2 gold "the cat sat" pred "cat on mat" na 0.5 : tokens cat sat / cat on mat -> P 1/3 R 1/2 F1 0.4
#   q4 pred ""             na 0.9 : exact 1 f1 1 (both empty)
#   q5 gold "blue" pred "red" na 0.7 : 0 / 0
GOLDS = {"q3": [], "q1": ["Denver Broncos"], "q2": ["the cat sat"], "q4": [], "q5": ["blue"]}
PREDS = {"q3": "something", "q1": "Denver Broncos", "q2": "cat on mat", "q4": "", "q5": "red"}
NA = {"q1": 0.1, "q2": 0.5, "q3": 0.6, "q5": 0.7, "q4": 0.9}


def test_v2_plain_scores():
    out = squad_v2(GOLDS, PREDS)
    # exact 1+0+0+1+0 = 2/5; f1 1+0.4+0+1+0 = 2.4/5
    assert out["exact"] == pytest.approx(40.0) and out["f1"] == pytest.approx(48.0) and out["total"] == 5
    assert out["HasAns_exact"] == pytest.approx(100 / 3) and out["HasAns_f1"] == pytest.approx(140 / 3)
    assert out["HasAns_total"] == 3
    assert out["NoAns_exact"] == 50.0 and out["NoAns_f1"] == 50.0 and out["NoAns_total"] == 2
    assert not any(k.startswith("best") for k in out)      # no na_probs, no best_*


def test_v2_threshold_walk():
    out = squad_v2(GOLDS, PREDS, NA)
    # start at 2 (two unanswerable); ascending na: q1 +1 -> 3 (best, 0.1); q2 f1 +0.4 -> 3.4
    # (best f1, 0.5; exact +0 stays 3); q3 -1 -> 2.4; q5 +0; q4 +0 (empty prediction).
    assert out["best_f1"] == pytest.approx(100 * 3.4 / 5) and out["best_f1_thresh"] == 0.5
    assert out["best_exact"] == pytest.approx(60.0) and out["best_exact_thresh"] == 0.1
    # na_probs never above the default threshold 1.0: plain scores unchanged
    assert out["exact"] == pytest.approx(40.0) and out["f1"] == pytest.approx(48.0)


def test_v2_null_threshold_applies():
    # na > 0.55 nulls q3 (unanswerable -> 1), q5 (answerable -> 0) and q4 (already "" -> 1)
    out = squad_v2(GOLDS, PREDS, NA, na_prob_thresh=0.55)
    assert out["exact"] == pytest.approx(60.0) and out["f1"] == pytest.approx(68.0)
    assert out["NoAns_exact"] == 100.0
    # applying the tuned best_f1_thresh reproduces best_f1
    assert squad_v2(GOLDS, PREDS, NA, na_prob_thresh=0.5)["f1"] == pytest.approx(68.0)


def test_zero_na_probs_make_best_meaningless():
    zeros = {qid: 0.0 for qid in GOLDS}   # the common bug: walk in file order, q3 first
    real, buggy = squad_v2(GOLDS, PREDS, NA), squad_v2(GOLDS, PREDS, zeros)
    # file order: 2, q3 -> 1, q1 -> 2, q2 -> 2.4 (f1 best 48 at 0.0); exact never beats the start (40)
    assert buggy["best_f1"] == pytest.approx(48.0) and buggy["best_f1_thresh"] == 0.0
    assert buggy["best_exact"] == pytest.approx(40.0)
    assert buggy["best_f1"] != pytest.approx(real["best_f1"])


def test_v2_empty_gold_answers_are_dropped():
    # "The" normalizes to "": gold becomes "" while the question still counts as answerable
    out = squad_v2({"q": ["The"]}, {"q": ""})
    assert out["exact"] == 100.0 and out["f1"] == 100.0 and out["HasAns_total"] == 1
    # a real answer next to an empty one: the empty one is dropped, so "" is wrong
    assert squad_v2({"q": ["a", "Paris"]}, {"q": ""})["exact"] == 0.0


def test_v2_missing_predictions_are_left_out(capsys):
    out = squad_v2(GOLDS, {k: v for k, v in PREDS.items() if k != "q5"})
    # q5 (answerable, score 0) is left out: 4 scored, exact 2/4, f1 2.4/4
    assert out["total"] == 4 and out["HasAns_total"] == 2
    assert out["exact"] == pytest.approx(50.0) and out["f1"] == pytest.approx(60.0)
    assert "q5" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no null odds"):
        squad_v2(GOLDS, PREDS, {"q1": 0.0})
    with pytest.raises(ValueError, match="none of the 5 questions"):
        squad_v2(GOLDS, {"zz": "x"})


def test_best_threshold_ties_keep_the_first():
    # two answerable questions, both right: the walk peaks at the later one
    score, thresh = best_threshold({"a": "x", "b": "y"}, {"a": 1, "b": 1}, {"a": 0.2, "b": 0.4}, {"a": True, "b": True})
    assert (score, thresh) == (100.0, 0.4)
    # an unanswerable question answered "" adds 0: the threshold stays at the earlier peak
    score, thresh = best_threshold({"a": "x", "b": ""}, {"a": 1, "b": 1}, {"a": 0.2, "b": 0.4}, {"a": True, "b": False})
    assert (score, thresh) == (100.0, 0.2)


def test_score_files(tmp_path):
    data = _squad_json([("q3", [], True), ("q1", ["Denver Broncos"], False), ("q2", ["the cat sat"], False),
                        ("q4", [], True), ("q5", ["blue"], False)])
    data["version"] = "v2.0"
    (tmp_path / "dev.json").write_text(json.dumps(data))
    (tmp_path / "pred.json").write_text(json.dumps(PREDS))
    (tmp_path / "na.json").write_text(json.dumps(NA))
    out = score_files(tmp_path / "dev.json", tmp_path / "pred.json", tmp_path / "na.json")
    assert out == evaluate_v2(data["data"], PREDS, NA)
    assert out["best_f1"] == pytest.approx(68.0)
    with pytest.raises(FileNotFoundError, match="nope.json"):
        score_files(tmp_path / "dev.json", tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        score_files(tmp_path / "dev.json", tmp_path / "bad.json")
