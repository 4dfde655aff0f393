"""Scoring a checkpoint again gives the numbers it was fine-tuned to: the input settings
(max_seq_length, SQuAD's doc_stride...) travel with the checkpoint (albert_bench/engine/inputs.py), and
evaluate / predict resolve each one flag > checkpoint > recipe, saying where it came from."""
import json
import shutil
from pathlib import Path

import pytest
import torch

from albert_bench import records
from albert_bench.engine import inputs
from albert_bench.engine import runs
from albert_bench.modeling.config import AlbertConfig
from albert_bench.demo.data import write_demo_data
from albert_bench.modeling.model import AlbertModel
from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece
from albert_bench.tasks import get_task


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Demo RTE and SQuAD files, a tokenizer trained on them, a tiny random ALBERT (512 positions,
    so the recipe's 512 differs from the fine-tuning lengths)."""
    root = tmp_path_factory.mktemp("repro")
    dirs = write_demo_data(root / "data", seed=0, size="ci")
    texts = []
    for folder in (dirs["rte"], dirs["squad_v1"]):
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                texts.extend(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    spiece = train_sentencepiece(texts, root / "tok", vocab_size=600)
    tok = AlbertTokenizer(str(spiece))
    torch.manual_seed(0)
    config = AlbertConfig(vocab_size=tok.vocab_size, embedding_size=16, hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=4, intermediate_size=37, max_position_embeddings=512)
    AlbertModel(config).save_pretrained(root / "model", tokenizer=tok)
    return root, dirs


def _finetune(root, dirs, task, **overrides):
    return runs.finetune(task=get_task(task), model=str(root / "model"), data_dir=str(dirs[task]),
                         output_dir=str(root / "runs" / task), results_dir=str(root / "results"), recipe="quick",
                         max_steps=6, seed=0, max_eval_examples=24,
                         overrides={"batch_size": 8, "lr": 1e-3, "eval_every": 3, **overrides})


@pytest.fixture(scope="module")
def rte_run(setup):
    root, dirs = setup
    return root, dirs, _finetune(root, dirs, "rte", max_seq_length=16)


@pytest.fixture(scope="module")
def squad_run(setup):
    root, dirs = setup
    return root, dirs, _finetune(root, dirs, "squad_v1", max_seq_length=48, doc_stride=16, max_query_length=12)


def _predictions(record, split, which=""):
    name = f"predictions-{split}{which}.jsonl"
    return records.read_jsonl(Path(record["path"]).parent / record["run_id"] / name)


def test_checkpoint_carries_its_input_settings(squad_run):
    root, _, record = squad_run
    for which in ("best", "last"):
        saved = json.loads((root / "runs" / "squad_v1" / which / inputs.INPUTS_FILE).read_text())
        assert saved == {"format": "albert-bench-inputs", "version": 1, "task": "squad_v1", "labels": [],
                         "base_model": str(root / "model"), "max_seq_length": 48, "doc_stride": 16, "max_query_length": 12,
                         "max_answer_length": 30, "n_best": 20}
    assert record["inputs"]["doc_stride"] == {"value": 16, "source": "flag"}
    assert record["inputs"]["n_best"] == {"value": 20, "source": "recipe"}
    # transformers still loads the directory unchanged
    transformers = pytest.importorskip("transformers")
    transformers.AlbertForQuestionAnswering.from_pretrained(root / "runs" / "squad_v1" / "last")


@pytest.mark.parametrize("run", ["rte_run", "squad_run"])
def test_evaluate_without_flags_reproduces_the_finetune_scores(run, request, tmp_path):
    root, dirs, record = request.getfixturevalue(run)
    task = record["task"]
    again = runs.evaluate(task=get_task(task), model=str(root / "runs" / task / "last"), data_dir=str(dirs[task]),
                          results_dir=str(tmp_path), max_eval_examples=24)
    assert again["metrics"]["best"] == record["metrics"]["last"]
    assert _predictions(again, "dev") == _predictions(record, "dev", "-last")
    assert again["features"]["dev"] == record["features"]["dev"]
    assert {k: v["source"] for k, v in again["inputs"].items()} == {k: "checkpoint" for k in inputs.names(get_task(task))}
    assert again["inputs"]["max_seq_length"]["value"] == record["inputs"]["max_seq_length"]["value"]


def test_flag_wins_and_the_record_says_so(squad_run, tmp_path):
    root, dirs, record = squad_run
    again = runs.evaluate(task=get_task("squad_v1"), model=str(root / "runs" / "squad_v1" / "last"),
                          data_dir=str(dirs["squad_v1"]), results_dir=str(tmp_path), max_eval_examples=24,
                          input_settings={"doc_stride": 32})
    assert again["inputs"]["doc_stride"] == {"value": 32, "source": "flag"}
    assert again["inputs"]["max_seq_length"] == {"value": 48, "source": "checkpoint"}
    assert again["features"]["dev"] < record["features"]["dev"]   # a longer stride: fewer windows


def test_checkpoint_without_saved_settings_uses_the_recipe(rte_run, tmp_path, monkeypatch):
    root, dirs, record = rte_run
    elsewhere = tmp_path / "from-elsewhere"
    shutil.copytree(root / "runs" / "rte" / "last", elsewhere)
    (elsewhere / inputs.INPUTS_FILE).unlink()
    task = get_task("rte")
    lengths = []
    featurize = type(task).featurize
    monkeypatch.setattr(type(task), "featurize",
                        lambda self, ex, tok, n: lengths.append(n) or featurize(self, ex, tok, n))
    again = runs.evaluate(task=task, model=str(elsewhere), data_dir=str(dirs["rte"]),
                          results_dir=str(tmp_path / "res"), max_eval_examples=24)
    assert again["inputs"]["max_seq_length"] == {"value": 512, "source": "recipe"}
    assert lengths == [512]
    assert record["inputs"]["max_seq_length"] == {"value": 16, "source": "flag"}


def test_cli_flags_and_predict_writes_only_where_told(rte_run, tmp_path, monkeypatch):
    from albert_bench import cli
    root, dirs, _ = rte_run
    monkeypatch.chdir(tmp_path)
    args = ["predict", "--model", str(root / "runs" / "rte" / "last"), "--task", "rte", "--data-dir",
            str(dirs["rte"]), "--output-dir", "sub", "--results-dir", "res", "--max-seq-length", "24"]
    assert cli.main(args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res", "sub"]
    (rec,) = records.load_records(tmp_path / "res")
    assert rec["kind"] == "predict" and rec["inputs"]["max_seq_length"] == {"value": 24, "source": "flag"}
    assert (tmp_path / "sub" / "RTE.tsv").is_file()
    # without --results-dir the record goes beside the submission files
    assert cli.main(args[:-4] + ["--output-dir", "sub2"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res", "sub", "sub2"]
    assert len(records.load_records(tmp_path / "sub2")) == 1


def test_setting_the_task_does_not_have_is_an_error(rte_run, tmp_path, capsys):
    from albert_bench import cli
    root, dirs, _ = rte_run
    code = cli.main(["evaluate", "--model", str(root / "runs" / "rte" / "last"), "--task", "rte",
                     "--data-dir", str(dirs["rte"]), "--results-dir", str(tmp_path), "--doc-stride", "64"])
    assert code == 2
    assert "--doc-stride does not apply to task 'rte'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_broken_inputs_file_names_the_file(tmp_path):
    (tmp_path / inputs.INPUTS_FILE).write_text("{")
    with pytest.raises(ValueError, match=inputs.INPUTS_FILE):
        inputs.read(tmp_path)
    (tmp_path / inputs.INPUTS_FILE).write_text('{"format": "albert-bench-inputs", "version": 9}')
    with pytest.raises(ValueError, match="upgrade"):
        inputs.read(tmp_path)


def test_resolve_order_and_task_copies():
    task = get_task("squad_v2")
    values, sources = inputs.resolve(task, flags={"doc_stride": 64}, saved={"doc_stride": 32, "n_best": 10})
    assert (values["doc_stride"], sources["doc_stride"]) == (64, "flag")
    assert (values["n_best"], sources["n_best"]) == (10, "checkpoint")
    assert (values["max_seq_length"], sources["max_seq_length"]) == (512, "recipe")
    assert inputs.resolve(get_task("squad_v1"))[0]["max_seq_length"] == 384
    changed = inputs.configure(task, values)
    assert (changed.doc_stride, changed.n_best, changed.null_threshold) == (64, 10, None)
    assert get_task("squad_v2").doc_stride == 128            # the registry's task is untouched
    with pytest.raises(ValueError, match="doc_stride must be"):
        task.with_inputs(doc_stride=0)


def test_tasks_listing_marks_only_scores(capsys):
    from albert_bench import cli
    cli.main(["tasks"])
    out = capsys.readouterr().out
    block = out.split("\nsquad_v2:")[1].split("\n\n")[0]        # one block per task (wrapped at 100 columns)
    assert "f1 ↑" in block and "total," in block and "total ↑" not in block and "null_threshold ↓" not in block
