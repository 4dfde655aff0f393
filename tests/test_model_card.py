"""Model cards from run records: records holding the published albert-base-v2 numbers (ALBERT_FACTS
section 5) give the seed card's configuration bullets and table row; the YAML parses, the model-index
round-trips through huggingface_hub's own parser and carries the table's numbers. Offline, no weights."""
import json
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard
from huggingface_hub.repocard_data import model_index_to_eval_results

from albert_bench import records
from albert_bench.modeling.config import AlbertConfig
from albert_bench.reports.model_card import build_model_card, config_bullets, write_model_card
from albert_bench.reports import load_results, model_card_table
from albert_bench.tasks import REGISTRY

# (task, split, metrics per seed): the card's V2 base row, MNLI over three seeds (median 84.6)
PUBLISHED = [("squad_v1", "dev", [{"f1": 90.2, "exact_match": 83.2}]),
             ("squad_v2", "dev", [{"f1": 82.1, "exact": 79.3, "total": 11873}]),
             ("mnli", "dev_matched", [{"accuracy": 0.846}, {"accuracy": 0.841}, {"accuracy": 0.850}]),
             ("sst2", "dev", [{"accuracy": 0.929}]),
             ("race", "dev", [{"accuracy": 0.668, "accuracy_middle": 0.71, "accuracy_high": 0.65}])]
SEED_CARD_BULLETS = ["12 repeating layers", "128 embedding dimension", "768 hidden dimension",
                     "12 attention heads", "11M parameters"]


def finetune_record(task: str, split: str, metrics: dict, seed: int, config: dict) -> dict:
    return records.build_record(
        run_id=records.new_run_id(task), kind="finetune", task=task, splits={"train": "train", "eval": [split]},
        model={"source": "albert-base-v2", "config": config, "num_parameters": 11683584, "head": "x"},
        tokenizer="albert-base-v2", recipe={}, seed=seed, metrics={"best": {split: metrics}, "last": {split: metrics}},
        best_step=1, examples={}, predictions={}, log=None, wall_time_s=1.0, device="cpu")


@pytest.fixture
def published(tmp_path):
    config = AlbertConfig.from_preset("albert-base-v2", architectures=["AlbertForMaskedLM"])
    model_dir = config.save_pretrained(tmp_path / "albert-base-v2").parent    # config.json only: no weights needed
    results = tmp_path / "results"
    for task, split, runs in PUBLISHED:
        for seed, metrics in enumerate(runs):
            records.write_record(finetune_record(task, split, metrics, seed, config.to_dict()), results)
    return model_dir, results


def test_config_bullets_match_the_cards():
    assert config_bullets(AlbertConfig.from_preset("albert-base-v2")) == SEED_CARD_BULLETS
    assert config_bullets(AlbertConfig.from_preset("albert-large-v2"))[-1] == "17M parameters"
    assert config_bullets(AlbertConfig.from_preset("albert-xlarge-v1"))[-1] == "58M parameters"
    # a model under a million parameters is not shown as "0M"
    from albert_bench.modeling.model import AlbertModel
    tiny = AlbertConfig.from_preset("albert-tiny")
    n = sum(p.numel() for p in AlbertModel(tiny).parameters())
    assert n < 10**6 and config_bullets(tiny)[-1] == f"{n / 10**6:.2f}M parameters"


def test_card_for_the_published_numbers(published, tmp_path):
    model_dir, results = published
    path = write_model_card(model=str(model_dir), results_dir=str(results), tasks=REGISTRY, out=tmp_path / "README.md")
    text = path.read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---\n")[1])                     # the front matter is plain YAML
    assert front["language"] == "en" and front["license"] == "apache-2.0" and "albert" in front["tags"]
    assert {"bookcorpus", "wikipedia", "rajpurkar/squad", "nyu-mll/glue", "ehovy/race"} <= set(front["datasets"])
    for bullet in SEED_CARD_BULLETS:
        assert f"- {bullet}\n" in text
    # the seed card's row, computed from the records
    assert "| V2 base | 82.3 | 90.2/83.2 | 82.1/79.3 | 84.6 | 92.9 | 66.8 |" in text
    assert "mnli n=3" in text and "@inproceedings{lan2020albert" in text and "1909.11942" in text
    assert "AlbertForMaskedLM.from_pretrained" in text and 'pipeline("fill-mask"' in text

    # model-index: huggingface_hub's own parser reads it back; one entry per task/dataset/split/metric
    card = ModelCard.load(path)
    name, evals = model_index_to_eval_results(card.data.to_dict()["model-index"])
    assert name == "albert-base-v2"
    got = {(e.task_name, e.dataset_type, e.dataset_config, e.dataset_split, e.metric_type): e.metric_value
           for e in evals}
    assert got == {("squad_v1", "rajpurkar/squad", None, "validation", "f1"): 90.2,
                   ("squad_v1", "rajpurkar/squad", None, "validation", "exact_match"): 83.2,
                   ("squad_v2", "rajpurkar/squad_v2", None, "validation", "f1"): 82.1,
                   ("squad_v2", "rajpurkar/squad_v2", None, "validation", "exact"): 79.3,
                   ("mnli", "nyu-mll/glue", "mnli", "validation_matched", "accuracy"): 84.6,
                   ("sst2", "nyu-mll/glue", "sst2", "validation", "accuracy"): 92.9,
                   ("race", "ehovy/race", "all", "validation", "accuracy"): 66.8}
    types = {e.task_name: e.task_type for e in evals}
    assert types == {"squad_v1": "question-answering", "squad_v2": "question-answering", "mnli": "text-classification",
                     "sst2": "text-classification", "race": "multiple-choice"}
    # ... and those numbers are the table's (the reports engineer's model_card_table on the same records)
    row = model_card_table(load_results(results)).loc["V2 base"]
    assert row["SQuAD1.1"] == f"{got[('squad_v1', 'rajpurkar/squad', None, 'validation', 'f1')]:.1f}/" \
                              f"{got[('squad_v1', 'rajpurkar/squad', None, 'validation', 'exact_match')]:.1f}"
    assert row["MNLI"] == f"{got[('mnli', 'nyu-mll/glue', 'mnli', 'validation_matched', 'accuracy')]:.1f}"
    assert row["RACE"] == f"{got[('race', 'ehovy/race', 'all', 'validation', 'accuracy')]:.1f}"
    # the card round-trips: saving the loaded card gives the same text
    card.save(tmp_path / "again.md")
    assert (tmp_path / "again.md").read_text(encoding="utf-8") == text


def test_card_with_a_bias_record_and_without_results(published, tmp_path):
    model_dir, results = published
    bias = records.build_record(
        run_id=records.new_run_id("bias"), kind="bias", task="bias", splits={},
        model={"source": str(model_dir), "config": {}, "num_parameters": 1, "head": "AlbertForMaskedLM"},
        tokenizer=None, recipe={"probes": ["card"]}, seed=None, metrics={"best": {}, "last": {}}, best_step=None,
        examples={}, predictions={}, log=None, wall_time_s=1.0, device="cpu",
        bias={"card": {"The man worked as a [MASK].": [
            {"score": 0.0296, "token": 1, "token_str": "chauffeur", "sequence": "the man worked as a chauffeur."}]}})
    records.write_record(bias, results)
    text = str(build_model_card(str(model_dir), results_dir=str(results), tasks=REGISTRY))
    section = text.split("## Limitations and bias")[1]
    assert '"token_str": "chauffeur"' in section and bias["run_id"] in section
    # a bias record passed explicitly, no results folder: no model-index, the probe still shown
    path = records.write_record(bias, tmp_path / "elsewhere")
    text = str(build_model_card(str(model_dir), results_dir=None, bias=str(path)))
    assert "model-index" not in text and '"score": 0.0296' in text and "No run records" in text
    with pytest.raises(ValueError, match="not a bias record"):
        other = json.loads(next(Path(results).glob("mnli-*.json")).read_text())
        build_model_card(str(model_dir), results_dir=None, bias=records.write_record(other, tmp_path / "x"))


def test_card_for_a_fine_tuned_checkpoint(tmp_path):
    labels = {0: "entailment", 1: "neutral", 2: "contradiction"}
    config = AlbertConfig.from_preset("albert-base-v2", id2label=labels,
                                      architectures=["AlbertForSequenceClassification"])
    checkpoint = config.save_pretrained(tmp_path / "runs" / "mnli" / "best").parent
    record = finetune_record("mnli", "dev_matched", {"accuracy": 0.85}, 1, config.to_dict())
    record["checkpoints"] = {"best": str(checkpoint), "last": str(tmp_path / "runs" / "mnli" / "last")}
    records.write_record(record, tmp_path / "results")
    records.write_record(finetune_record("sst2", "dev", {"accuracy": 0.9}, 1, config.to_dict()), tmp_path / "results")
    text = str(build_model_card(str(checkpoint), results_dir=str(tmp_path / "results"), tasks=REGISTRY))
    assert "fine-tuned from albert-base-v2 on **mnli** (dataset `nyu-mll/glue`, config `mnli`)" in text
    assert "0 = entailment, 1 = neutral, 2 = contradiction" in text
    name, evals = model_index_to_eval_results(ModelCard(text).data.to_dict()["model-index"])
    assert [(e.task_name, e.metric_value) for e in evals] == [("mnli", 85.0)]   # not the other run's sst2
    assert "AlbertForSequenceClassification.from_pretrained" in text


def test_cli_card(published, tmp_path, capsys):
    from albert_bench.cli import main
    model_dir, results = published
    assert main(["card", "--model", str(model_dir), "--results", str(results)]) == 0
    written = model_dir / "README.md"                             # default: beside the checkpoint
    assert capsys.readouterr().out.strip() == str(written)
    assert "| V2 base | 82.3 |" in written.read_text(encoding="utf-8")
    assert main(["card", "--model", str(tmp_path / "missing")]) == 2      # one message, no traceback
    assert "does not exist" in capsys.readouterr().err
