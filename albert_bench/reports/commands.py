"""What `albert-bench table / compare / plot / report` do, as keyword-argument functions
(the cli layer only parses flags and calls these).

    make_table(results_dir="results", kind="model-card", fmt="md")          -> text
    make_comparison(results_dir="results", run_a=..., run_b=..., as_json=True) -> text
    make_plots(results_dir="results", out_dir="reports/plots")            -> [paths]
    make_report(results_dir="results", out_dir="reports")                 -> path of report.html
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from albert_bench.io import atomic_write_text
from albert_bench.reports import health, sweep
from albert_bench.reports.bootstrap import compare, format_comparison, intervals
from albert_bench.reports.frame import Results, load_results, require_records
from albert_bench.reports.leaderboard import leaderboard_table, resolve_by
from albert_bench.reports.render import render
from albert_bench.reports.tables import glue_table, model_card_table, runs_table

KINDS = ("model-card", "glue", "leaderboard", "runs")
CI_STYLES = ("pm", "bracket")


def _load(results_dir, strict: bool, models, rename, quiet: bool = False, scored: bool = True) -> Results:
    """The records, warnings printed; NoRecordsError (exit 1) when there are none to report on."""
    results = load_results(results_dir, strict=strict, models=models, rename=rename)
    if not quiet:
        print_warnings(results)
    return require_records(results, scored)


def print_warnings(results: Results, already: int = 0) -> None:
    for text in results.warnings[already:]:
        print(f"warning: {text}", file=sys.stderr)


# Which table flags mean something for which kind (None = the flag was not given).
FLAG_KINDS = {"--agg": ("model-card", "glue", "leaderboard"), "--select": ("model-card", "glue", "leaderboard"), "--show-spread": ("model-card", "glue", "leaderboard"),
              "--reference": ("model-card",), "--tolerance": ("model-card",), "--by": ("leaderboard",)}
WHY_NOT = {"--agg": "one line per run, nothing to aggregate", "--select": "one line per run, every setting listed", "--show-spread": "one line per run, no seeds to spread over",
           "--reference": "published numbers are shipped for the model-card table only",
           "--tolerance": "it marks differences from the published numbers of the model-card table",
           "--by": "it orders the leaderboard"}


def check_flags(kind: str, **given) -> None:
    """A flag that has no meaning for `kind` is refused in one line (exit 2), never silently ignored."""
    for flag, value in given.items():
        flag = "--" + flag.replace("_", "-")
        if value not in (None, False) and kind not in FLAG_KINDS[flag]:
            raise ValueError(f"{flag} does nothing for --kind {kind} ({WHY_NOT[flag]}); use it with --kind "
                             f"{' / '.join(FLAG_KINDS[flag])} or leave it out")
    if given.get("tolerance") is not None and not given.get("reference"):
        raise ValueError("--tolerance only marks differences from the published numbers: add --reference")


def build_table(results: Results, kind: str = "model-card", agg: str | None = None, checkpoint: str = "best",
                show_spread: bool = False, reference: bool = False, tolerance: float | None = None,
                ci: str | None = None, bootstrap: int = 1000, seed: int = 0, by: str | None = None,
                keep_degenerate: bool = False, select: str | None = None):
    """The table `kind` of `results` (a DataFrame with title / notes / data attrs). agg, tolerance and by
    are None when not given: each has a default for the kinds it means something for, and is refused
    (ValueError) for the others, as are show_spread and reference. Degenerate and diverged runs are
    marked ‡ and left out of the aggregate unless `keep_degenerate` (reports/health.py); the runs
    table lists every run with its health. A sweep (several recipe settings of one model and task,
    reports/sweep.py) shows each (model, task)'s best dev median setting, or with select="all" each
    setting as its own row."""
    check_flags(kind, select=select)
    lines = []
    if kind != "runs":
        results, lines = sweep.select(results, select or "best-median", checkpoint,
                                      candidates=health.screen(results, keep_degenerate)[0])
    table = _build_table(results, kind, agg, checkpoint, show_spread, reference, tolerance, ci, bootstrap, seed, by,
                         keep_degenerate)
    table = health.annotate(table, health.screen(results, keep_degenerate)[1], kind)
    table.attrs["notes"] = list(table.attrs.get("notes", [])) + lines
    return table


def _build_table(results, kind, agg, checkpoint, show_spread, reference, tolerance, ci, bootstrap, seed, by,
                 keep_degenerate):
    if kind not in KINDS:
        raise ValueError(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
    if ci is not None and ci not in CI_STYLES:
        raise ValueError(f"--ci {ci!r}: choose pm (±) or bracket ([lo, hi])")
    check_flags(kind, agg=agg, show_spread=show_spread, reference=reference, tolerance=tolerance, by=by)
    agg = agg or "median"
    tolerance = 1.0 if tolerance is None else tolerance
    if kind != "runs":
        results = health.screen(results, keep_degenerate)[0]
    if kind == "leaderboard":
        resolve_by(results, by, agg, checkpoint, show_spread, ci)      # refused before any bootstrap runs
    spans = None
    if ci:
        before = len(results.warnings)
        spans = intervals(results, resamples=bootstrap, seed=seed, checkpoints=(checkpoint,))
        print_warnings(results, before)
    if kind == "model-card":
        return model_card_table(results, agg, checkpoint, show_spread, reference, tolerance, spans, ci)
    if kind == "glue":
        return glue_table(results, agg, checkpoint, show_spread, spans, ci)
    if kind == "leaderboard":
        return leaderboard_table(results, by=by, agg=agg, checkpoint=checkpoint, show_spread=show_spread,
                                 intervals=spans, ci=ci)
    return runs_table(results, checkpoint=checkpoint, intervals=spans, ci=ci)


def make_table(results_dir="results", kind: str = "model-card", fmt: str = "md", out: str | None = None,
               strict: bool = False, models=None, rename=None, **options) -> str:
    """Render one table; write it to `out` (atomically) when given. Options: see build_table."""
    results = _load(results_dir, strict, models, rename)
    text = render(build_table(results, kind, **options), fmt)
    if out:
        atomic_write_text(out, text)
    return text


def make_comparison(results_dir="results", run_a: str = "", run_b: str = "", metric: str | None = None,
                    split: str | None = None, checkpoint: str = "best", bootstrap: int = 1000, seed: int = 0,
                    as_json: bool = False) -> str:
    results = _load(results_dir, False, None, None, quiet=True)
    result = compare(results, run_a, run_b, metric=metric, split=split, checkpoint=checkpoint,
                     resamples=bootstrap, seed=seed)
    if as_json:
        keys = ("score_a", "score_b", "difference", "ci_low", "ci_high", "p_value", "n")
        return json.dumps({**{k: result[k] for k in keys},
                           **{k: v for k, v in result.items() if k not in keys}}, indent=2)
    return format_comparison(result)


def make_plots(results_dir="results", out_dir="reports/plots", strict: bool = False, models=None, rename=None,
               bootstrap: int = 1000, seed: int = 0) -> list[Path]:
    from albert_bench.reports.plots import write_plots
    results = _load(results_dir, strict, models, rename)
    before = len(results.warnings)
    spans = intervals(results, resamples=bootstrap, seed=seed) if bootstrap else None
    print_warnings(results, before)
    return write_plots(results, out_dir, intervals=spans)


def make_report(results_dir="results", out_dir="reports", strict: bool = False, models=None, rename=None,
                bootstrap: int = 1000, seed: int = 0, agg: str | None = "median", checkpoint: str = "best",
                reference: bool = True, tolerance: float | None = 1.0) -> Path:
    from albert_bench.reports.html import write_report
    results = require_records(load_results(results_dir, strict=strict, models=models, rename=rename), scored=False)
    path = write_report(results, out_dir, bootstrap=bootstrap, seed=seed, agg=agg or "median", checkpoint=checkpoint,
                        reference=reference, tolerance=1.0 if tolerance is None else tolerance)
    print_warnings(results)
    if strict and results.warnings:
        raise ValueError(f"{len(results.warnings)} problem(s) while building the report (--strict); see the warnings")
    return path


def make_paper_table(results_dir="results", table="all", fmt: str = "md", out=None, rows=None, agg: str | None = None,
                     checkpoint: str = "best", tolerance: float | None = None, strict: bool = False, models=None,
                     rename=None) -> str:
    """`albert-bench paper --table N`: the paper's Table N (or every table, "all") with ours beside it.
    Table 1 reads no records; the others read results_dir (a missing folder is NoRecordsError, an
    empty one gives the published numbers with every cell of ours missing)."""
    from albert_bench.reports.paper import TABLES, PaperTableError, paper_table
    numbers = TABLES if str(table) == "all" else (int(table),)
    if rows and len(numbers) > 1:
        raise PaperTableError("--row names the rows of one table: add --table N")
    results = None
    if numbers != (1,):
        results = load_results(results_dir, strict=strict, models=models, rename=rename)
        print_warnings(results)
    options = dict(agg=agg or "median", checkpoint=checkpoint, tolerance=1.0 if tolerance is None else tolerance)
    texts = [render(paper_table(n, results, rows=rows, **options), fmt) for n in numbers]
    if fmt == "json" and len(texts) > 1:
        text = "[\n" + ",\n".join(t.rstrip("\n") for t in texts) + "\n]\n"
    else:
        text = "\n".join(texts)
    if out:
        atomic_write_text(Path(out), text)
    return text
