"""`pretrain --objective sop|nsp|none` (the paper's Table 5) and the intrinsic evaluation of MLM,
SOP and NSP on held-out text whatever the objective: NSP instances, an MLM-only run, the head's
and the linear probe's accuracies, the summary, the run record and the fine-tune record's
"pretraining"."""
import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from albert_bench.cli import main
from albert_bench.engine import inputs, runs
from albert_bench.engine.loading import model_summary, pretraining_of
from albert_bench.engine.train import TrainingInterrupted, set_seed
from albert_bench.modeling.config import AlbertConfig
from albert_bench.modeling.model import AlbertForPreTraining
from albert_bench.pretraining.data import IGNORE, InstanceStream, layout_chunks, split_heldout
from albert_bench.pretraining.intrinsic import fit_probe, intrinsic_scores
from albert_bench.pretraining.pretrain import PretrainingObjective, pretrain
from albert_bench.pretraining.token_cache import TokenCorpus
from albert_bench.reports.frame import load_results

from test_pretrain import SMALL, write_corpus
from toy_task import ToyTask, ToyTokenizer

SENT, SENTS = 7, 9     # tokens per sentence, sentences per document: 3 chunks of exactly 21 tokens


def toy_corpus(n_docs=8, sentence=SENT, sentences=SENTS) -> TokenCorpus:
    """Token ids say where they come from: id = 5 + document * W + position (W tokens a document)."""
    width = sentence * sentences
    return TokenCorpus.from_documents([[[5 + d * width + s * sentence + j for j in range(sentence)]
                                        for s in range(sentences)] for d in range(n_docs)])


def doc_of(ids, width=SENT * SENTS):
    return (np.asarray(ids) - 5) // width


def segments(x):
    """A and B of an instance with the masked tokens restored."""
    ids = np.where(x["labels"] != IGNORE, x["labels"], x["input_ids"])
    types = x["token_type_ids"]
    return ids[types == 0][1:-1], ids[types == 1][:-1]


def test_nsp_instances_half_random_never_from_the_same_document():
    corpus = toy_corpus()
    # seq_len 24: 21-token chunks of whole 7-token sentences, so no pair is ever truncated
    chunks = layout_chunks(corpus, corpus.document_ranges(), 21, seed=3, short_seq_prob=0.1)
    stream = InstanceStream(corpus, chunks, seed=3, max_seq_len=24, vocab_size=600, max_predictions=3, objective="nsp")
    n, random_b, others = 2000, 0, set()
    for k in range(n):
        x = stream[k]
        a, b = segments(x)
        assert len(a) and len(b)
        assert (doc_of(a) == x["document"]).all() and (np.diff(a) == 1).all()
        if x["sentence_order_label"] == 0:       # "is next": the text right after A
            assert x["b_document"] == x["document"]
            np.testing.assert_array_equal(b, np.arange(a[-1] + 1, a[-1] + 1 + len(b)))
        else:                                    # "random": contiguous text of ANOTHER document
            random_b += 1
            assert x["b_document"] != x["document"] and (doc_of(b) == x["b_document"]).all()
            assert (np.diff(b) == 1).all()
            others.add((x["document"], x["b_document"]))
    assert abs(random_b - n / 2) < 4.5 * np.sqrt(n / 4), random_b          # binomial(2000, 0.5): sd 22
    assert len(others) == 8 * 7                                            # every other document is drawn


def test_nsp_random_b_is_whole_sentences():
    """B ends where a sentence ends, as the true B does (cut at the true B's length it would end
    mid-sentence, a format cue of the label): documents of different sentence lengths."""
    docs, where, next_id = [], {}, 5
    for d in range(6):
        doc = []
        for s in range(8):
            sentence = list(range(next_id, next_id + 3 + d))     # document d: sentences of 3 + d tokens
            where.update({t: (d, j == len(sentence) - 1) for j, t in enumerate(sentence)})
            doc.append(sentence)
            next_id += len(sentence)
        docs.append(doc)
    corpus = TokenCorpus.from_documents(docs)
    chunks = layout_chunks(corpus, corpus.document_ranges(), 40, seed=0, short_seq_prob=0.0)
    stream = InstanceStream(corpus, chunks, seed=0, max_seq_len=200, vocab_size=next_id, max_predictions=3,
                            objective="nsp")
    lengths = []
    for k in range(400):
        x = stream[k]
        a, b = segments(x)
        if x["sentence_order_label"] == 1:
            assert where[int(b[-1])][1], "a random B ends mid-sentence"
            lengths.append(len(b))
    assert len(set(lengths)) > 3


def test_nsp_needs_two_documents():
    corpus = toy_corpus(n_docs=1)
    chunks = layout_chunks(corpus, corpus.document_ranges(), 21, seed=0)
    with pytest.raises(ValueError, match="--objective nsp needs at least two documents.*blank lines"):
        InstanceStream(corpus, chunks, 0, 24, 600, 3, objective="nsp")
    with pytest.raises(ValueError, match="--objective 'mlm' is not one of sop, nsp, none"):
        InstanceStream(corpus, chunks, 0, 24, 600, 3, objective="mlm")


def test_cli_nsp_on_one_document_is_a_usage_error(tmp_path, capsys):
    corpus = tmp_path / "one.txt"
    corpus.write_text("".join(f"the cat {w} the dog.\n" for w in "sees likes chases finds".split() * 5))
    rc = main(["pretrain", "--corpus", str(corpus), "--config", "albert-tiny", "--vocab-size", "40", "--steps", "1",
               "--seq-len", "32", "--batch-size", "2", "--device", "cpu", "--output-dir", str(tmp_path / "o"),
               "--objective", "nsp"])
    assert rc == 2 and "--objective nsp needs at least two documents" in capsys.readouterr().err


def _fingerprint(stream, n=200) -> str:
    h = hashlib.sha256()
    for k in range(n):
        x = stream[k]
        for key in ("input_ids", "token_type_ids", "labels"):
            h.update(x[key].tobytes())
        h.update(str(x["sentence_order_label"]).encode())
    return h.hexdigest()[:16]


def test_sop_instances_unchanged_by_the_objective_flag():
    """The default is today's SOP stream byte for byte (the fingerprint was taken before --objective)."""
    corpus = toy_corpus(sentence=5, sentences=10)
    train, _ = split_heldout(corpus, 0.25)
    chunks = layout_chunks(corpus, train, 21, 7, 0.1)
    default = InstanceStream(corpus, chunks, 7, 24, 500, 4)
    assert _fingerprint(default) == "0c85de50ac3c3fff"
    assert _fingerprint(InstanceStream(corpus, chunks, 7, 24, 500, 4, objective="sop")) == "0c85de50ac3c3fff"


# ---- the intrinsic evaluation on a model with a known rule ----------------------------------

class RuleModel(torch.nn.Module):
    """A stand-in AlbertForPreTraining whose sentence head applies a fixed rule to the token ids
    (robust to the one masked token of max_predictions=1: segment medians): "sop" says 1 when A's
    text comes after B's, "nsp" when A and B are from different documents, "zero" always 0. Its
    [CLS] feature is (median A - median B, different documents) or zeros for "zero"."""

    def __init__(self, rule, vocab_size=600):
        super().__init__()
        self.rule, self.vocab_size = rule, vocab_size
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, output_hidden_states=False):
        B, T = input_ids.shape
        predictions, features = [], []
        for i in range(B):
            ids, types = input_ids[i][attention_mask[i].bool()], token_type_ids[i][attention_mask[i].bool()]
            a, b = ids[types == 0][1:-1], ids[types == 1][:-1]
            ma, mb = a[a >= 5].median().item(), b[b >= 5].median().item()
            other = float(doc_of(ma) != doc_of(mb))
            predictions.append({"sop": int(ma > mb), "nsp": int(other), "zero": 0}[self.rule])
            features.append([ma - mb, other] if self.rule != "zero" else [0.0, 0.0])
        hidden = torch.zeros(B, T, 2)
        hidden[:, 0] = torch.tensor(features)
        return SimpleNamespace(prediction_logits=torch.zeros(B, T, self.vocab_size),
                               sop_logits=torch.nn.functional.one_hot(torch.tensor(predictions), 2).float(),
                               hidden_states=(hidden,))


def _scores(rule, heldout_fraction=0.34, n_docs=9):
    corpus = toy_corpus(n_docs=n_docs)
    train, held = split_heldout(corpus, heldout_fraction)
    return intrinsic_scores(RuleModel(rule), corpus, train, held, objective="none" if rule == "zero" else rule,
                            seed=0, seq_len=24, vocab_size=600, max_predictions=1)


def test_intrinsic_scores_follow_the_head_rule():
    sop, nsp, zero = _scores("sop"), _scores("nsp"), _scores("zero")
    assert sop["sop_accuracy"] == 1.0 and nsp["nsp_accuracy"] == 1.0
    assert sop["sentence_head"] == nsp["sentence_head"] == "trained" and zero["sentence_head"] == "untrained"
    assert sop["instances"] == sop["sop_instances"] >= 8 and nsp["nsp_instances"] >= 8
    # "always 0" scores the share of label 0; the sop rule on NSP pairs is no better than chance
    assert 0.2 < zero["sop_accuracy"] < 0.8 and 0.2 < zero["nsp_accuracy"] < 0.8
    assert sop["nsp_accuracy"] < 1.0
    # the probe reads the features: separable for the rule models, nothing to read in zeros
    assert sop["sop_probe_accuracy"] >= 0.9 and nsp["nsp_probe_accuracy"] >= 0.9
    assert zero["sop_probe_accuracy"] < 0.8 and "[CLS]" in zero["probe"]
    assert set(zero["probe_instances"]) == {"sop", "nsp"}


def test_a_single_heldout_document_has_no_nsp():
    scores = _scores("sop", heldout_fraction=0.1)        # the last 7 sentences: part of one document
    assert scores["nsp_accuracy"] is None and "1 document" in scores["nsp_missing"]
    assert scores["nsp_probe_accuracy"] is None and scores["sop_accuracy"] == 1.0


def test_probe_separates_separable_features_and_is_at_chance_on_shuffled_labels():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    x = rng.normal(size=(2000, 8)) + 3.0 * y[:, None] * np.eye(8)[0]       # class 1 shifted along one axis
    assert fit_probe(x[:1000], y[:1000], x[1000:], y[1000:]) >= 0.9
    shuffled = rng.permutation(y)
    assert abs(fit_probe(x[:1000], shuffled[:1000], x[1000:], shuffled[1000:]) - 0.5) < 0.07   # 4.4 sd of 1000
    assert fit_probe(x[:10], np.zeros(10, int), x[10:20], y[10:20]) is None                     # one class only


# ---- pretrain runs ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("objectives")
    return write_corpus(root / "c.txt", n_docs=12), root


def _run(root, corpus, out, **kw):
    args = dict(corpus=[corpus], config="albert-tiny", vocab_size=100, output_dir=root / out, steps=2, seq_len=48,
                batch_size=6, micro_batch_size=6, lr=5e-3, seed=2, device="cpu", cache_dir=root / "cache",
                config_overrides=SMALL)
    if (root / "tok" / "spiece.model").is_file():       # one tokenizer for every run of the module
        args.update(tokenizer=root / "tok", vocab_size=None)
    summary = pretrain(**{**args, **kw})
    if not (root / "tok").exists():
        (root / "tok").symlink_to(root / out / "tokenizer")
    return summary


def _log(root, out):
    return [json.loads(line) for line in (root / out / "log.jsonl").read_text().splitlines()]


def test_sop_default_equals_objective_sop(corpus):
    path, root = corpus
    default, sop = _run(root, path, "default"), _run(root, path, "sop", objective="sop")
    assert _log(root, "default") == [{**e} for e in _log(root, "sop")]
    assert default["objective"] == sop["objective"] == "sop"
    first = _log(root, "sop")[0]
    assert first["sop_loss"] == first["sentence_loss"] and first["loss"] == pytest.approx(
        first["mlm_loss"] + first["sop_loss"])


def test_objective_none_trains_mlm_only(corpus):
    path, root = corpus
    summary = _run(root, path, "none", objective="none", steps=3)
    log = _log(root, "none")
    assert all(e["sentence_loss"] is None and "sop_loss" not in e and e["loss"] == e["mlm_loss"] for e in log)
    assert summary["objective"] == "none" and summary["sentence_loss"] is None
    # the saved sentence head and pooler are the initial ones; the encoder moved
    config = AlbertConfig.from_pretrained(root / "none")
    set_seed(2)
    fresh = AlbertForPreTraining(config).state_dict()
    saved = load_file(str(root / "none" / "model.safetensors"))
    head = [k for k in saved if k.startswith(("sop_classifier.", "albert.pooler."))]
    assert len(head) == 4
    for key in head:
        torch.testing.assert_close(saved[key], fresh[key], rtol=0, atol=0)
    assert not torch.equal(saved["albert.embeddings.word_embeddings.weight"],
                           fresh["albert.embeddings.word_embeddings.weight"])
    # the loss module itself: no sentence term, no gradient into the head or the pooler
    model = AlbertForPreTraining(config)
    ids = torch.randint(5, config.vocab_size, (2, 10))
    labels = torch.full((2, 10), IGNORE)
    labels[:, 3] = ids[:, 3]
    mlm, sentence = PretrainingObjective(model, sentence=False)(ids, torch.zeros_like(ids), torch.ones_like(ids),
                                                                labels, torch.tensor([0, 1]))
    (mlm + sentence).backward()
    assert float(sentence) == 0.0
    assert all(p.grad is None for p in [*model.sop_classifier.parameters(), *model.albert.pooler.parameters()])
    assert model.albert.embeddings.word_embeddings.weight.grad is not None


def test_nsp_summary_record_and_resume(corpus, tmp_path):
    path, root = corpus
    results = tmp_path / "results"
    summary = _run(root, path, "nsp", objective="nsp", heldout_fraction=0.2, results_dir=results)
    saved = json.loads((root / "nsp" / "pretrain_summary.json").read_text())
    assert saved["objective"] == "nsp" and saved["sharing"] == "all" and saved["embedding_size"] == 16
    assert "sop_loss" not in saved and saved["sentence_loss"] is not None
    held = saved["heldout"]
    for key in ("masked_token_accuracy", "sop_accuracy", "nsp_accuracy", "sop_probe_accuracy", "nsp_probe_accuracy"):
        assert held[key] is None or 0.0 <= held[key] <= 1.0, key
    assert held["sentence_head"] == "trained" and held["nsp_accuracy"] is not None and held["probe"]
    record = json.loads(open(summary["record"]).read())
    assert record["kind"] == "pretrain" and record["task"] == "pretrain"
    assert record["metrics"]["heldout"] == held and record["model"]["head"] == "AlbertForPreTraining"
    assert record["model"]["source"] == str(root / "nsp")
    assert {k: record["pretraining"][k] for k in ("objective", "sharing", "embedding_size", "steps", "batch_size",
                                                  "seq_len")} == dict(objective="nsp", sharing="all", embedding_size=16,
                                                                       steps=2, batch_size=6, seq_len=48)
    assert record["pretraining"]["corpus"]["documents"] == 12
    loaded = load_results(results)
    assert loaded.warnings == [] and loaded.read == 1 and len(loaded.runs) == 0 and len(loaded.frame) == 0
    assert list(loaded.records) == [record["run_id"]]
    # a resumed run must keep its objective
    with pytest.raises(TrainingInterrupted):
        _run(root, path, "cut", objective="nsp", steps=4, checkpoint_every=1, _stop_at_step=2)
    with pytest.raises(ValueError, match="objective: nsp then, sop now"):
        _run(root, path, "cut", objective="sop", steps=4, checkpoint_every=1, resume=True)


def test_finetune_records_know_the_pretraining(corpus, tmp_path):
    path, root = corpus
    if not (root / "nsp").is_dir():
        _run(root, path, "nsp", objective="nsp", heldout_fraction=0.2)
    summary = json.loads((root / "nsp" / "pretrain_summary.json").read_text())
    want = {"objective": "nsp", "sharing": "all", "embedding_size": 16, "run_id": summary["run_id"], "steps": 2}
    model = AlbertForPreTraining.from_pretrained(root / "nsp")
    assert model_summary(str(root / "nsp"), model)["pretraining"] == want
    assert "pretraining" not in model_summary("albert-base-v2", model)
    # a summary from before --objective: it ran sop
    old = tmp_path / "old"
    old.mkdir()
    (old / "pretrain_summary.json").write_text(json.dumps({k: v for k, v in summary.items()
                                                           if k not in ("objective", "sharing", "embedding_size")}))
    assert pretraining_of(old) == {**want, "objective": "sop"}
    # finetune from it: the record says so, and so does its checkpoint's albert_bench_inputs.json,
    # whose base_model is a relative path no later scoring could follow
    rec = runs.finetune(task=ToyTask(n=8), model=str(root / "nsp"), tokenizer=ToyTokenizer(),
                        output_dir=str(tmp_path / "ft"), results_dir=str(tmp_path / "results"), recipe="quick",
                        max_steps=2, seed=0, overrides={"batch_size": 4, "eval_every": 2, "warmup_steps": 0})
    assert rec["model"]["pretraining"] == want
    best = Path(rec["checkpoints"]["best"])
    assert inputs.read(best)["base_pretraining"] == want
    scored = runs.evaluate(task=ToyTask(n=8), model=str(best), tokenizer=ToyTokenizer(),
                           results_dir=str(tmp_path / "results"))
    assert scored["model"]["pretraining"] == want


def test_paper_table5_links_a_fine_tune_to_its_pretraining_record(corpus, tmp_path):
    """pretrain --results-dir and a finetune from its folder, in one results folder: Table 5's NSP row has
    the pretraining's held-out accuracies and the fine-tune's score, with no label typed by hand."""
    from albert_bench.reports import load_results
    from albert_bench.reports.paper import paper_table
    path, root = corpus
    results = tmp_path / "results"
    summary = _run(root, path, "nsp-linked", objective="nsp", heldout_fraction=0.2, results_dir=results)
    runs.finetune(task=ToyTask(n=8), model=str(root / "nsp-linked"), tokenizer=ToyTokenizer(),
                  output_dir=str(tmp_path / "ft"), results_dir=str(results), recipe="quick", max_steps=2, seed=0,
                  overrides={"batch_size": 4, "eval_every": 2, "warmup_steps": 0})
    loaded = load_results(results)
    assert not loaded.warnings
    table = paper_table(5, loaded)
    (line,) = [i for i in table.index if i.startswith("NSP")]
    row = table.loc[line]
    heldout = summary["heldout"]
    assert row["MLM"] == f"{100 * heldout['masked_token_accuracy']:.1f}"
    assert row["NSP"] == f"{100 * heldout['nsp_accuracy']:.1f}" and row["SOP"] == f"{100 * heldout['sop_accuracy']:.1f}"
    assert row["ours"] != "–" and "pretraining only" not in line
    # the toy task is none of the paper's columns: its downstream cells stay empty, the paper's beside them
    assert row["MNLI"] == "–" and row["MNLI (paper)"] == "81.6"
