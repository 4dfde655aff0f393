"""A fine-tuned checkpoint knows what it is (its albert_bench_inputs.json: task, base model):
evaluate / predict refuse it on another task unless the pair is scored together by design (AX with
an MNLI model) or --force (the record says so); and it is named after its base model and task
(`albert-base-v2 (rte)`), in records, tables and its card, unless --name says otherwise."""

import pytest

from albert_bench import cli, records
from albert_bench.engine import inputs, runs
from albert_bench.tasks import get_task

TINY = {"batch_size": 8, "lr": 1e-3, "eval_every": 3, "max_seq_length": 32}


@pytest.fixture(scope="module")
def rte_checkpoint(tiny_checkpoint, tmp_path_factory):
    root, dirs, model = tiny_checkpoint
    out = tmp_path_factory.mktemp("rte_ckpt")
    record = runs.finetune(task=get_task("rte"), model=str(model), data_dir=str(dirs["rte"]), output_dir=str(out / "rte"),
                           results_dir=str(out / "results"), recipe="quick", max_steps=3, seed=0,
                           max_train_examples=16, max_eval_examples=16, overrides=TINY)
    return dirs, model, out / "rte" / "last", record


def test_other_task_is_refused_naming_both(rte_checkpoint, tmp_path, capsys):
    dirs, _, ckpt, _ = rte_checkpoint
    assert inputs.read(ckpt)["task"] == "rte"
    for task, verb in (("mrpc", "evaluate"), ("qnli", "evaluate"), ("mrpc", "predict")):
        argv = [verb, "--model", str(ckpt), "--task", task, "--data-dir", str(dirs["mrpc"]),
                "--results-dir", str(tmp_path / "r")] + (["--output-dir", str(tmp_path / "sub")] if verb == "predict" else [])
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert f"was fine-tuned on rte (its {inputs.INPUTS_FILE}), not {task}" in err and "--force" in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "sub").exists()


def test_force_scores_and_the_record_says_so(rte_checkpoint, tmp_path):
    dirs, _, ckpt, _ = rte_checkpoint
    # QNLI has RTE's label names, so --force alone scores; MRPC's differ: --label-map says which is which.
    assert cli.main(["evaluate", "--model", str(ckpt), "--task", "mrpc", "--data-dir", str(dirs["mrpc"]),
                     "--results-dir", str(tmp_path), "--max-eval-examples", "8", "--force",
                     "--label-map", "entailment=1,not_entailment=0"]) == 0
    (record,) = records.load_records(tmp_path)
    assert (record["task"], record["checkpoint_task"], record["forced"]) == ("mrpc", "rte", True)
    same = runs.evaluate(task=get_task("rte"), model=str(ckpt), data_dir=str(dirs["rte"]),
                         results_dir=str(tmp_path / "same"), max_eval_examples=8)
    assert same["checkpoint_task"] == "rte" and "forced" not in same


def test_pairs_scored_together_by_design_pass():
    assert get_task("ax").scored_with == ("mnli",)
    assert inputs.check_task(get_task("ax"), {"task": "mnli"}, "m") == {"checkpoint_task": "mnli"}
    assert inputs.check_task(get_task("mnli"), {"task": "mnli"}, "m") == {"checkpoint_task": "mnli"}
    assert inputs.check_task(get_task("rte"), None, "m") == {}            # a checkpoint from elsewhere
    with pytest.raises(ValueError, match="fine-tuned on ax"):
        inputs.check_task(get_task("mnli"), {"task": "ax"}, "m")          # one way only
    with pytest.raises(ValueError, match="fine-tuned on mnli"):
        inputs.check_task(get_task("rte"), {"task": "mnli"}, "m")


def test_a_fine_tuned_checkpoint_is_named_after_its_base_and_task(rte_checkpoint, tmp_path):
    from albert_bench.reports import load_results
    dirs, model, ckpt, finetuned = rte_checkpoint
    saved = inputs.read(ckpt)
    assert saved["base_model"] == str(model) and "base_name" not in saved
    assert "name" not in finetuned["model"]        # the base model's own name: the row label is as before
    default = f"{records.model_name(str(model))} (rte)"
    scored = runs.evaluate(task=get_task("rte"), model=str(ckpt), data_dir=str(dirs["rte"]),
                           results_dir=str(tmp_path / "a"), max_eval_examples=8)
    assert scored["model"]["name"] == default
    named = runs.evaluate(task=get_task("rte"), model=str(ckpt), data_dir=str(dirs["rte"]),
                          results_dir=str(tmp_path / "b"), max_eval_examples=8, name="mine")
    assert named["model"]["name"] == "mine"
    assert set(load_results(tmp_path / "a").frame["model"]) == {default}     # not "rte/last"
    assert set(load_results(tmp_path / "b").frame["model"]) == {"mine"}


def test_finetune_name_and_the_card(tiny_checkpoint, tmp_path, capsys):
    root, dirs, model = tiny_checkpoint
    out, results = tmp_path / "run", tmp_path / "results"
    sets = [x for k, v in TINY.items() for x in ("--set", f"{k}={v}")]
    assert cli.main(["finetune", "--model", str(model), "--task", "rte", "--data-dir", str(dirs["rte"]),
                     "--output-dir", str(out), "--results-dir", str(results), "--recipe", "quick", "--max-steps", "3",
                     "--max-train-examples", "16", "--max-eval-examples", "16", "--name", "tiny-albert", *sets]) == 0
    (record,) = records.load_records(results)
    assert record["model"]["name"] == "tiny-albert"
    assert inputs.read(out / "best")["base_name"] == "tiny-albert"
    assert cli.main(["evaluate", "--model", str(out / "best"), "--task", "rte", "--data-dir", str(dirs["rte"]),
                     "--results-dir", str(tmp_path / "scored"), "--max-eval-examples", "8"]) == 0
    (scored,) = records.load_records(tmp_path / "scored")
    assert scored["model"]["name"] == "tiny-albert (rte)"
    capsys.readouterr()

    card = tmp_path / "README.md"
    assert cli.main(["card", "--model", str(out / "best"), "--results", str(results), "--out", str(card)]) == 0
    text = card.read_text(encoding="utf-8")
    assert text.split("---\n", 2)[2].lstrip().startswith("# tiny-albert (rte)\n")
    how = text.split("## How to use")[1].split("## ")[0]
    assert 'from_pretrained("<your-hub-id>")' in how and str(out) not in how and "best" not in how
    evaluation = text.split("## Evaluation results")[1].split("\n## ")[0]
    assert "When fine-tuned on downstream tasks" not in evaluation
    rows = [line.split("|")[2:-1] for line in evaluation.splitlines() if line.startswith("| tiny-albert")]
    assert rows and not any(all(cell.strip() == "–" for cell in row) for row in rows)   # no all-missing row
    assert "| RTE |" in evaluation and "SQuAD1.1" not in evaluation      # the GLUE table only
    assert cli.main(["card", "--model", str(out / "best"), "--results", str(results), "--out", str(card),
                     "--repo-id", "org/tiny-rte", "--name", "Tiny RTE"]) == 0
    text = card.read_text(encoding="utf-8")
    assert "# Tiny RTE\n" in text and 'from_pretrained("org/tiny-rte")' in text and HUB not in text


HUB = "<your-hub-id>"
