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
from albert_bench.reports.bootstrap import compare, format_comparison, intervals
from albert_bench.reports.frame import Results, load_results
from albert_bench.reports.render import render
from albert_bench.reports.tables import TABLES, glue_table, leaderboard_table, model_card_table, runs_table

KINDS = tuple(TABLES)
CI_STYLES = ("pm", "bracket")


def _load(results_dir, strict: bool, models, rename, quiet: bool = False) -> Results:
    results = load_results(results_dir, strict=strict, models=models, rename=rename)
    if not quiet:
        print_warnings(results)
    return results


def print_warnings(results: Results, already: int = 0) -> None:
    for text in results.warnings[already:]:
        print(f"warning: {text}", file=sys.stderr)


def build_table(results: Results, kind: str = "model-card", agg: str = "median", checkpoint: str = "best",
                show_spread: bool = False, reference: bool = False, tolerance: float = 1.0, ci: str | None = None,
                bootstrap: int = 1000, seed: int = 0, by: str = "glue"):
    """The table `kind` of `results` (a DataFrame with title / notes attrs)."""
    if kind not in KINDS:
        raise ValueError(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
    if ci is not None and ci not in CI_STYLES:
        raise ValueError(f"--ci {ci!r}: choose pm (±) or bracket ([lo, hi])")
    if reference and kind != "model-card":
        raise ValueError("--reference: published numbers are shipped for the model-card table only "
                         "(use --kind model-card)")
    spans = None
    if ci and kind in ("model-card", "glue"):
        before = len(results.warnings)
        spans = intervals(results, resamples=bootstrap, seed=seed, checkpoints=(checkpoint,))
        print_warnings(results, before)
    if kind == "model-card":
        return model_card_table(results, agg, checkpoint, show_spread, reference, tolerance, spans, ci)
    if kind == "glue":
        return glue_table(results, agg, checkpoint, show_spread, spans, ci)
    if kind == "leaderboard":
        return leaderboard_table(results, by=by, agg=agg, checkpoint=checkpoint)
    return runs_table(results)


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
                bootstrap: int = 1000, seed: int = 0, agg: str = "median", checkpoint: str = "best",
                reference: bool = True, tolerance: float = 1.0) -> Path:
    from albert_bench.reports.html import write_report
    results = load_results(results_dir, strict=strict, models=models, rename=rename)
    path = write_report(results, out_dir, bootstrap=bootstrap, seed=seed, agg=agg, checkpoint=checkpoint,
                        reference=reference, tolerance=tolerance)
    print_warnings(results)
    if strict and results.warnings:
        raise ValueError(f"{len(results.warnings)} problem(s) while building the report (--strict); see the warnings")
    return path
