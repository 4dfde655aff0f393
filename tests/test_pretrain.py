"""`albert-bench pretrain`: the loss falls, the output is a Hugging Face ALBERT folder that
transformers loads with equal outputs, resume after a kill equals an uninterrupted run, and
two data-parallel processes equal one."""
import json
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file

from albert_bench.cli import main
from albert_bench.modeling.model import AlbertForPreTraining, AlbertForSequenceClassification
from albert_bench.pretraining.pretrain import pretrain
from albert_bench.pretraining.data import word_start_table
from albert_bench.pretraining.heldout import (heldout_instances, masked_token_accuracy, most_frequent_token_id,
                                        texts_to_corpus, unigram_baseline_accuracy)
from albert_bench.modeling.tokenizer import AlbertTokenizer
from albert_bench.engine.train import TrainingInterrupted

ADJ = "red blue green big small old young happy".split()
NOUN = "cat dog bird fish horse mouse tree house".split()
VERB = "sees likes chases finds".split()
SMALL = dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.0)  # no dropout at all


def write_corpus(path, n_docs=40, seed=0):
    """Documents of templated sentences, blank lines between them: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(n_docs):
        lines = [f"the {rng.choice(ADJ)} {rng.choice(NOUN)} {rng.choice(VERB)} the {rng.choice(NOUN)}."
                 for _ in range(int(rng.integers(4, 12)))]
        docs.append("\n".join(lines))
    path.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One CLI run: 30 LAMB steps of a tiny ALBERT, with a tokenizer trained on the corpus."""
    root = tmp_path_factory.mktemp("pretrain")
    corpus = write_corpus(root / "corpus.txt")
    out = root / "out"
    rc = main(["pretrain", "--corpus", str(corpus), "--config", "albert-tiny", "--vocab-size", "120",
               "--output-dir", str(out), "--steps", "30", "--seq-len", "64", "--batch-size", "16", "--lr", "1e-2",
               "--seed", "1", "--heldout-fraction", "0.1", "--device", "cpu",
               "--set", "hidden_dropout_prob=0.0", "--set", "attention_probs_dropout_prob=0.0"])
    assert rc == 0
    return corpus, out


def test_loss_falls_and_output_is_a_model_folder(trained):
    _, out = trained
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == list(range(1, 31))
    first, last = np.mean([e["mlm_loss"] for e in log[:5]]), np.mean([e["mlm_loss"] for e in log[-5:]])
    assert last < first - 0.3, (first, last)         # 30 steps: about the unigram entropy (from ln V)
    assert all(e["loss"] == pytest.approx(e["mlm_loss"] + e["sop_loss"]) for e in log)
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["AlbertForPreTraining"] and config["vocab_size"] <= 120
    for name in ("model.safetensors", "spiece.model", "tokenizer_config.json", "pretrain_summary.json"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "pretrain_summary.json").read_text())
    held = summary["heldout"]
    assert held["masked_tokens"] > 50 and held["instances"] >= 5 and held["documents"] >= 2
    assert 0.0 < held["unigram_baseline_accuracy"] < 1.0 and 0.0 <= held["masked_token_accuracy"] <= 1.0
    assert summary["settings"]["max_predictions"] == 10                        # round(0.15 * 64)


def test_transformers_loads_it_with_equal_outputs(trained):
    transformers = pytest.importorskip("transformers")
    _, out = trained
    ours = AlbertForPreTraining.from_pretrained(out).eval()
    theirs = transformers.AlbertForPreTraining.from_pretrained(out).eval()
    tok = AlbertTokenizer.from_pretrained(out)
    batch = tok(["the red cat sees the dog.", "the big old horse"], ["the tree.", "finds the small mouse."],
                padding=True, return_tensors="pt")
    with torch.no_grad():
        a, b = ours(**batch), theirs(**batch)
    torch.testing.assert_close(a.prediction_logits, b.prediction_logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a.sop_logits, b.sop_logits, atol=1e-5, rtol=1e-5)


def test_finetune_heads_and_fill_mask_take_it(trained, capsys):
    _, out = trained
    clf = AlbertForSequenceClassification.from_pretrained(out, num_labels=2)
    pre = load_file(str(out / "model.safetensors"))
    torch.testing.assert_close(clf.albert.pooler.weight, pre["albert.pooler.weight"])
    assert main(["fill-mask", "--model", str(out), "the red [MASK] sees the dog.", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out.splitlines()[-1])) == 5


def test_heldout_helpers(trained):
    corpus, out = trained
    model, tok = AlbertForPreTraining.from_pretrained(out), AlbertTokenizer.from_pretrained(out)
    texts = corpus.read_text().split("\n\n")[-4:]
    acc = masked_token_accuracy(model, tok, texts, seed=3, seq_len=64)
    assert 0.0 < acc <= 1.0 and acc == masked_token_accuracy(model, tok, texts, seed=3, seq_len=64)
    top = most_frequent_token_id(tok, corpus.read_text().split("\n\n"))
    counts = np.bincount([i for line in corpus.read_text().splitlines() for i in tok.encode(line)])
    counts[:5] = 0                                        # special ids are never the baseline's answer
    assert top == int(counts.argmax())
    base = unigram_baseline_accuracy(tok, texts, top, seed=3, seq_len=64)
    data = texts_to_corpus(tok, texts)
    labels = np.concatenate([x["labels"][x["labels"] >= 0]
                             for x in heldout_instances(data, data.document_ranges(), 3, 64, tok.vocab_size,
                                                        word_starts=word_start_table(tok))])
    assert base == pytest.approx(np.mean(labels == top)) and 0.0 < base < 1.0


def _run(tmp, corpus, out, **kw):
    args = dict(corpus=[corpus], config="albert-tiny", vocab_size=100, output_dir=tmp / out, steps=8, seq_len=48,
                batch_size=6, micro_batch_size=4, lr=5e-3, seed=2, device="cpu", checkpoint_every=3, cache_dir=tmp / "cache",
                config_overrides=dict(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1))  # dropout: RNG matters
    return pretrain(**{**args, **kw})


def test_resume_after_kill_equals_uninterrupted(tmp_path):
    corpus = write_corpus(tmp_path / "c.txt", n_docs=10)
    _run(tmp_path, corpus, "full")
    with pytest.raises(TrainingInterrupted):
        _run(tmp_path, corpus, "cut", _stop_at_step=5)     # last checkpoint: step 3
    assert json.loads((tmp_path / "cut/checkpoint/trainer_state.json").read_text())["step"] == 3
    assert not (tmp_path / "cut/model.safetensors").exists()
    with pytest.raises(ValueError, match="seq_len: 48 then, 40 now"):
        _run(tmp_path, corpus, "cut", resume=True, seq_len=40)
    _run(tmp_path, corpus, "cut", resume=True, data_workers=1)   # batches built in a worker: the same
    full, cut = ([json.loads(line) for line in (tmp_path / name / "log.jsonl").read_text().splitlines()]
                 for name in ("full", "cut"))
    assert [e["step"] for e in cut] == list(range(1, 9))
    for a, b in zip(full, cut):
        assert a["lr"] == b["lr"] and a["masked_tokens"] == b["masked_tokens"]
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-6)
    wa, wb = (load_file(str(tmp_path / name / "model.safetensors")) for name in ("full", "cut"))
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], atol=1e-6, rtol=1e-5)
    other = _run(tmp_path, corpus, "other", seed=3, steps=1)   # not vacuous: another seed differs
    assert other["loss"] != pytest.approx(full[0]["loss"], abs=1e-3)


def test_adamw_option_trains(tmp_path):
    corpus = write_corpus(tmp_path / "c.txt", n_docs=5)
    summary = _run(tmp_path, corpus, "adamw", optimizer="adamw", steps=2, config_overrides=SMALL)
    assert summary["optimizer"] == "adamw" and summary["steps"] == 2
    with pytest.raises(ValueError, match="--optimizer 'sgd'"):
        _run(tmp_path, corpus, "sgd", optimizer="sgd")


def test_user_errors(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "c.txt", n_docs=3)
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", "--corpus", str(corpus), "--config", "albert-tiny", "--output-dir", str(tmp_path / "o")])
    assert exit_info.value.code == 2
    assert "one of the arguments --tokenizer --vocab-size is required" in capsys.readouterr().err
    rc = main(["pretrain", "--corpus", str(tmp_path / "missing.txt"), "--config", "albert-tiny", "--vocab-size", "50",
               "--output-dir", str(tmp_path / "o")])
    assert rc == 2 and "--corpus: " in capsys.readouterr().err
    rc = main(["pretrain", "--corpus", str(corpus), "--config", "albert-huge", "--vocab-size", "50",
               "--output-dir", str(tmp_path / "o")])
    assert rc == 2 and "neither a preset" in capsys.readouterr().err
    with pytest.raises(ValueError, match="exactly one of --tokenizer DIR"):
        pretrain(corpus=[corpus], config="albert-tiny", output_dir=tmp_path / "o")
    with pytest.raises(ValueError, match="max_position_embeddings"):
        pretrain(corpus=[corpus], config="albert-tiny", vocab_size=50, output_dir=tmp_path / "o", seq_len=128)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        _run(tmp_path, corpus, "never", resume=True)


# ---- data parallel -------------------------------------------------------------------------

DDP = dict(steps=3, batch_size=5, micro_batch_size=2, checkpoint_every=3, config_overrides=SMALL)


def _worker(rank, world, port, tmp, corpus):
    import os
    from pathlib import Path
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    _run(Path(tmp), Path(corpus), "two", **DDP)


def test_two_processes_equal_one(tmp_path):
    corpus = write_corpus(tmp_path / "c.txt", n_docs=10)
    _run(tmp_path, corpus, "one", **DDP)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_worker, args=(2, port, str(tmp_path), str(corpus)), nprocs=2, join=True)
    one, two = (load_file(str(tmp_path / name / "model.safetensors")) for name in ("one", "two"))
    for key in one:
        torch.testing.assert_close(one[key], two[key], atol=1e-5, rtol=1e-4)
    logs = [[json.loads(line) for line in (tmp_path / name / "log.jsonl").read_text().splitlines()]
            for name in ("one", "two")]
    for a, b in zip(*logs):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-5) and a["masked_tokens"] == b["masked_tokens"]
