"""The report commands of `albert-bench` (table, compare, plot, report): their flags and the calls
into albert_bench.reports.commands. cli/__init__.py adds them to its parser with `add_report_commands`.

    albert-bench table --kind model-card --reference --format md --out reports/card.md
    albert-bench compare RUN_A RUN_B --json
    albert-bench plot --results results --out reports/plots
    albert-bench report --results results --out reports
"""
from __future__ import annotations

import sys


def _no_records(command: str, err: Exception) -> int:
    """Nothing to report on: one message saying where we looked and how to make records; exit 1."""
    print(f"albert-bench {command}: error: {err}", file=sys.stderr)
    return 1


def _report_selection(args) -> dict:
    return dict(strict=args.strict, models=args.models, rename=args.rename)


def cmd_table(args) -> int:
    from albert_bench.reports.commands import make_table
    from albert_bench.reports.frame import NoRecordsError
    try:
        text = make_table(results_dir=args.results, kind=args.kind, fmt=args.format, out=args.out, agg=args.agg,
                          checkpoint=args.checkpoint, show_spread=args.show_spread, reference=args.reference,
                          tolerance=args.tolerance, ci=args.ci, bootstrap=args.bootstrap, seed=args.seed, by=args.by,
                          keep_degenerate=args.keep_degenerate, select=args.select,
                          **_report_selection(args))
    except NoRecordsError as err:
        return _no_records("table", err)
    print(f"wrote {args.out}" if args.out else text, end="\n" if args.out else "")
    return 0


def cmd_compare(args) -> int:
    from albert_bench.reports.commands import make_comparison
    print(make_comparison(results_dir=args.results, run_a=args.run_a, run_b=args.run_b, metric=args.metric,
                          split=args.split, checkpoint=args.checkpoint, bootstrap=args.bootstrap, seed=args.seed,
                          as_json=args.json))
    return 0


def cmd_plot(args) -> int:
    from albert_bench.reports.commands import make_plots
    from albert_bench.reports.frame import NoRecordsError
    try:
        paths = make_plots(results_dir=args.results, out_dir=args.out, bootstrap=args.bootstrap, seed=args.seed,
                           **_report_selection(args))
    except NoRecordsError as err:
        return _no_records("plot", err)
    for path in paths:
        print(path)
    return 0


def cmd_report(args) -> int:
    from albert_bench.reports.commands import make_report
    from albert_bench.reports.frame import NoRecordsError
    try:
        path = make_report(results_dir=args.results, out_dir=args.out, bootstrap=args.bootstrap, seed=args.seed,
                           agg=args.agg, checkpoint=args.checkpoint, tolerance=args.tolerance, **_report_selection(args))
    except NoRecordsError as err:
        return _no_records("report", err)
    print(path)
    return 0


def add_report_commands(add) -> None:
    """Add the report subcommands through cli.build_parser's `add(name, fn, help, example)`."""
    def report_args(p, selection=True):
        p.add_argument("--results", "--results-dir", dest="results", default="results",
                       help="folder of run records, read recursively (default: results)")
        p.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
        p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
        if selection:
            p.add_argument("--models", default=None, metavar="A,B", help="only these rows (names after --rename)")
            p.add_argument("--rename", action="append", metavar="OLD=NEW", help="relabel a row (or a source)")
            p.add_argument("--strict", action="store_true", help="unusable records are an error, not a warning")

    def seed_args(p):
        p.add_argument("--agg", choices=["median", "mean", "max"], default=None,
                       help="several runs (seeds) of a model and task: median (the paper's protocol, the default), "
                            "mean or max")
        p.add_argument("--checkpoint", choices=["best", "last"], default="best", help="which checkpoint's metrics")
        p.add_argument("--tolerance", type=float, default=None,
                       help="points from the published number before † marks it (default 1; with --reference)")

    p = add("table", cmd_table, "a table from the run records: model card, GLUE dev, leaderboard or the run list",
            "albert-bench table --kind model-card --reference --format md --out reports/card.md")
    p.add_argument("--kind", choices=["model-card", "glue", "leaderboard", "runs"], default="model-card",
                   help="model-card: the ALBERT card's columns; glue: GLUE dev; leaderboard: every model ranked; "
                        "runs: one row per run")
    p.add_argument("--format", choices=["md", "csv", "latex", "html", "json"], default="md", help="output format")
    p.add_argument("--out", default=None, help="write here instead of printing")
    seed_args(p)
    p.add_argument("--show-spread", action="store_true", help="add the standard deviation over seeds and n "
                   "(not for --kind runs)")
    p.add_argument("--reference", action="store_true", help="published numbers beside ours, with the difference")
    p.add_argument("--ci", choices=["pm", "bracket"], default=None,
                   help="add bootstrap 95%% intervals from the per-example predictions: ± or [lo, hi] "
                        "(runs: each run's main metric)")
    p.add_argument("--by", default=None, help="leaderboard order: glue, glue-no-wnli, average, or TASK[:METRIC] "
                   "(default: the first of glue, average, the most-run task's main metric that the records can fill)")
    p.add_argument("--select", choices=["best-median", "all"], default=None,
                   help="a sweep (suite --sweep: several settings of a model and task): best-median keeps each "
                        "(model, task)'s setting with the best dev median over seeds (the default), all shows each "
                        "setting as its own row")
    p.add_argument("--keep-degenerate", action="store_true", help="keep degenerate and diverged runs (marked ‡) "
                   "in the aggregate; by default they are left out and the footer counts them")
    report_args(p)

    p = add("compare", cmd_compare, "paired bootstrap of two runs on the examples they share: B - A, interval, p-value",
            "albert-bench compare rte-20250101T000000Z-aaaaaa rte-20250102T000000Z-bbbbbb --json")
    p.add_argument("run_a", metavar="RUN_A", help="run id or record path")
    p.add_argument("run_b", metavar="RUN_B", help="run id or record path")
    p.add_argument("--metric", default=None, help="default: the task's main metric")
    p.add_argument("--split", default=None, help="default: the dev split both runs have")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best", help="which checkpoint's predictions")
    p.add_argument("--json", action="store_true", help="one JSON object: score_a, score_b, difference, ci_low, ...")
    report_args(p, selection=False)

    p = add("plot", cmd_plot, "PNG and SVG figures: scores with intervals, score vs parameters, seed spread, curves",
            "albert-bench plot --results results --out reports/plots")
    p.add_argument("--out", default="reports/plots", help="folder for the figures (default: reports/plots)")
    report_args(p)

    p = add("report", cmd_report, "one self-contained HTML report: tables, intervals, plots, runs, bias probes",
            "albert-bench report --results results --out reports")
    p.add_argument("--out", default="reports", help="folder for report.html (default: reports)")
    seed_args(p)
    report_args(p)
