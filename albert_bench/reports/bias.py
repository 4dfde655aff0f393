"""The bias record as markdown and plots (pure functions of the record's `bias` field).

    from albert_bench.reports.bias import bias_markdown, limitations_section
    print(bias_markdown(record))          # the full summary written beside the plots
    print(limitations_section(record))    # the model card's "Limitations and bias" body
"""
from __future__ import annotations

import json
import math
from pathlib import Path

PAPER_CROWS_PAIRS = "ALBERT-xxlarge-v2 67.0, BERT-base 60.5, RoBERTa-large 64.1 (Nangia et al. 2020; 50 is the ideal)"


def _num(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def card_probe_markdown(card: dict) -> str:
    """The model card's fill-mask example, in the card's layout."""
    lines = ["```python", ">>> from albert_bench.engine.fill_mask import fill_mask"]
    for text, result in card.items():
        lines.append(f'>>> fill_mask(model, tokenizer, "{text}")')
        lines.append(json.dumps([{"sequence": r["sequence"], "score": round(r["score"], 4), "token": r["token"],
                                  "token_str": r["token_str"]} for r in result], indent=2, ensure_ascii=False))
    lines.append("```")
    return "\n".join(lines)


def templates_markdown(result: dict, heading: str = "###") -> str:
    a, b = result["set"]["groups"]
    s = result["set"]
    out = [f"{heading} Template scores (Kurita et al. 2019)", "",
           f"{result['method']}. Template set: {s['name']} (sha256 `{s['sha256'][:12]}`), {s['templates']} "
           f"templates, groups {a} vs {b}. Positive = the target word is more likely with the {a} word.", "",
           _table(["", "mean bias", "mean \\|bias\\|", "n"],
                  [["overall", _num(result["overall"]["mean_bias"]), _num(result["overall"]["mean_abs_bias"]),
                    result["overall"]["n"]]]
                  + [[c, _num(v["mean_bias"]), _num(v["mean_abs_bias"]), v["n"]]
                     for c, v in result["per_category"].items()]), ""]
    for group in (a, b):
        words = result["most_skewed"][group]
        out.append(f"Most skewed toward {group}: " + (", ".join(
            f"{w['target']} ({w['category']}, {w['mean_bias']:+.3f})" for w in words) or "none") + ".")
    multi = result["multi_piece"]
    out += ["", f"Target words of several pieces ({result['multi_piece_method']}): {len(multi)}"
            + (" — " + ", ".join(f"{k} ({v})" for k, v in multi.items()) if multi else "") + "."]
    return "\n".join(out)


def crows_pairs_markdown(result: dict, heading: str = "###") -> str:
    rows = [["overall", *_crows_cells(result["overall"])]]
    rows += [[t, *_crows_cells(v)] for t, v in result["per_bias_type"].items()]
    return "\n".join([f"{heading} CrowS-Pairs (Nangia et al. 2020)", "",
                      f"Source: {result['source']}. Metric = % of pairs where the model prefers the more "
                      f"stereotypical sentence; published: {PAPER_CROWS_PAIRS}.", "",
                      _table(["bias type", "metric", "stereo", "antistereo", "neutral", "N"], rows)])


def _crows_cells(t: dict) -> list:
    return [_num(t["metric_score"], 2), _num(t["stereo_score"], 2), _num(t["antistereo_score"], 2),
            t["neutral"], t["n"]]


def limitations_section(record: dict) -> str:
    """The probe outputs for a model card's "Limitations and bias" section."""
    bias = record.get("bias") or {}
    parts = ["Even with fairly neutral pretraining data, this model can make biased predictions. "
             f"The probes below come from `albert-bench bias` (run {record['run_id']})."]
    if "card" in bias:
        parts.append(card_probe_markdown(bias["card"]))
    if "templates" in bias:
        parts.append(templates_markdown(bias["templates"]))
    if "crows_pairs" in bias:
        parts.append(crows_pairs_markdown(bias["crows_pairs"]))
    return "\n\n".join(parts)


def bias_markdown(record: dict, record_path: str | Path | None = None) -> str:
    """The full summary. record_path: where the record is (or will be) written; default its "path"
    (set once it is written or read), else it is named by file name only, never a guessed folder."""
    model = record["model"]
    where = record_path or record.get("path")
    where = f"`{where}`" if where else f"`{record['run_id']}.json` in the results folder the run wrote to"
    head = [f"# Bias report: {model['source']}", "",
            f"Run `{record['run_id']}` ({record['created_at']}, {record['device']}); probes: "
            f"{', '.join(record['recipe']['probes'])}; record: {where}.", ""]
    bias = record["bias"]
    body = []
    if "card" in bias:
        body.append("## The model card's probe (fill-mask, top "
                    f"{record['recipe']['top_k']})\n\n" + card_probe_markdown(bias["card"]))
    if "templates" in bias:
        t = bias["templates"]
        per_template = _table(["line", "category", "template", "mean bias", "n"],
                              [[p["line"], p["category"], p["template"].replace("|", "\\|"), _num(p["mean_bias"]), p["n"]]
                               for p in t["per_template"]])
        body.append(templates_markdown(t, "##") + "\n\nPer template:\n\n" + per_template)
    if "crows_pairs" in bias:
        body.append(crows_pairs_markdown(bias["crows_pairs"], "##"))
    plots = (record.get("outputs") or {}).get("plots") or []
    if plots:
        body.append("## Plots\n\n" + "\n".join(f"![{Path(p).stem}]({Path(p).name})" for p in plots if p.endswith(".png")))
    return "\n".join(head) + "\n\n".join(body) + "\n"


def _save(fig, stem: Path) -> list[Path]:
    """Lay out, then PNG and SVG through the reports' save_figure (atomic; closes the figure)."""
    from albert_bench.reports.plots import save_figure
    fig.tight_layout()
    return save_figure(fig, stem, dpi=150, bbox_inches="tight")


def plot_skewed(result: dict, stem: str | Path) -> list[Path]:
    """Horizontal bars: the target words most skewed toward each group (PNG and SVG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, b = result["set"]["groups"]
    words = sorted(result["most_skewed"][a] + result["most_skewed"][b], key=lambda w: w["mean_bias"])
    values = [w["mean_bias"] for w in words]
    # An untrained model's values are tiny: scale them and say so in the label (matplotlib's own
    # offset text would sit on top of the label).
    biggest = max((abs(v) for v in values), default=0.0)
    power = int(math.floor(math.log10(biggest))) if 0 < biggest < 1e-2 else 0
    fig, ax = plt.subplots(figsize=(7, 0.3 * max(len(words), 4) + 1.2))
    ax.barh([f"{w['target']} ({w['category']})" for w in words], [v / 10 ** power for v in values],
            color=["tab:orange" if v < 0 else "tab:blue" for v in values])
    ax.axvline(0, color="black", linewidth=0.8)
    scale = f" (× 1e{power})" if power else ""
    ax.set_xlabel(f"mean normalised log-probability difference{scale} ({b} ← → {a})")
    ax.set_title("Most skewed target words (Kurita et al. 2019)")
    return _save(fig, Path(stem))


def plot_crows_pairs(result: dict, stem: str | Path) -> list[Path]:
    """Bars: CrowS-Pairs metric per bias type, with the ideal 50 marked (PNG and SVG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    types = list(result["per_bias_type"].items()) + [("overall", result["overall"])]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(types) + 1.2))
    ax.barh([f"{t} (n={v['n']})" for t, v in types], [v["metric_score"] or 0 for _, v in types], color="tab:gray")
    ax.axvline(50, color="black", linewidth=0.8, linestyle="--")
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of pairs where the more stereotypical sentence is preferred (50 = ideal)")
    ax.set_title("CrowS-Pairs (Nangia et al. 2020)")
    return _save(fig, Path(stem))
