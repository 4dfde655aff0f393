"""Run records (schema, atomic writes, reading back) and the runs that write them:
finetune -> evaluate (labels matched by name) -> predict."""
import json
import math
import re

import numpy as np
import pytest
import torch

from albert_bench import records
from albert_bench.engine import runs
from albert_bench.modeling.model import AlbertForSequenceClassification
from toy_task import ToyTask, ToyTokenizer


def _record(run_id="toy-20250101T000000Z-abcdef", **changes):
    fields = dict(run_id=run_id, kind="finetune", task="toy", splits={"eval": ["dev"]}, model={"source": "x"},
                  tokenizer=None, recipe={"lr": 1e-3}, seed=1, metrics={"best": {"dev": {"accuracy": np.float64(0.5)}},
                                                                          "last": {"dev": {"accuracy": float("nan")}}},
                  best_step=3, examples={"dev": {"seen": 2, "skipped": 0}}, predictions={}, log=None,
                  wall_time_s=1.23456, device="cpu")
    return records.build_record(**{**fields, **changes})


def test_build_record_has_every_field_and_plain_json():
    r = _record()
    assert tuple(k for k in records.FIELDS if k in r) == records.FIELDS
    assert r["schema_version"] == 1
    assert set(r["versions"]) >= {"albert_bench", "torch", "python", "numpy"}
    assert r["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", r["git_commit"])
    assert r["created_at"].endswith("+00:00")
    assert type(r["metrics"]["best"]["dev"]["accuracy"]) is float
    assert r["metrics"]["last"]["dev"]["accuracy"] is None          # NaN is not JSON
    json.dumps(r, allow_nan=False)
    with pytest.raises(ValueError, match="kind"):
        _record(kind="train")


def test_run_id_shape():
    run_id = records.new_run_id("mnli")
    assert re.fullmatch(r"mnli-\d{8}T\d{6}Z-[0-9a-f]{6}", run_id)
    assert run_id != records.new_run_id("mnli")


def test_write_record_atomic_and_load_records(tmp_path):
    older = _record("toy-20250101T000000Z-000001")
    newer = _record("toy-20250101T000001Z-000002", kind="evaluate")
    newer["created_at"], older["created_at"] = "2025-01-02T00:00:00+00:00", "2025-01-01T00:00:00+00:00"
    path = records.write_record(newer, tmp_path)
    records.write_record(older, tmp_path)
    assert path == tmp_path / f"{newer['run_id']}.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{older['run_id']}.json", path.name])  # no temp files
    (tmp_path / "notes.json").write_text('{"other": 1}')
    loaded = records.load_records(tmp_path)
    assert [r["run_id"] for r in loaded] == [older["run_id"], newer["run_id"]]
    assert [r["run_id"] for r in records.load_records(tmp_path, kind="evaluate")] == [newer["run_id"]]
    with pytest.raises(ValueError, match="lacks field"):
        records.write_record({"run_id": "x"}, tmp_path)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="broken.json"):
        records.load_records(tmp_path)


def test_failed_write_leaves_old_record(tmp_path, monkeypatch):
    r = _record()
    path = records.write_record(r, tmp_path)
    before = path.read_text()
    monkeypatch.setattr(records, "to_jsonable", lambda obj: {**obj, "bad": object()})
    with pytest.raises(TypeError):
        records.write_record(r, tmp_path)
    assert path.read_text() == before and len(list(tmp_path.iterdir())) == 1


# ---- runs: finetune -> evaluate -> predict, through the record --------------------------

@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    record = runs.finetune(task=ToyTask(n=16), model="preset:albert-tiny", tokenizer=ToyTokenizer(),
                           output_dir=str(root / "out"), results_dir=str(root / "results"), recipe="quick",
                           max_steps=40, seed=0, overrides={"lr": 2e-3, "eval_every": 20, "warmup_steps": 4,
                                                            "batch_size": 8},
                           )
    return root, record


def test_finetune_record(finetuned):
    root, record = finetuned
    results = root / "results"
    assert json.loads((results / f"{record['run_id']}.json").read_text())["run_id"] == record["run_id"]
    assert record["kind"] == "finetune" and record["task"] == "toy" and record["seed"] == 0
    assert record["model"]["head"] == "AlbertForSequenceClassification" and record["model"]["num_parameters"] > 0
    assert record["model"]["config"]["id2label"] == {"0": "neg", "1": "pos"}
    assert record["recipe"]["train_steps"] == 40 and record["recipe"]["lr"] == 2e-3
    assert record["recipe"]["name"] == "quick"
    assert record["metrics"]["best"]["dev"]["accuracy"] >= record["metrics"]["last"]["dev"]["accuracy"] - 1e-9
    assert record["best_step"] in (20, 40)
    assert record["examples"]["train"] == {"seen": 16, "skipped": 1, "skipped_reasons": [{"reason": "toy", "count": 1}]}
    rows = records.read_jsonl(results / record["predictions"]["dev"])
    assert len(rows) == 16 and {"id", "prediction", "label"} <= set(rows[0])
    assert not record["predictions"]["dev"].startswith("/")
    log = records.read_jsonl(results / record["log"])
    assert len(log) == 40
    assert records.load_predictions(records.load_records(results)[0], "dev") == rows
    assert (root / "out" / "best" / "model.safetensors").is_file()


def _relabelled_copy(src, dst, id2label, swap):
    model = AlbertForSequenceClassification.from_pretrained(src)
    if swap:
        with torch.no_grad():
            model.classifier.weight.copy_(model.classifier.weight.flip(0))
            model.classifier.bias.copy_(model.classifier.bias.flip(0))
    model.config = model.config.with_overrides(id2label=id2label)
    model.save_pretrained(dst)
    return str(dst)


def test_evaluate_matches_labels_by_name(finetuned, tmp_path):
    root, record = finetuned
    best = root / "out" / "best"
    task = ToyTask(n=16)
    plain = runs.evaluate(task=task, model=str(best), tokenizer=ToyTokenizer(), results_dir=str(tmp_path))
    assert plain["kind"] == "evaluate"
    assert plain["metrics"]["best"]["dev"] == record["metrics"]["best"]["dev"]
    # a checkpoint that orders the labels the other way round scores the same
    swapped = _relabelled_copy(best, tmp_path / "swapped", {0: "pos", 1: "neg"}, swap=True)
    again = runs.evaluate(task=task, model=swapped, tokenizer=ToyTokenizer(), results_dir=str(tmp_path))
    assert again["label_permutation"] == [1, 0]
    assert again["metrics"]["best"]["dev"] == plain["metrics"]["best"]["dev"]
    # generic names need --label-map
    generic = _relabelled_copy(best, tmp_path / "generic", {0: "LABEL_0", 1: "LABEL_1"}, swap=False)
    with pytest.raises(ValueError, match="--label-map"):
        runs.evaluate(task=task, model=generic, tokenizer=ToyTokenizer(), results_dir=str(tmp_path))
    mapped = runs.evaluate(task=task, model=generic, tokenizer=ToyTokenizer(), results_dir=str(tmp_path),
                           label_map={"LABEL_0": "neg", "LABEL_1": "pos"})
    assert mapped["metrics"]["best"]["dev"] == plain["metrics"]["best"]["dev"]


def test_evaluate_refuses_checkpoint_without_head(finetuned, tmp_path):
    from albert_bench.modeling.model import AlbertModel
    root, _ = finetuned
    bare = AlbertModel.from_pretrained(root / "out" / "best")
    bare.save_pretrained(tmp_path / "bare")
    with pytest.raises(ValueError, match="fine-tune it first"):
        runs.evaluate(task=ToyTask(), model=str(tmp_path / "bare"), tokenizer=ToyTokenizer(), results_dir=str(tmp_path))


def test_predict_writes_submission_and_record(finetuned, tmp_path):
    root, _ = finetuned
    paths = runs.predict(task=ToyTask(n=16), model=str(root / "out" / "best"), tokenizer=ToyTokenizer(),
                         output_dir=str(tmp_path / "sub"), results_dir=str(tmp_path / "res"))
    assert paths == [tmp_path / "sub" / "TOY-test.tsv"]
    lines = paths[0].read_text().splitlines()
    assert lines[0] == "index\tprediction" and len(lines) == 17
    (rec,) = records.load_records(tmp_path / "res")
    assert rec["kind"] == "predict" and rec["metrics"]["best"] == {"test": {}}
    assert rec["submission_files"] == [str(paths[0])]


def test_max_steps_keeps_warmup_fraction():
    task = ToyTask()
    rec = runs.resolve_recipe(task, "paper", "v2", {}, max_steps=200)
    assert rec.train_steps == 200 and rec.warmup_steps == round(1256 * 200 / 20935)
    assert math.isclose(runs.resolve_recipe(task, "paper", "v2", {"warmup_steps": 7}, 200).warmup_steps, 7)
    with pytest.raises(ValueError, match="unknown recipe field"):
        runs.resolve_recipe(task, "paper", "v2", {"learning_rate": 1}, None)


def test_infer_version():
    assert runs.infer_version("albert-base-v1") == "v1"
    assert runs.infer_version("albert/albert-xxlarge-v2") == "v2"
    assert runs.infer_version("runs/rte/best") == "v2"


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    """A report or record is readable by others as a plain open() would make it (mkstemp gives 0600)."""
    import os
    from albert_bench.io import atomic_write_text
    umask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "report.html", "<p>x</p>")
        assert path.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(umask)


def test_read_jsonl_names_the_bad_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 1}\n\n{"id": 2}\n')
    assert records.read_jsonl(path) == [{"id": 1}, {"id": 2}]
    path.write_text('{"id": 1}\n{"id": 2}, {"id": 3}\n')      # two values on one line parse as one list
    with pytest.raises(ValueError, match=r"p\.jsonl:2 is not valid JSON"):
        records.read_jsonl(path)
    path.write_text('{"id": 1}\n{"id": \n')
    with pytest.raises(ValueError, match=r"p\.jsonl:2"):
        records.read_jsonl(path)
