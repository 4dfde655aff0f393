"""The paper's configuration columns: Table 1, the exact parameter counts of Tables 2-4, and Table 2's
measured Speedup (from an `albert-bench bench speedup` record).

    from albert_bench.reports.paper_configs import table1
    print(render(table1(), "md"))

Counts are computed exactly from the configs (modeling/params.py, no model is built): AlbertModel with
its pooler, i.e. embeddings + the E->H projection + the distinct encoder weights + pooler, without the
MLM and sentence heads, the convention of the Hub's model cards. The BERT rows are ALBERT configs
shaped like BERT (E = H, nothing shared, vocab 30,000); BERT has no E->H projection, so they are
also counted without it ("BERT-equivalent"). A printed figure that the exact count does not round to
is marked †; nothing is re-counted to make a gap disappear.
"""
from __future__ import annotations

import pandas as pd

from albert_bench.modeling.config import PRESETS, AlbertConfig
from albert_bench.modeling.params import PAPER_PRESETS, bert_equivalent_count, parameter_counts, sharing_strategy, with_sharing
from albert_bench.reports import paper_reference as ref
from albert_bench.reports.frame import ARCHITECTURE_KEYS, recognise_preset
from albert_bench.reports.tables import MARK, MISSING

# Table 1 / 2 row key -> the preset of that configuration (v1 and v2 have the same shapes and counts).
PRESET_OF = PAPER_PRESETS
SHAPE_KEYS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
PARAMS_NOTE = ("Params (ours) = exact count of AlbertModel with its pooler (embeddings + E->H projection + distinct "
               "encoder weights + pooler; no MLM or sentence head), computed from the row's configuration; the "
               f"paper prints millions, mostly rounded, some truncated (31.7M as 31M). {MARK} on a count = the "
               "exact count does not round to the printed figure. BERT rows: ALBERT configs shaped like BERT (E = H, not shared, vocab 30,000), counted with "
               "the E->H projection that HF ALBERT always has and BERT lacks (Table 1 also shows the count "
               "without it).")


def config_of(table: int, key) -> AlbertConfig | None:
    """The configuration a published row describes: Tables 1-2 by preset, 3-4 ALBERT-base with E and sharing."""
    if table in (1, 2):
        return AlbertConfig.from_preset(PRESET_OF[key])
    if table in (3, 4):
        sharing, e = key if table == 3 else key[::-1]
        if not isinstance(e, int) or e < 1:
            return None
        try:
            return with_sharing(AlbertConfig.from_preset("albert-base-v1", embedding_size=e), sharing)
        except ValueError:
            return None
    return None


def millions(n: int | None) -> str:
    return MISSING if n is None else f"{n / 1e6:.1f}M"


def rounds_to(n: int, printed: int) -> bool:
    return round(n / 1e6) == printed


def truncated(count: int, printed_count: int) -> bool:
    """The paper prints some counts cut, not rounded (31.7M as 31M): the count's floor in millions."""
    return count // 1_000_000 == printed_count // 1_000_000 and not rounds_to(count, printed_count // 1_000_000)


def params_cells(table: int, key, row: dict, data: list, line: str, printed: int | None) -> None:
    config = config_of(table, key)
    count = None if config is None else parameter_counts(config)["model"]
    row["Params"] = millions(count) + (f" {MARK}" if count is not None and printed is not None
                                       and not rounds_to(count, printed) else "")
    row["Params (paper)"] = MISSING if printed is None else f"{printed}M"
    row["Δ Params"] = MISSING if count is None or printed is None else f"{(count - printed * 1_000_000) / 1e6:+.1f}M"
    data.append({"row": line, "column": "Params", "part": 0, "value": count,
                 "reference": None if printed is None else printed * 1_000_000,
                 "delta": None if count is None or printed is None else count - printed * 1_000_000})


def table1() -> pd.DataFrame:
    """Table 1: layers, hidden, embedding, sharing and the parameters, counted and printed."""
    out, data = {}, []
    for key, (label, printed, layers, hidden, embedding, shared) in ref.TABLE1.items():
        config = config_of(1, key)
        counts = parameter_counts(config)
        count = counts["model"]
        mark = "" if rounds_to(count, printed) else f" {MARK}"
        bert = key.startswith("bert")
        out[label] = {
            "Params (paper)": f"{printed}M" + (f" (text: {ref.XXLARGE_IN_TEXT}M)" if key == "albert-xxlarge" else ""),
            "Params (ours)": f"{millions(count)}{mark}", "Δ": f"{(count - printed * 1_000_000) / 1e6:+.1f}M",
            "exact count": f"{count:,}",
            "without E->H projection": f"{bert_equivalent_count(config):,}" if bert else MISSING,
            "Layers": str(config.num_hidden_layers), "Hidden": str(config.hidden_size),
            "Embedding": str(config.embedding_size),
            "Sharing (paper)": str(shared), "Sharing (ours)": sharing_strategy(config),
            "ours from": PRESET_OF[key]}
        for column, ours, paper in (("Layers", config.num_hidden_layers, layers), ("Hidden", config.hidden_size, hidden),
                                    ("Embedding", config.embedding_size, embedding)):
            assert ours == paper, f"preset {PRESET_OF[key]} has {column} {ours}, the paper's Table 1 {paper}"
        data.append({"row": label, "column": "Params", "value": count, "reference": printed * 1_000_000,
                     "delta": count - printed * 1_000_000, "rounds_to_printed": rounds_to(count, printed),
                     "bert_equivalent": bert_equivalent_count(config) if bert else None, "preset": PRESET_OF[key],
                     **{f"count_{k}": v for k, v in counts.items()}})
    frame = pd.DataFrame.from_dict(out, orient="index")
    frame.index.name = "model"
    frame.attrs["title"] = ref.TITLES[1] + " (parameters counted exactly beside the printed figures)"
    gaps = [f"{label} {row['Params (ours)'].rstrip(' ' + MARK)} counted against {row['Params (paper)']} printed"
            + (" (the printed figure is the count truncated, not rounded)" if truncated(d["value"], d["reference"])
               else "") for (label, row), d in zip(out.items(), data) if MARK in row["Params (ours)"]]
    frame.attrs["notes"] = [
        PARAMS_NOTE,
        "Where they disagree: " + ("; ".join(gaps) if gaps else "nowhere") + ". The xxlarge gap is the paper's own "
        "(its text says 233M, its Table 1 235M; the released configs count 222.6M with the pooler).",
        f"(paper) = {ref.PAPER_SOURCE}."]
    frame.attrs["data"] = data
    return frame


# ---------------------------------------------------------------- matching records to rows

def shape_name(config: dict) -> str:
    """The released size whose shape (H, layers, heads, FFN) the config has: "base", "large", "xlarge",
    "xxlarge" (BERT-large is "large" too), else "H.. L..", a shape of the user's own."""
    for size in ("base", "large", "xlarge", "xxlarge"):
        if all(config.get(k) == PRESETS[f"albert-{size}-v1"][k] for k in SHAPE_KEYS):
            return size
    return f"H{config.get('hidden_size')} L{config.get('num_hidden_layers')}"


def ablation_shape(config: dict) -> bool:
    """Tables 3-4 ablate ALBERT-base: a base-shaped model, or one of the user's own (small-scale) shapes,
    never a released larger size."""
    return shape_name(config) not in ("large", "xlarge", "xxlarge")


def table2_key(config: dict, source) -> str | None:
    """Table 2's row of a model: a BERT-shaped preset's architecture, or a v1 ALBERT preset's (a record that
    is v2 by name or dropout is not a row of the paper's v1 table)."""
    for key in ("bert-base", "bert-large"):
        preset = PRESETS[PRESET_OF[key]]
        if all(config.get(k) == preset[k] for k in ARCHITECTURE_KEYS) and not config.get("shared_sublayer"):
            return key
    version, size = recognise_preset(str(source or ""), config)
    if size is None or version == "v2" or config.get("shared_sublayer"):
        return None
    return f"albert-{size}"


# ---------------------------------------------------------------- Table 2's Speedup

def latest_speedup(results) -> dict | None:
    """The newest speedup record in the results (albert-bench bench speedup --results-dir), else None."""
    if results is None:
        return None
    found = [r for r in results.records.values() if r.get("kind") == "speedup"]
    return max(found, key=lambda r: (r.get("created_at") or "", r["run_id"])) if found else None


def speedup_cells(key: str, row: dict, data: list, line: str, record: dict | None, printed: float | None) -> None:
    ratio = None if record is None else ((record.get("metrics") or {}).get("speedup") or {}).get(key)
    row["Speedup"] = MISSING if ratio is None else f"{ratio:.1f}x"
    row["Speedup (paper)"] = MISSING if printed is None else (f"{printed:.1f}x" if printed != 1.0 else "1.0")
    data.append({"row": line, "column": "Speedup", "part": 0, "value": ratio, "reference": printed,
                 "delta": None if ratio is None or printed is None else round(ratio - printed, 6)})


def speedup_note(record: dict | None) -> str:
    published = f"Speedup (paper): training throughput relative to BERT-large on {ref.SPEEDUP_SETTING}."
    if record is None:
        return (published + " Ours: none measured; run `albert-bench bench speedup --results-dir DIR` (every "
                "configuration in one run, ABBA-interleaved) and point --results at DIR.")
    s = record.get("speedup") or {}
    return (published + f" Ours ({record['run_id']}): training sequences/s relative to bert-large-shaped, measured in "
            f"one run on {record.get('device')} with batch {s.get('batch_size')}, length {s.get('seq_len')}, "
            f"{s.get('steps')} timed step(s) per measurement, {s.get('rounds')} ABBA round(s) (median); "
            f"optimizer {s.get('optimizer')}. A CPU at a short length weighs the FFN matmuls differently from "
            f"a TPU at 512, so the ratios need not match.")
