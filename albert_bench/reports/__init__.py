"""Reports: pure functions of the run records in results/ (never runs a model).

    frame.py      load_results -> Results (DataFrame, records, warnings, read/skipped counts)
    tables.py     model_card_table, glue_table, runs_table
    leaderboard.py leaderboard_table (ranked by what the records can fill)
    sweep.py      a sweep's settings: each (model, task)'s best dev median, or every setting as a row
    render.py     render(table, "md" | "csv" | "latex" | "html" | "json")
    reference.py  the published numbers (model card), with their source
    bootstrap.py  bootstrap intervals from per-example predictions; paired comparison
    plots.py      PNG + SVG figures (matplotlib, Agg)
    html.py       one self-contained HTML report
    bias.py       the bias probes' markdown and plots, from a bias record
    model_card.py the Hugging Face model card (card text + model-index) from config + records

Imports records, metrics/, tasks/ (the registry's labels, for the card) and modeling/ (configs,
parameter counts), never the engine, the training loop or the bias probes' scoring.
"""
from albert_bench.reports.frame import Results, load_results
from albert_bench.reports.render import render
from albert_bench.reports.leaderboard import leaderboard_table
from albert_bench.reports.tables import glue_table, model_card_table, runs_table

__all__ = ["Results", "load_results", "render", "model_card_table", "glue_table", "leaderboard_table", "runs_table"]
