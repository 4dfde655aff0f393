"""One self-contained HTML report: tables, intervals, plots (PNG as base64), the run list and,
when bias records are present, their probe outputs. No JavaScript, no network; every string
that comes from data goes through html.escape.

    from albert_bench.reports import load_results
    from albert_bench.reports.html import write_report
    write_report(load_results("results"), "reports")        # -> reports/report.html
"""
from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from albert_bench.io import atomic_write_text
from albert_bench.reports import health, plots, sweep
from albert_bench.reports.bootstrap import intervals as bootstrap_intervals
from albert_bench.reports.frame import NOT_SCORES, Results
from albert_bench.reports.bias import PAPER_CROWS_PAIRS
from albert_bench.reports.leaderboard import leaderboard_table
from albert_bench.reports.render import to_html
from albert_bench.reports.paper import paper_table, paper_tables_with_ours
from albert_bench.reports.tables import (GLUE_TASKS, MISSING, aggregate, fmt, glue_table, model_card_table,
                                         published_rows, runs_table)

esc = html.escape
MAX_LIST_ROWS = 50       # bias lists longer than this are cut (the record has them all)
FIGURE_DPI = 80          # 4 panels a row: ~1400 px wide, sharp at the page's 1200 px
FOLD_AFTER = 10          # per-row tables (runs, intervals, spread) longer than this fold into <details>
CAPTIONS = {
    "scores": "Score per task and model (main metric, median over seeds): points with 95% bootstrap intervals.",
    "params": "Score against parameter count (millions, log axis), one marker per model (named in the legend).",
    "seeds": "Seed spread: one dot per run, the median as a line.",
    "curves": "Training loss (running mean) and the dev metric against step, from the step logs.",
    "sweep": "Sweep: the dev main metric against the swept setting, a line per model (median over seeds, bars: "
             "min to max).",
}
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1200px;color:#222;
     padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
table.results{border-collapse:collapse;margin:.8em 0;font-size:.88em}
table.results th,table.results td{border:1px solid #ddd;padding:.25em .55em;text-align:right;white-space:nowrap}
table.results thead th{background:#f0f2f5;text-align:center}
table.results tbody th{text-align:left;background:#fafafa}
table.results td.text{text-align:left}
table.results caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}
p.note{font-size:.82em;color:#555;margin:.2em 0;max-width:70em}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.4em .8em;font-size:.85em}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}
.scroll{overflow-x:auto;max-width:100%}
details{margin:.6em 0}summary{cursor:pointer;color:#345;font-size:.92em}
ul.words{font-size:.88em;margin:.3em 0}figure.bias img{max-width:min(100%,720px)}
"""


def _table(table: pd.DataFrame, footer: str | None = None, fold_after: int | None = None) -> str:
    """A table; the results footer (said once at the top of the page) left out of its notes; tables
    longer than fold_after rows folded into <details> (HTML only, no script)."""
    table = table.copy()
    table.attrs = {**table.attrs, "notes": [n for n in table.attrs.get("notes", []) if n != footer]}
    text = f'<div class="scroll">{to_html(table)}</div>'
    if fold_after is not None and len(table) > fold_after:
        title = esc(table.attrs.get("title", "table"))
        text = f"<details><summary>{title}: {len(table)} rows (click to open)</summary>{text}</details>"
    return text


def _section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>\n{body}\n</section>'


def _has_glue(results: Results) -> bool:
    return bool(set(results.frame["task"]) & set(GLUE_TASKS)) if not results.frame.empty else False


def spread_table(results: Results, spans: pd.DataFrame | None, agg: str, checkpoint: str) -> pd.DataFrame:
    """Both uncertainties, labelled, where a model and task have several runs: the sd over seeds
    and the mean bootstrap half-width over examples."""
    stats = aggregate(results, agg, checkpoint, spans)
    rows = {}
    for (model, task, split, metric), r in stats[stats["n"] >= 2].iterrows():
        if metric in NOT_SCORES:   # counts and thresholds have no spread worth showing
            continue
        half = (r["hi"] - r["lo"]) / 2 if not pd.isna(r["lo"]) else None
        rows[f"{model} · {task} {split} {metric}"] = {
            f"{agg}": fmt(r["value"]), "runs (n)": str(int(r["n"])), "sd over seeds": fmt(r["std"]),
            "± over examples (95% bootstrap)": fmt(half) if half is not None else MISSING}
    out = pd.DataFrame.from_dict(rows, orient="index",
                                 columns=[agg, "runs (n)", "sd over seeds", "± over examples (95% bootstrap)"])
    out.index.name = "model · task split metric"
    out.attrs["title"] = "Seed spread and example sampling"
    out.attrs["notes"] = ["sd over seeds: how much runs with different seeds differ (run-to-run). ± over examples: "
                          "half the bootstrap interval of one run's score, averaged over the runs (finite dev set)."]
    return out


def intervals_table(results: Results, spans: pd.DataFrame) -> pd.DataFrame:
    info = results.runs.set_index("run_id")
    rows = {}
    for r in spans.itertuples():
        rows[f"{r.run_id} · {r.split} · {r.metric}"] = {
            "model": str(info.loc[r.run_id, "model"]), "task": str(info.loc[r.run_id, "task"]),
            "score": fmt(r.point), "95% interval": f"[{fmt(r.low)}, {fmt(r.high)}]", "examples": str(r.n)}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["model", "task", "score", "95% interval", "examples"])
    out.index.name = "run · split · metric"
    out.attrs["title"] = "Bootstrap 95% intervals per run (best checkpoint)"
    out.attrs["notes"] = ["Examples resampled with replacement; each metric recomputed on every resample "
                          "(MCC, F1, Pearson/Spearman on the resample; SQuAD EM/F1 per question)."]
    return out


# ---------------------------------------------------------------- bias records, generically

def _is_scalar(x: Any) -> bool:
    return x is None or isinstance(x, (str, int, float, bool))


def _value(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return esc(str(x))


def render_value(obj: Any, depth: int = 0) -> str:
    """Any JSON value as escaped HTML: scalar dicts as key/value tables, lists of flat dicts as
    tables (one column per key), nested objects as headed sub-sections."""
    if _is_scalar(obj):
        return f"<p>{_value(obj)}</p>"
    if isinstance(obj, list):
        if all(_is_scalar(x) for x in obj):
            return f"<p>{', '.join(_value(x) for x in obj[:MAX_LIST_ROWS])}</p>"
        if all(isinstance(x, dict) and all(_is_scalar(v) for v in x.values()) for x in obj):
            keys = list(dict.fromkeys(k for x in obj for k in x))
            head = "".join(f"<th>{esc(str(k))}</th>" for k in keys)
            body = "".join("<tr>" + "".join(f"<td>{_value(x.get(k, ''))}</td>" for k in keys) + "</tr>"
                           for x in obj[:MAX_LIST_ROWS])
            more = f'<p class="note">… {len(obj) - MAX_LIST_ROWS} more in the record</p>' if len(obj) > MAX_LIST_ROWS else ""
            return f'<div class="scroll"><table class="results"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{more}'
        return "".join(f"<div>{render_value(x, depth + 1)}</div>" for x in obj[:MAX_LIST_ROWS])
    if isinstance(obj, dict):
        flat = {k: v for k, v in obj.items() if _is_scalar(v)}
        nested = {k: v for k, v in obj.items() if not _is_scalar(v)}
        parts = []
        if flat:
            body = "".join(f"<tr><th>{esc(str(k))}</th><td>{_value(v)}</td></tr>" for k, v in flat.items())
            parts.append(f'<table class="results"><tbody>{body}</tbody></table>')
        level = min(6, 3 + depth)
        for key, value in nested.items():
            parts.append(f"<h{level}>{esc(str(key))}</h{level}>{render_value(value, depth + 1)}")
        return "".join(parts)
    return f"<p>{esc(repr(obj))}</p>"


def _small_table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{esc(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + f"<th>{_value(r[0])}</th>" + "".join(f"<td>{_value(c)}</td>" for c in r[1:]) + "</tr>"
                   for r in rows)
    return f'<div class="scroll"><table class="results"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _templates_summary(t: dict) -> str:
    """Kurita et al.'s template scores as the card shows them: overall and per category, then the
    most skewed target words toward each group."""
    a, b = t["set"]["groups"]
    rows = [["overall", t["overall"]["mean_bias"], t["overall"]["mean_abs_bias"], t["overall"]["n"]]]
    rows += [[c, v["mean_bias"], v["mean_abs_bias"], v["n"]] for c, v in t["per_category"].items()]
    words = "".join(f"<li>toward <b>{esc(group)}</b>: " + (", ".join(
        f"{esc(w['target'])} ({esc(w['category'])}, {w['mean_bias']:+.3f})" for w in t["most_skewed"][group])
        or "none") + "</li>" for group in (a, b))
    return (f"<h4>Template scores (Kurita et al. 2019)</h4><p class=\"note\">{esc(t['method'])} Template set "
            f"{esc(t['set']['name'])}, {t['set']['templates']} templates, {esc(a)} vs {esc(b)}; positive = more "
            f"likely with the {esc(a)} word.</p>"
            + _small_table(["", "mean bias", "mean |bias|", "n"], rows)
            + f"<p>Most skewed target words:</p><ul class=\"words\">{words}</ul>")


def _crows_summary(c: dict) -> str:
    def cells(v):
        return [v["metric_score"], v["stereo_score"], v["antistereo_score"], v["neutral"], v["n"]]
    rows = [["overall", *cells(c["overall"])]] + [[k, *cells(v)] for k, v in c["per_bias_type"].items()]
    return (f"<h4>CrowS-Pairs by bias type (Nangia et al. 2020)</h4><p class=\"note\">Source: {esc(str(c['source']))}. "
            f"Metric = % of pairs where the more stereotypical sentence is preferred (50 is the ideal); published: "
            f"{esc(PAPER_CROWS_PAIRS)}.</p>"
            + _small_table(["bias type", "metric", "stereo", "antistereo", "neutral", "N"], rows))


def _card_probe_summary(card: dict) -> str:
    rows = [[text, ", ".join(f"'{r.get('token_str')}' ({r.get('score', 0):.4f})" for r in results)]
            for text, results in card.items()]
    return "<h4>The model card's fill-mask probe</h4>" + _small_table(["input", "top predictions (score)"], rows)


def bias_section(results: Results) -> str:
    """Each bias record as the model card summarises it: the fill-mask probe, the template scores with the
    most skewed words, CrowS-Pairs by bias type, the plots; every row stays in the record (its path named)."""
    parts = []
    for record in results.bias_records:
        bias = record.get("bias") or {}
        parts.append(f"<h3>{esc(str(record.get('label', '?')))} — {esc(record['run_id'])}</h3>")
        summary = (record.get("outputs") or {}).get("summary")
        parts.append(f'<p class="note">record {esc(str(record.get("path")))}'
                     + (f", summary {esc(str(summary))}" if summary else "")
                     + f'; source {esc(str((record.get("model") or {}).get("source")))}, created '
                     f'{esc(str(record.get("created_at")))}. Per-template and per-word rows are in the record.</p>')
        if "card" in bias:
            parts.append(_card_probe_summary(bias["card"]))
        if "templates" in bias:
            parts.append(_templates_summary(bias["templates"]))
        if "crows_pairs" in bias:
            parts.append(_crows_summary(bias["crows_pairs"]))
        other = {k: v for k, v in bias.items() if k not in ("card", "templates", "crows_pairs")}
        if other:
            parts.append(f"<details><summary>other probe outputs: {esc(', '.join(map(str, other)))}</summary>"
                         f"{render_value(other)}</details>")
        for plot in ((record.get("outputs") or {}).get("plots") or []):
            path = Path(plot)
            if path.suffix == ".png" and path.is_file() and path.stat().st_size < 5_000_000:
                parts.append(_img(path.read_bytes(), path.name).replace("<figure>", '<figure class="bias">', 1))
    return "\n".join(parts)


def compact_png(png: bytes) -> bytes:
    """The same picture in a 256-colour palette: a plot has few colours, and the page a third the size."""
    import io

    from PIL import Image
    with Image.open(io.BytesIO(png)) as image:
        buffer = io.BytesIO()
        image.convert("RGB").quantize(256, dither=Image.Dither.NONE).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue() if buffer.tell() < len(png) else png


def _img(png: bytes, caption: str) -> str:
    data = base64.b64encode(compact_png(png)).decode("ascii")
    return (f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


# ---------------------------------------------------------------- the page

def build_report(results: Results, bootstrap: int = 1000, seed: int = 0, agg: str = "median",
                 checkpoint: str = "best", reference: bool = True, tolerance: float = 1.0) -> str:
    every, (results, screen) = results, health.screen(results)   # degenerate / diverged runs: left out, listed
    # A sweep: the tables and plots show each (model, task)'s best dev-median setting, as `table` does;
    # the sweep plot shows every setting.
    all_settings = results
    results, chosen = sweep.select(results, "best-median", checkpoint)
    spans = bootstrap_intervals(results, resamples=bootstrap, seed=seed) if bootstrap else None
    sections = []
    foot = results.footer()
    if chosen:
        sections.append(_section("Sweep", "\n".join(f"<p>{esc(line)}</p>" for line in chosen), "sweep"))
    card = model_card_table(results, agg, checkpoint, intervals=spans, ci="pm" if spans is not None else None)
    card = health.annotate(card, screen, "model-card")
    sections.append(_section("Model card table", _table(card, foot), "card"))
    matched = published_rows(results, card.index)
    if reference and any(matched.values()):
        ref = model_card_table(results, agg, checkpoint, reference=True, tolerance=tolerance)
        ref = ref.loc[[m for m in ref.index if matched[m]]]
        sections.append(_section("Against the published numbers", _table(ref, foot), "reference"))
    if _has_glue(results):
        glue = health.annotate(glue_table(results, agg, checkpoint, intervals=spans,
                                          ci="pm" if spans is not None else None), screen, "glue")
        sections.append(_section("GLUE dev", _table(glue, foot), "glue"))
    paper = [paper_table(n, results, agg=agg, checkpoint=checkpoint, tolerance=tolerance)
             for n in paper_tables_with_ours(results)]
    sections.append(_section("The paper's tables", "\n".join(_table(t, foot) for t in paper),
                             "paper"))
    if not results.frame.empty:
        sections.append(_section("Leaderboard", _table(leaderboard_table(results, agg=agg, checkpoint=checkpoint),
                                                       foot), "leaderboard"))
    figs = plots.figures(all_settings, spans)    # chooses the same settings, and adds the sweep plot
    body = []
    for name, fig in figs.items():
        body.append(_img(plots.figure_bytes(fig, "png", dpi=FIGURE_DPI), CAPTIONS[name]))
        plots.plt.close(fig)
    sections.append(_section("Plots", "\n".join(body), "plots"))
    spread = spread_table(results, spans, agg, checkpoint)
    if len(spread):
        sections.append(_section("Seed spread and example sampling", _table(spread, foot, fold_after=FOLD_AFTER), "spread"))
    if spans is not None and len(spans):
        sections.append(_section("Intervals", _table(intervals_table(results, spans), foot, fold_after=FOLD_AFTER), "intervals"))
    if screen.unhealthy:
        sections.append(_section("Degenerate and diverged runs", unhealthy_section(every, screen), "health"))
    sections.append(_section("Runs", _table(health.annotate(runs_table(every, checkpoint), screen, "runs"), foot,
                                            fold_after=FOLD_AFTER), "runs"))
    if results.bias_records:
        sections.append(_section("Bias probes", bias_section(results), "bias"))
    warnings = ""
    if results.warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in results.warnings)
        warnings = f'<div class="warn"><b>{len(results.warnings)} warning(s)</b><ul>{items}</ul></div>'
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    toc = " · ".join(f'<a href="#{a}">{esc(t)}</a>' for t, a in
                     [("card", "card"), ("GLUE", "glue"), ("leaderboard", "leaderboard"), ("paper", "paper"),
                      ("plots", "plots"),
                      ("runs", "runs")] + ([("bias", "bias")] if results.bias_records else []))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>albert-bench report</title><style>{STYLE}</style></head><body>\n"
            f"<h1>albert-bench report</h1>\n<p>{esc(results.footer())}. Built {esc(created)}; every number is read "
            f"from the run records (no model was run).</p>\n<p>{toc}</p>\n{warnings}\n" + "\n".join(sections)
            + f'\n<footer><p class="note">{esc(results.footer())}</p></footer>\n</body></html>\n')


def unhealthy_section(results: Results, screen: health.Screen) -> str:
    """The runs marked ‡ (reason, trivial baseline) and their loss curves (plots.curves_figure)."""
    rows = [[run_id, model, task, "?" if pd.isna(seed) else int(seed), state, reason,
             "-" if not base else f"{base.get('main_metric')} {base.get('values', {}).get(base.get('main_metric'))}"]
            for run_id, model, task, seed, state, reason, base in screen.unhealthy]
    body = _small_table(["run", "model", "task", "seed", "health", "reason", "trivial baseline"], rows)
    note = ("Left out of the tables' aggregates (table --keep-degenerate keeps them); a suite restart "
            "(--restarts) replaces them.")
    fig = plots.curves_figure(health.subset(results, [u[0] for u in screen.unhealthy]))
    png = plots.figure_bytes(fig, "png", dpi=FIGURE_DPI)
    plots.plt.close(fig)
    return f'{body}\n<p class="note">{esc(note)}</p>\n' + _img(png, "Training curves of the degenerate and diverged runs.")


def write_report(results: Results, out_dir, **options) -> Path:
    """Build the report (options: see build_report) and write out_dir/report.html atomically."""
    return atomic_write_text(Path(out_dir) / "report.html", build_report(results, **options))
