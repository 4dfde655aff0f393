"""`suite --restarts K` on the toy task with planted failures: seed 1 gets a learning rate that drives
the loss to NaN (diverged), seed 2 trains on one class only (degenerate). Each is caught, marked and
replaced by a restart with a derived seed in its own folder; the tables count the restarts instead;
running the suite again skips every job, restarts included."""
import dataclasses
from pathlib import Path

from albert_bench.engine import runs
from albert_bench.engine import train as train_module
from albert_bench.reports import health as report_health
from albert_bench.reports.frame import load_results
from albert_bench.suite import runner as suite
from test_health import OneClassToy
from toy_task import ToyTask, ToyTokenizer

OVERRIDES = {"lr": 2e-3, "eval_every": 20, "warmup_steps": 4, "batch_size": 8}


def _get_task(name):
    assert name == "toy"
    return ToyTask(n=16)


def planted(**kwargs):
    """runs.finetune with the failures planted on the grid's own seeds 1 and 2 (never on a restart). The
    recipe (and so the job's identity in its record) stays the plan's: seed 1's optimizer alone gets lr 1e10."""
    task = kwargs.pop("task")
    if kwargs["seed"] == 2:
        task = OneClassToy(n=16)
    real = train_module.make_optimizer
    if kwargs["seed"] == 1:
        train_module.make_optimizer = lambda model, s: real(model, dataclasses.replace(s, lr=1e10))
    try:
        return runs.finetune(task=task, **{**kwargs, "tokenizer": ToyTokenizer()})
    finally:
        train_module.make_optimizer = real


def test_restarts_replace_diverged_and_degenerate_jobs(tmp_path):
    jobs = suite.plan(["preset:albert-tiny"], "toy", "1,2,3", output_root=tmp_path / "runs",
                      results_dir=tmp_path / "results", overrides=OVERRIDES, get_task=_get_task, recipe="quick",
                      max_steps=40, tokenizer="ToyTokenizer")
    lines = []
    summary = suite.run_suite(jobs, get_task=_get_task, finetune=planted, restarts=2, out=lines.append)
    text = "\n".join(lines)
    assert summary.exit_code == 0 and not summary.failed and not summary.unhealthy, text
    done = {r["seed"]: r for _, r in summary.done}
    assert sorted(done) == [1, 2, 3, 1001, 2001]
    assert done[1]["health"]["status"] == "diverged" and done[2]["health"]["status"] == "degenerate"
    for base in (1, 2):
        restart = done[base * 1000 + 1]
        assert restart["health"]["status"] == "ok"
        assert restart["restart_of"] == done[base]["run_id"] and restart["restart_attempt"] == 1
        assert Path(restart["output_dir"]).name == f"seed{base}-restart1"
    assert "DIVERGED: training diverged at step" in text and "restart 1 of 2 with seed 1001" in text

    # The tables: the two failed runs are out (replaced), the restarts count as seeds 1 and 2.
    results = load_results(tmp_path / "results")
    kept, screen = report_health.screen(results)
    assert sorted(kept.runs["seed"]) == [3, 1001, 2001]
    assert screen.superseded == {done[1]["run_id"], done[2]["run_id"]}

    # Again: every job, restarts included, is found by its record (resume / skip as any job).
    again = suite.run_suite(jobs, get_task=_get_task, finetune=planted, restarts=2, out=lines.append)
    assert not again.done and sorted(r["seed"] for _, r in again.skipped) == [1, 2, 3, 1001, 2001]


def test_without_restarts_a_diverged_job_fails_the_suite(tmp_path):
    jobs = suite.plan(["preset:albert-tiny"], "toy", "1", output_root=tmp_path / "runs",
                      results_dir=tmp_path / "results", overrides=OVERRIDES, get_task=_get_task, recipe="quick",
                      max_steps=40, tokenizer="ToyTokenizer")
    summary = suite.run_suite(jobs, get_task=_get_task, finetune=planted, out=lambda *a: None)
    assert summary.exit_code == 1 and [u[1] for u in summary.unhealthy] == ["diverged"]
    assert "DIVERGED preset:albert-tiny toy seed 1" in summary.format()
