"""Degenerate and diverged runs in the reports (reports/health.py): marked ‡, left out of the median
by default with the footer counting them, kept with --keep-degenerate; a run a restart replaced is
out either way (the restart counts as the job's seed); the HTML report lists them with curves."""
import json

import numpy as np

from albert_bench import cli, records
from albert_bench.reports.commands import build_table, make_report
from albert_bench.reports.frame import load_results
from reports_fixtures import step_log, write_run

BASE = {"task": "rte", "split": "dev", "examples": 10, "main_metric": "accuracy", "values": {"accuracy": 0.527},
        "rules": {"accuracy": "always 'not_entailment' (the commonest label)"}, "margin": 0.01}


def _run(results, seed, accuracy, status="ok", reason=None, **extra):
    rng = np.random.default_rng(seed)
    record = write_run(results, task="rte", metrics={"dev": {"accuracy": accuracy}}, seed=seed,
                       log=step_log(20, 10, "accuracy", rng))
    record.update(health={"status": status, "reason": reason, "baseline": BASE}, **extra)
    path = record.pop("path")
    records.write_record(record, results)
    return {**record, "path": path}


def _grid(tmp_path, restart=False):
    results = tmp_path / "results"
    for seed, acc in ((1, 0.70), (2, 0.72), (3, 0.74)):
        _run(results, seed, acc)
    bad = _run(results, 4, 0.50, "degenerate", "best dev accuracy 0.5 does not beat the trivial baseline 0.527")
    if restart:
        _run(results, 4001, 0.76, restart_of=bad["run_id"], restart_attempt=1)
    return results, bad


def test_unhealthy_runs_are_left_out_and_counted(tmp_path):
    results, bad = _grid(tmp_path)
    table = build_table(load_results(results), "glue")
    assert table.loc["V2 base", "RTE"] == "72.0 ‡"      # median of the three healthy seeds
    notes = "\n".join(table.attrs["notes"])
    assert "‡ Health: 1 degenerate, 0 diverged run(s) left out of the aggregate" in notes
    assert f"V2 base rte seed 4 ({bad['run_id']}): degenerate: best dev accuracy 0.5 does not beat" in notes
    kept = build_table(load_results(results), "glue", keep_degenerate=True)
    assert kept.loc["V2 base", "RTE"] == "71.0 ‡"        # median of all four
    assert "kept in the aggregate (--keep-degenerate)" in "\n".join(kept.attrs["notes"])
    listed = build_table(load_results(results), "runs")
    assert listed.loc[bad["run_id"], "health"] == "‡ degenerate" and (listed["health"] == "ok").sum() == 3


def test_restart_takes_the_failed_runs_place(tmp_path):
    results, bad = _grid(tmp_path, restart=True)
    for keep in (False, True):
        table = build_table(load_results(results), "glue", keep_degenerate=keep)
        assert table.loc["V2 base", "RTE"] == "73.0 ‡"   # 0.70, 0.72, 0.74 and the restart's 0.76
    notes = "\n".join(table.attrs["notes"])
    assert "1 run(s) replaced by their restart" in notes and "(replaced by a restart)" in notes


def test_cli_table_flag_and_html_report(tmp_path, capsys):
    results, bad = _grid(tmp_path)
    assert cli.main(["table", "--kind", "glue", "--results", str(results), "--format", "json"]) == 0
    cells = json.loads(capsys.readouterr().out)
    assert cells
    assert cli.main(["table", "--kind", "glue", "--results", str(results), "--keep-degenerate"]) == 0
    assert "71.0 ‡" in capsys.readouterr().out
    page = make_report(results_dir=results, out_dir=tmp_path / "report", bootstrap=0).read_text()
    assert "Degenerate and diverged runs" in page and bad["run_id"] in page
    assert "Training curves of the degenerate and diverged runs" in page
