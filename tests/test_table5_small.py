"""Table 5 at small scale: the story corpus (deterministic; documents with their own entities and
ordered cues) and a seconds-long reproduce_table5 that yields the table's shape (the finding itself
needs minutes of pretraining and is not asserted here)."""
from __future__ import annotations

import json
import re

import pytest

from albert_bench.demo.documents import THEMES, WEEKDAYS, corpus_text, generate_documents, write_corpus
from albert_bench.demo.table5 import PAPER, finding, reproduce_table5


@pytest.fixture(scope="module")
def docs():
    return generate_documents(seed=0, n=400)


def test_same_seed_same_bytes(tmp_path):
    a = write_corpus(tmp_path / "a.txt", seed=3, n=50).read_bytes()
    b = write_corpus(tmp_path / "b.txt", seed=3, n=50).read_bytes()
    assert a == b
    assert a != write_corpus(tmp_path / "c.txt", seed=4, n=50).read_bytes()


def test_documents_separated_by_blank_lines(docs):
    text = corpus_text(docs)
    blocks = text.strip("\n").split("\n\n")
    assert len(blocks) == len(docs) == 400
    assert all(6 <= len(block.splitlines()) <= 12 for block in blocks)
    assert all(line.strip() for block in blocks for line in block.splitlines())   # no empty sentence


def test_each_document_has_its_own_entities(docs):
    people = {d.entities["person"] for d in docs}
    assert len(people) > 300                          # a person of its own, almost always
    assert len({d.entities["theme"] for d in docs}) == len(THEMES)
    for d in docs:
        e = d.entities
        assert e["person"] in d.sentences[0] and e["city"] in d.sentences[0]   # introduced first
        assert THEMES[e["theme"]]["job"] in d.sentences[0]
        body = " ".join(d.sentences[1:]).lower()
        assert all(obj in body for obj in e["objects"])
        # every sentence names something of this story: the topic runs through it
        own = {e["first"], e["pronoun"], "him" if e["pronoun"] == "he" else "her", e["friend"], e["city"],
               *e["objects"], *THEMES[e["theme"]]["places"], THEMES[e["theme"]]["work"]}
        for s in d.sentences:
            assert any(re.search(rf"\b{re.escape(w)}\b", s, re.IGNORECASE) for w in own), s


def test_order_cues(docs):
    markers = 0
    for d in docs:
        assert d.sentences[-1].startswith(("In the end", "Finally"))
        stated = [day for day in d.days if day is not None]
        assert stated == sorted(stated)                  # the day counter only grows
        for day, sentence in zip(d.days, d.sentences):
            assert (day is not None) == sentence.startswith("On day ")
        markers += sum(s.startswith(("On day", "Then", "After that", "Later", "The next", "Two days", "That ",
                                     "Soon")) for s in d.sentences[1:-1])
        for obj in d.entities["objects"]:                # "a(n) ... obj" comes before "the obj"
            first_a = next(i for i, s in enumerate(d.sentences) if re.search(rf"\ban? \w+ {obj}\b", s))
            first_the = next((i for i, s in enumerate(d.sentences) if re.search(rf"\bthe {obj}\b", s)), None)
            assert first_the is None or first_a < first_the
        friend = d.entities["friend"]
        uses = [i for i, s in enumerate(d.sentences) if re.search(rf"\b{friend}\b", s)]
        if uses:
            assert "called " + friend in d.sentences[uses[0]]
    middle = sum(len(d.sentences) - 2 for d in docs)
    assert 0.4 < markers / middle < 0.7                  # about half of the middle sentences


def test_topic_words_are_shared_within_a_document_not_across(docs):
    def words(s):
        return set(re.findall(r"[a-z]+", s.lower())) - {"the", "a", "an", "in", "to", "of", "and", "on", "day", "he",
                                                         "she", "was", "with", "at", "it", "so", "her", "him"}
    within = [len(words(d.sentences[i]) & words(d.sentences[i + 1])) for d in docs for i in range(len(d.sentences) - 1)]
    across = [len(words(a.sentences[1]) & words(b.sentences[2])) for a, b in zip(docs, docs[1:])]
    assert sum(within) / len(within) > 2 * sum(across) / len(across)


def test_finding_reads_the_numbers():
    rows = [{"objective": "nsp", "sop": 0.51, "nsp": 0.9, "pairs": {"sop": 400, "nsp": 400}},
            {"objective": "sop", "sop": 0.85, "nsp": 0.70, "pairs": {"sop": 400, "nsp": 400}}]
    assert finding(rows)["shown"]
    rows[0]["sop"] = 0.75
    assert not finding(rows)["nsp_model_sop"]["near_chance"] and not finding(rows)["shown"]


def test_reproduce_table5_tiny(tmp_path):
    result = reproduce_table5(tmp_path / "t5", seed=0, steps=3, documents=60, results_dir=tmp_path / "results",
                              log_every=None)
    assert [r["objective"] for r in result["rows"]] == ["none", "nsp", "sop"]
    for r in result["rows"]:
        for key in ("mlm", "nsp", "sop"):
            assert 0.0 <= r[key] <= 1.0
        assert r["paper"] == PAPER[r["objective"]]
        assert r["steps"] == 3
        assert r["record"] and json.loads(open(r["record"]).read())["kind"] == "pretrain"   # a record per objective
    none = result["rows"][0]
    assert none["sentence_head"] == "untrained"
    assert 0.0 <= none["nsp_probe"] <= 1.0 and 0.0 <= none["sop_probe"] <= 1.0
    md = (tmp_path / "t5" / "table5.md").read_text()
    assert "| objective | MLM | NSP | SOP | paper MLM | paper NSP | paper SOP |" in md
    for paper in ("54.9 | 52.4 | 53.3", "54.5 | 90.5 | 52.0", "54.0 | 78.9 | 86.5"):
        assert paper in md
    saved = json.loads((tmp_path / "t5" / "table5.json").read_text())
    assert [r["objective"] for r in saved["rows"]] == ["none", "nsp", "sop"] and "shown" in saved["finding"]



@pytest.mark.parametrize("design", ["chain", "weekdays"])
def test_chain_designs_have_only_local_order_cues(design):
    docs = generate_documents(seed=0, n=300, design=design)
    assert len({d.entities["person"] for d in docs}) > 280            # a name of its own, almost always
    assert all(6 <= len(d.sentences) <= 12 for d in docs)
    if design == "weekdays":                         # a story starts on any day
        assert len({d.sentences[0].split(",")[0] for d in docs}) == 7
    for d in docs:
        things = d.entities["things"]
        for i, s in enumerate(d.sentences):          # one form everywhere: no opening, no ending, no counter
            assert re.search(rf"\b{d.entities['person']}\b", s)        # every sentence names the person
            assert re.search(rf"\bthe {things[i]}\b", s) and re.search(rf"\ban? {things[i + 1]}\b", s)
            assert not s.startswith(("In the end", "Finally", "On day"))
        if design == "weekdays":                     # each day follows the previous one, cyclically
            days = [WEEKDAYS.index(s.split(",")[0].removeprefix("On ")) for s in d.sentences]
            assert all((b - a) % 7 == 1 for a, b in zip(days, days[1:]))
