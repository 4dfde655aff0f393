"""The demo's last step: everything a user publishes, built from the run records alone.

    build_reports(model_dir, results_dir, output_dir, tasks) -> {what: path}

The bias probe of the pretrained model (its record lands in the results folder, so the report and
the card find it), the tables (model-card layout where its tasks apply, GLUE-style, the run list)
as markdown, the plots, a model card and the self-contained HTML report.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

TABLE_KINDS = ("model-card", "glue", "runs")


def build_reports(model_dir: Path, results_dir: Path, output_dir: Path, tasks: Mapping[str, Any],
                  bootstrap: int = 1000) -> dict[str, str]:
    from albert_bench.bias import run_bias
    from albert_bench.reports.model_card import write_model_card
    from albert_bench.reports.commands import make_plots, make_report, make_table

    artefacts: dict[str, str] = {}
    # The CrowS-Pairs CSV is not shipped (and the Hub is offline here): the card probe and templates.
    bias = run_bias(model=str(model_dir), probe=["card", "templates"], out_dir=str(output_dir / "bias"),
                    results_dir=str(results_dir))
    artefacts["bias summary"] = bias["outputs"]["summary"]
    for plot in bias["outputs"]["plots"][:1]:
        artefacts["bias plot"] = plot
    for kind in TABLE_KINDS:
        path = output_dir / "tables" / f"{kind}.md"
        make_table(results_dir=str(results_dir), kind=kind, fmt="md", out=str(path), strict=True)
        artefacts[f"table: {kind}"] = str(path)
    plots = make_plots(results_dir=str(results_dir), out_dir=str(output_dir / "plots"), strict=True,
                       bootstrap=bootstrap)
    artefacts["plots"] = f"{output_dir / 'plots'} ({len(plots)} files)"
    artefacts["model card"] = str(write_model_card(str(model_dir), results_dir=str(results_dir),
                                                   bias=bias["path"], out=str(output_dir / "MODEL_CARD.md"),
                                                   tasks=tasks))
    artefacts["HTML report"] = str(make_report(results_dir=str(results_dir), out_dir=str(output_dir), strict=True,
                                               bootstrap=bootstrap))
    return artefacts
