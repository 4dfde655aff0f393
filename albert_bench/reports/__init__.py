"""Reports: pure functions of the run records in results/ (never runs a model).

    frame.py      load_results -> Results (DataFrame, records, warnings, read/skipped counts)
    tables.py     model_card_table, glue_table, leaderboard_table, runs_table
    render.py     render(table, "md" | "csv" | "latex" | "html" | "json")
    reference.py  the published numbers (model card), with their source
    bootstrap.py  bootstrap intervals from per-example predictions; paired comparison
    plots.py      PNG + SVG figures (matplotlib, Agg)
    html.py       one self-contained HTML report

Imports records and config only, never the training engine or the model.
"""
from albert_bench.reports.frame import Results, load_results
from albert_bench.reports.render import render
from albert_bench.reports.tables import glue_table, leaderboard_table, model_card_table, runs_table

__all__ = ["Results", "load_results", "render", "model_card_table", "glue_table", "leaderboard_table", "runs_table"]
