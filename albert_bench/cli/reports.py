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


def cmd_paper(args) -> int:
    from albert_bench.reports.frame import NoRecordsError
    table_flags = {"--table": args.table != "all", "--row": args.row, "--format": args.format != "md",
                   "--out": args.out, "--agg": args.agg, "--tolerance": args.tolerance is not None,
                   "--models": args.models, "--rename": args.rename, "--strict": args.strict}
    reproduce_flags = {"--small": args.small, "--output-dir": args.output_dir is not None, "--seed": args.seed is not None}
    if args.reproduce is not None:
        if args.reproduce != 5:
            raise ValueError(f"--reproduce {args.reproduce}: only Table 5 (the sentence objectives) can be reproduced "
                             "here, at small scale: --reproduce 5 --small")
        if not args.small:
            raise ValueError("--reproduce 5 pretrains three models: add --small (the shipped scale, minutes on a "
                             "CPU); the paper's scale is `albert-bench pretrain --objective none|nsp|sop` on your corpus")
        given = [flag for flag, on in table_flags.items() if on]
        if given:
            raise ValueError(f"{', '.join(given)}: for showing tables from records, not with --reproduce; the "
                             "reproduction writes its table to --output-dir")
        from albert_bench.demo.table5 import reproduce_table5
        result = reproduce_table5(args.output_dir or "reports/table5", seed=args.seed or 0, small=True)
        print(result["markdown"])
        return 0
    given = [flag for flag, on in reproduce_flags.items() if on]
    if given:
        raise ValueError(f"{', '.join(given)}: only with --reproduce 5")
    from albert_bench.reports.commands import make_paper_table
    try:
        text = make_paper_table(results_dir=args.results, table=args.table, fmt=args.format, out=args.out,
                                rows=args.row, agg=args.agg, checkpoint=args.checkpoint, tolerance=args.tolerance,
                                **_report_selection(args))
    except NoRecordsError as err:
        return _no_records("paper", err)
    print(f"wrote {args.out}" if args.out else text, end="\n" if args.out else "")
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

    p = add("paper", cmd_paper, "the ALBERT paper's Tables 1-8 with ours beside the published numbers; "
            "--reproduce 5 --small pretrains Table 5's three objectives on a CPU",
            "albert-bench paper --table 4 --results results --format md")
    p.add_argument("--table", default="all", choices=["all", *map(str, range(1, 9))],
                   help="1 configurations and parameters, 2 v1 sizes against BERT (+ measured Speedup), 3 embedding "
                        "size, 4 sharing strategies, 5 NSP vs SOP, 6 same training time, 7 additional data, "
                        "8 dropout; all (the default): every table")
    p.add_argument("--row", action="append", metavar="KEY=MODEL",
                   help="put the results' row MODEL in the table's row KEY (Tables 6-8 need it; keys are listed "
                        "in each table's notes, e.g. 7: without, with)")
    p.add_argument("--format", choices=["md", "csv", "latex", "html", "json"], default="md", help="output format")
    p.add_argument("--out", default=None, help="write here instead of printing")
    p.add_argument("--agg", choices=["median", "mean", "max"], default=None,
                   help="several runs (seeds) of a model and task: median (the default), mean or max")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best", help="which checkpoint's metrics")
    p.add_argument("--tolerance", type=float, default=None,
                   help="points from the published number before † marks a Δ (default 1)")
    p.add_argument("--results", "--results-dir", dest="results", default="results",
                   help="folder of run records, read recursively (default: results; Table 1 reads none)")
    p.add_argument("--models", default=None, metavar="A,B", help="only these rows (names after --rename)")
    p.add_argument("--rename", action="append", metavar="OLD=NEW", help="relabel a row (or a source)")
    p.add_argument("--strict", action="store_true", help="unusable records are an error, not a warning")
    g = p.add_argument_group("reproducing Table 5 at small scale")
    g.add_argument("--reproduce", type=int, default=None, metavar="5",
                   help="pretrain the table's models (only 5: objectives none, NSP, SOP) and print its intrinsic "
                        "columns beside the paper's")
    g.add_argument("--small", action="store_true", help="with --reproduce: the small, CPU-minutes scale")
    g.add_argument("--output-dir", default=None, help="with --reproduce: corpus, tokenizer, models, "
                   "records and the table (default: reports/table5)")
    g.add_argument("--seed", type=int, default=None, help="with --reproduce: seed of the corpus and pretraining "
                   "(default 0)")

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
