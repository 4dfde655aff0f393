"""`suite --sweep KEY=V1,V2`: the grid's sweep dimension (job count, folders, identity, labels, a second
run skips every job) and the tables' choice (`table --select best-median | all`). The table part uses
written records (tests/reports_fixtures.py): deterministic, one lr planted to be best."""
import json

import pytest
from albert_bench.tasks import get_task

from albert_bench import cli, records
from albert_bench.cli.commands import _parse_sweep
from albert_bench.reports import load_results, sweep
from albert_bench.reports.commands import build_table
from albert_bench.suite import plan as suite_plan
from albert_bench.suite import runner as suite
from tests.reports_fixtures import write_run
from tests.test_suite import TINY_RUN, _plan, data  # noqa: F401  (the module's data fixture)


def test_sweep_flags_parse_like_set():
    assert _parse_sweep(["lr=1e-5,2e-5", "batch_size=16,32"]) == {"lr": [1e-5, 2e-5], "batch_size": [16, 32]}
    with pytest.raises(ValueError, match="given twice"):
        _parse_sweep(["lr=1e-5", "lr=2e-5"])
    with pytest.raises(ValueError, match="KEY=V1,V2"):
        _parse_sweep(["lr"])


def test_sweep_multiplies_the_grid_with_its_own_folders():
    jobs = suite.plan("albert-base-v2", "rte,mrpc", "1,2", get_task=get_task,
                      sweep={"lr": [1e-5, 2e-5, 3e-5], "batch_size": [16, 32]})
    assert len(jobs) == 2 * 3 * 2 * 2
    first = jobs[0]
    assert first.setting == {"lr": 1e-5, "batch_size": 16} and first.overrides == first.setting
    assert first.resolved["lr"] == 1e-5 and first.resolved["batch_size"] == 16
    assert first.output_dir == "runs/albert-base-v2/rte/lr=1e-05,batch_size=16/seed1"
    assert first.label == "albert-base-v2 rte lr=1e-05,batch_size=16 seed 1"
    assert len({j.output_dir for j in jobs}) == len(jobs)
    # Identity: the setting is part of the resolved recipe record_identity compares.
    assert len({json.dumps(j.identity(), sort_keys=True) for j in jobs}) == len(jobs)
    again = suite_plan.restart_job(jobs[1], "failed-run")
    assert again.output_dir == "runs/albert-base-v2/rte/lr=1e-05,batch_size=16/seed2-restart1"
    assert "--set lr=1e-05" in first.command() and "--set batch_size=16" in first.command()
    # Typed like --set, before anything loads; a key is swept or set, not both.
    with pytest.raises(ValueError, match="lr"):
        suite.plan("albert-base-v2", "rte", "1", get_task=get_task, sweep={"lr": ["fast"]})
    with pytest.raises(ValueError, match="unknown recipe field"):
        suite.plan("albert-base-v2", "rte", "1", get_task=get_task, sweep={"lrr": [1]})
    with pytest.raises(ValueError, match="swept or set"):
        suite.plan("albert-base-v2", "rte", "1", get_task=get_task, overrides={"lr": 1e-5}, sweep={"lr": [2e-5]})
    with pytest.raises(ValueError, match="distinct"):
        suite.plan("albert-base-v2", "rte", "1", get_task=get_task, sweep={"lr": [1e-5, 1e-5]})
    # An input setting is swept only where the task has it: rte runs once, squad_v2 twice.
    mixed = suite.plan("albert-base-v2", "rte,squad_v2", "1", get_task=get_task, sweep={"doc_stride": [64, 128]})
    assert [(j.task, j.setting) for j in mixed] == [("rte", {}), ("squad_v2", {"doc_stride": 64}),
                                                    ("squad_v2", {"doc_stride": 128})]
    assert mixed[0].output_dir == "runs/albert-base-v2/rte/seed1"


def test_dry_run_shows_the_setting(capsys, tmp_path):
    code = cli.main(["suite", "--models", "albert-base-v2", "--tasks", "rte", "--seeds", "1,2", "--dry-run",
                     "--sweep", "lr=1e-5,2e-5", "--output-root", str(tmp_path / "runs"),
                     "--results-dir", str(tmp_path / "results")])
    out = capsys.readouterr().out
    assert code == 0
    assert "albert-base-v2 rte lr=1e-05 seed 1" in out and "albert-base-v2 rte lr=2e-05 seed 2" in out
    assert "--set lr=2e-05" in out and "lr=2e-05/seed2" in out


def test_tiny_sweep_runs_then_a_second_suite_skips_every_job(data, tmp_path):  # noqa: F811
    jobs = _plan(data, tmp_path, seeds=(1,), tasks="rte", max_steps=2, sweep={"lr": [0.0, 1e-3]})
    assert len(jobs) == 2 and jobs[0].output_dir.endswith("rte/lr=0.0/seed1")
    first = suite.run_suite(jobs, get_task=get_task, claims_on=False, out=lambda *a: None)
    assert first.exit_code == 0 and len(first.done) == 2
    recipes = sorted(r["recipe"]["lr"] for _, r in first.done)
    assert recipes == [0.0, 1e-3]
    second = suite.run_suite(_plan(data, tmp_path, seeds=(1,), tasks="rte", max_steps=2, sweep={"lr": [0.0, 1e-3]}),
                             get_task=get_task, claims_on=False, out=lambda *a: None)
    assert len(second.skipped) == 2 and not second.done
    assert "Sweep: " in suite.final_tables(second, "rte")


def _planted(results_dir):
    """rte: lr=1e-05 scores 60/62/64 over seeds, lr=2e-05 (planted best) 70/71/90, lr=3e-05 50/99/51."""
    scores = {1e-5: (0.60, 0.62, 0.64), 2e-5: (0.70, 0.71, 0.90), 3e-5: (0.50, 0.99, 0.51)}
    for lr, values in scores.items():
        for seed, value in enumerate(values, 1):
            record = write_run(results_dir, task="rte", seed=seed, metrics={"dev": {"accuracy": value}})
            record["recipe"] = {"lr": lr, "batch_size": 32}
            record.pop("path")
            records.write_record(record, results_dir)
    write_run(results_dir, task="sst2", metrics={"dev": {"accuracy": 0.9}})   # no sweep: left as it is


def test_table_picks_the_best_median_setting_and_names_it(tmp_path):
    _planted(tmp_path)
    results = load_results(tmp_path)
    assert set(sweep.settings(results).values()) == {"lr=1e-05", "lr=2e-05", "lr=3e-05"}
    table = build_table(results, "glue")
    assert table.loc["V2 base", "RTE"] == "71.0"          # the median of lr=2e-05, not of the nine runs
    assert table.loc["V2 base", "SST-2"] == "90.0"
    notes = " ".join(table.attrs["notes"])
    assert "V2 base rte: lr=2e-05 chosen" in notes and "lr=3e-05 51.0 (n=3)" in notes
    assert "optimistic" in table.attrs["notes"][-1]
    every = build_table(results, "glue", select="all")
    assert every.loc["V2 base [lr=1e-05]", "RTE"] == "62.0" and every.loc["V2 base [lr=3e-05]", "RTE"] == "51.0"
    assert every.loc["V2 base [lr=2e-05]", "RTE"] == "71.0" and every.loc["V2 base", "SST-2"] == "90.0"
    with pytest.raises(ValueError, match="--select does nothing for --kind runs"):
        build_table(results, "runs", select="all")


def test_table_cli_select(tmp_path, capsys):
    _planted(tmp_path)
    assert cli.main(["table", "--kind", "glue", "--results", str(tmp_path), "--select", "all"]) == 0
    out = capsys.readouterr().out
    assert "V2 base [lr=2e-05]" in out and "V2 base [lr=1e-05]" in out
    assert cli.main(["table", "--kind", "glue", "--results", str(tmp_path)]) == 0
    assert "lr=2e-05 chosen" in capsys.readouterr().out


def test_sweep_plot_in_the_plots_and_the_report(tmp_path):
    """The dev metric against lr, a line per model: medians over seeds, bars from min to max."""
    from albert_bench.reports import plots
    from albert_bench.reports.html import write_report
    _planted(tmp_path / "results")
    results = load_results(tmp_path / "results")
    figs = plots.figures(results)
    assert "sweep" in figs
    (ax,) = [a for a in figs["sweep"].axes if a.get_title().startswith("rte")]
    (bars,) = ax.containers           # one errorbar per line (model)
    line = bars.lines[0]
    assert list(line.get_xdata()) == [1e-5, 2e-5, 3e-5]
    assert list(line.get_ydata()) == pytest.approx([62.0, 71.0, 51.0])     # medians over the three seeds
    assert ax.get_xlabel() == "lr" and ax.get_xscale() == "log" and ax.get_ylim()[1] <= 100
    assert ax.get_legend().get_texts()[0].get_text() == "V2 base"
    # the other figures show the chosen setting, as the tables do: rte's point is lr=2e-05's median
    (scores_ax,) = [a for a in figs["scores"].axes if a.get_title().startswith("rte")]
    assert [c.lines[0].get_ydata()[0] for c in scores_ax.containers] == pytest.approx([71.0])
    for fig in figs.values():
        plots.plt.close(fig)
    assert sorted(p.name for p in plots.write_plots(results, tmp_path / "plots") if p.stem == "sweep") == \
        ["sweep.png", "sweep.svg"]
    page = write_report(results, tmp_path / "report").read_text(encoding="utf-8")
    assert "Sweep: the dev main metric against the swept setting" in page
    # the page's tables show the chosen setting, as `table` does, and say so
    assert "lr=2e-05 chosen" in page and "optimistic" in page
    # without a sweep there is no sweep figure
    (tmp_path / "plain").mkdir()
    write_run(tmp_path / "plain", task="sst2", metrics={"dev": {"accuracy": 0.9}})
    assert "sweep" not in plots.figures(load_results(tmp_path / "plain"))
