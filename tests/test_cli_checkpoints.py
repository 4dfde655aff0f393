"""A fine-tuned checkpoint knows what it is (its albert_bench_inputs.json: task, base model):
evaluate / predict refuse it on another task unless the pair is scored together by design (AX with
an MNLI model) or --force (the record says so); and it is named after its base model and task
(`albert-base-v2 (rte)`), in records, tables and its card, unless --name says otherwise."""
import json

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
