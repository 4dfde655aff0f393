"""The ALBERT paper's Tables 1-8 from the run records, ours beside the published numbers.

    albert-bench paper --table 4 --results results             # markdown; --format csv|latex|html|json
    albert-bench paper --table 7 --row without=base-run --row with=base-plus-data

    from albert_bench.reports import load_results
    from albert_bench.reports.paper import paper_table
    print(render(paper_table(3, load_results("results")), "md"))

Every table is a DataFrame of display strings like the card table (reports/tables.py): for each
downstream column X, "X" (ours), "X (paper)" and "Δ X" (ours − paper, † beyond `tolerance`), with
attrs["title"], attrs["notes"] and attrs["data"] (the numbers, for csv / json).

Which records make a row (no label typed by hand where the records can tell):
- Table 1: no records; every count is computed from the configs (reports/paper_configs.py).
- Table 2: a model whose architecture is the BERT-shaped or v1 ALBERT preset's (v2 records are not
  the paper's v1 rows); Speedup from the newest `albert-bench bench speedup` record.
- Tables 3 and 4: (sharing strategy, E), read from the model's config in the record; rows of
  another shape than ALBERT-base say so in the "shape" column (released larger sizes are not
  rows of these ablations; a small shape of the user's own is). Tables 2-4 take only models whose
  pretraining objective was SOP (or is not recorded): the paper varies the objective in Table 5 only.
- Table 5: the objective of the model's pretraining (record["model"]["pretraining"], which
  fine-tuning copies from the pretraining folder); the intrinsic MLM / NSP / SOP accuracies from
  the pretraining record with that run id (kind "pretrain", metrics.heldout).
- Tables 6-8, and any row of any table: --row KEY=MODEL (KEY a row key of the table, MODEL a row
  name of the results).
"""
from __future__ import annotations

import pandas as pd

from albert_bench.modeling.params import sharing_strategy
from albert_bench.reports import paper_configs
from albert_bench.reports import paper_reference as ref
from albert_bench.reports.frame import METRIC_KINDS, Results
from albert_bench.reports.tables import MARK, MISSING, aggregate, card_values, round1

TABLES = tuple(range(1, 9))
COLUMNS = ("SQuAD1.1", "SQuAD2.0", "MNLI", "SST-2", "RACE", "Avg")
DOWNSTREAM = {1: None, 2: ref.TABLE2, 3: ref.TABLE3, 4: ref.TABLE4, 5: ref.TABLE5, 6: ref.TABLE6, 7: ref.TABLE7,
              8: ref.TABLE8}
AVG_RULE = ("Avg = mean of SQuAD1.1 (F1+EM)/2, SQuAD2.0 (F1+EM)/2, MNLI, SST-2 and RACE, each as shown (the paper's "
            "rule); missing when any part is. SQuAD cells F1/EM; MNLI dev_matched; RACE test where a run has it, "
            "else dev (the paper's is test).")


class PaperTableError(ValueError):
    """A table number or --row the user can fix; the message says how."""


# ---------------------------------------------------------------- which model is which row

def row_keys(table: int) -> list:
    return list(DOWNSTREAM[table] or ref.TABLE1)


def key_text(table: int, key) -> str:
    """A row key as --row takes it: "albert-base", "none-64" (Table 3), "768-attention" (Table 4), "sop"."""
    return "-".join(str(k) for k in key) if isinstance(key, tuple) else str(key)


def _model_facts(results: Results) -> dict[str, dict]:
    """row name -> {"config", "pretraining", "source"} of its first metric record."""
    facts: dict[str, dict] = {}
    for record in results.records.values():
        if record.get("kind") in METRIC_KINDS and record["label"] not in facts:
            model = record.get("model") or {}
            facts[record["label"]] = {"config": model.get("config") or {}, "pretraining": model.get("pretraining") or {},
                                      "source": model.get("source")}
    return facts


def automatic_key(table: int, facts: dict):
    """The row of `table` the records say a model belongs to, else None."""
    config = facts["config"]
    if not config:
        return None
    if table in (2, 3, 4) and facts["pretraining"].get("objective", "sop") != "sop":
        return None                                  # Tables 2-4 are pretrained with SOP (Table 5 varies it)
    if table == 2:
        return paper_configs.table2_key(config, facts.get("source"))
    if table in (3, 4):
        if not paper_configs.ablation_shape(config):
            return None
        e, sharing = config.get("embedding_size"), sharing_strategy(config)
        return (sharing, e) if table == 3 else (e, sharing)
    if table == 5:
        return facts["pretraining"].get("objective")
    return None                                      # Tables 6-8: the user says (--row)


def parse_rows(table: int, rows) -> dict[str, object]:
    """["KEY=MODEL", ...] or {KEY: MODEL} -> {MODEL: (key, KEY as given)}; a KEY the table lacks is an error
    listing them."""
    if not rows:
        return {}
    pairs = rows.items() if isinstance(rows, dict) else [r.split("=", 1) if "=" in r else (r, None) for r in rows]
    known = {key_text(table, k): k for k in row_keys(table)}
    out = {}
    for key, model in pairs:
        if model is None:
            raise PaperTableError(f"--row {key!r}: expected KEY=MODEL, e.g. --row {next(iter(known))}=MY-RUN")
        if key not in known:
            raise PaperTableError(f"--row {key}={model}: Table {table} has no row {key!r}; its rows: "
                                  f"{', '.join(known)}")
        out[model.strip()] = (known[key], key)
    return out


def assign(table: int, facts: dict[str, dict], rows=None) -> dict:
    """key -> [row names of ours]: --row first, then what the records say; extra keys (an E or
    strategy the paper has no row for) come after the paper's rows. facts: _model_facts of the results."""
    explicit = parse_rows(table, rows)
    for model, (_, key) in explicit.items():
        if model not in facts:
            raise PaperTableError(f"--row {key}={model}: no row of the results is named {model!r}; rows there: "
                                  f"{', '.join(sorted(facts)) or 'none'} (names after --rename)")
    explicit = {model: k for model, (k, _) in explicit.items()}
    out: dict = {key: [] for key in row_keys(table)}
    for model in sorted(facts):
        key = explicit.get(model) if model in explicit else automatic_key(table, facts[model])
        if key is not None:
            out.setdefault(key, []).append(model)
    return out


# ---------------------------------------------------------------- cells

def downstream(stats: pd.DataFrame, model: str | None) -> dict[str, list[float | None]]:
    """Column -> our shown (rounded) values: SQuAD [F1, EM], others [acc], Avg by the card rule."""
    _, shown, average = card_values(stats, model)
    return {**shown, "Avg": [round1(average)]}


def _as_list(x) -> list[float]:
    return list(x) if isinstance(x, tuple) else [x]


def beside(row: dict, data: list, line: str, name: str, ours: list, paper, tolerance: float, unit: str = "",
           digits: int = 1, mark: str = "") -> None:
    """Add "name", "name (paper)", "Δ name" cells to `row` and their numbers to `data`; `mark` follows
    our cell (e.g. " (probe)")."""
    paper = None if paper is None else _as_list(paper)
    shown = MISSING if None in ours else "/".join(f"{v:.{digits}f}" for v in ours) + unit + mark
    row[name] = shown
    row[f"{name} (paper)"] = MISSING if paper is None else "/".join(f"{p:.{digits}f}" for p in paper) + unit
    deltas = None if paper is None or None in ours else [round(o - p, 6) for o, p in zip(ours, paper)]
    if deltas is None:
        row[f"Δ {name}"] = MISSING
    else:
        far = any(abs(d) > tolerance + 1e-9 for d in deltas)
        row[f"Δ {name}"] = "/".join(f"{d + 0.0:+.{digits}f}" for d in deltas) + (f" {MARK}" if far else "")
    for i, value in enumerate(ours):
        p = None if paper is None else paper[i]
        data.append({"row": line, "column": name, "part": i, "value": value, "reference": p,
                     "delta": None if value is None or p is None else round(value - p, 6)})


def _empty(results: Results | None, agg: str, checkpoint: str) -> pd.DataFrame:
    if results is None:
        return pd.DataFrame(columns=["value"], index=pd.MultiIndex.from_tuples([], names=["model", "task", "split",
                                                                                         "metric"]))
    return aggregate(results, agg, checkpoint)


# ---------------------------------------------------------------- the tables

def paper_table(table: int, results: Results | None = None, rows=None, agg: str = "median", checkpoint: str = "best",
                tolerance: float = 1.0) -> pd.DataFrame:
    """Table `table` (1-8) of the paper, ours beside the published numbers."""
    if table not in TABLES:
        raise PaperTableError(f"--table {table}: the paper has Tables 1-8")
    if table == 1:
        return paper_configs.table1()
    stats = _empty(results, agg, checkpoint)
    published = DOWNSTREAM[table]
    facts = _model_facts(results) if results is not None else {}
    assigned = assign(table, facts, rows)
    pretraining = _pretraining_records(results) if table == 5 else {}
    speed = paper_configs.latest_speedup(results) if table == 2 else None
    out, data = {}, []
    for key, models in assigned.items():
        for model in models or [None]:
            line = _line_label(table, key) + (f" · {model}" if model and len(models) > 1 else "")
            row: dict = {"ours": model or MISSING}
            if table in (3, 4):
                row["shape"] = paper_configs.shape_name(facts[model]["config"]) if model else MISSING
            if table in (2, 3, 4):
                paper_params = published[key][0] if key in published else None
                paper_configs.params_cells(table, key, row, data, line, paper_params)
            if table == 5:
                intrinsic_cells(row, data, line, _heldout_of(model, facts, pretraining),
                                published[key][0] if key in published else None, tolerance)
            cells = downstream(stats, model)
            paper_cells = published[key][1] if key in published else {}
            for name in COLUMNS:
                beside(row, data, line, name, cells[name], paper_cells.get(name) if isinstance(paper_cells, dict)
                       else None, tolerance)
            if table == 2:
                paper_configs.speedup_cells(key, row, data, line, speed, published[key][2] if key in published else None)
            out[line] = row
    only = _unfine_tuned_pretraining(out, data, facts, pretraining, assigned, tolerance) if table == 5 else []
    frame = pd.DataFrame.from_dict(out, orient="index")
    frame.index.name = "row"
    frame.attrs["title"] = ref.TITLES[table] + " (ours beside the published numbers)"
    frame.attrs["notes"] = _notes(table, results, assigned, agg, checkpoint, tolerance, speed, only)
    frame.attrs["data"] = data
    return frame


def _line_label(table: int, key) -> str:
    if table == 2:
        return ref.TABLE1[key][0]
    if table == 3:
        return f"{ref.SHARING_NAMES.get(key[0], key[0])}, E={key[1]}"
    if table == 4:
        return f"E={key[0]}, {ref.SHARING_NAMES.get(key[1], key[1])}"
    if table == 5:
        return ref.OBJECTIVE_NAMES.get(key, str(key))
    return DOWNSTREAM[table][key][0]


# ---------------------------------------------------------------- Table 5: pretraining records

def _pretraining_records(results: Results | None) -> dict[str, dict]:
    return {} if results is None else {r["run_id"]: r for r in results.records.values() if r.get("kind") == "pretrain"}


def intrinsic_values(heldout: dict) -> list[float | None]:
    """[MLM, NSP, SOP] in percent from a pretraining record's heldout block: the sentence head's accuracy
    where it was trained, else the linear probe's (objective none: an untrained head is chance by design)."""
    def pct(x):
        return None if x is None else 100.0 * float(x)
    probe = heldout.get("sentence_head") == "untrained"
    return [pct(heldout.get("masked_token_accuracy")),
            pct(heldout.get("nsp_probe_accuracy" if probe else "nsp_accuracy")),
            pct(heldout.get("sop_probe_accuracy" if probe else "sop_accuracy"))]


def intrinsic_cells(row: dict, data: list, line: str, heldout: dict, paper, tolerance: float) -> None:
    """Table 5's MLM / NSP / SOP cells of one pretraining; a probe's cell says " (probe)"."""
    probe = " (probe)" if heldout.get("sentence_head") == "untrained" else ""
    for name, ours, p in zip(("MLM", "NSP", "SOP"), intrinsic_values(heldout), paper or (None,) * 3):
        beside(row, data, line, name, [ours], p, tolerance, mark=probe if name != "MLM" and ours is not None else "")


def _heldout_of(model: str | None, facts: dict[str, dict], pretraining: dict) -> dict:
    """The held-out block of the pretraining record a model was fine-tuned from ({} when not here)."""
    if model is None:
        return {}
    record = pretraining.get((facts[model]["pretraining"] or {}).get("run_id"))
    return ((record.get("metrics") or {}).get("heldout") or {}) if record else {}


def _unfine_tuned_pretraining(out: dict, data: list, facts: dict[str, dict], pretraining: dict, assigned: dict,
                              tolerance: float) -> list[str]:
    """A pretraining record no fine-tune record here came from still fills its intrinsic columns; returns
    what the notes say of those rows."""
    only: list[str] = []
    linked = {(facts[m]["pretraining"] or {}).get("run_id") for models in assigned.values() for m in models}
    for run_id, record in sorted(pretraining.items()):
        key = (record.get("pretraining") or {}).get("objective")
        if run_id in linked or key not in ref.TABLE5:
            continue
        line = f"{ref.OBJECTIVE_NAMES[key]} · {record.get('label', run_id)} (pretraining only)"
        row = {"ours": record.get("label", run_id)}
        intrinsic_cells(row, data, line, (record.get("metrics") or {}).get("heldout") or {}, ref.TABLE5[key][0],
                        tolerance)
        only.append(f"{key_text(5, key)} ← {row['ours']} (its pretraining record)")
        for name in COLUMNS:
            beside(row, data, line, name, [None] * len(_as_list(ref.TABLE5[key][1][name])),
                   ref.TABLE5[key][1][name], tolerance)
        if not assigned.get(key):          # the published row's empty line gives way to it
            out.pop(ref.OBJECTIVE_NAMES[key], None)
        out[line] = row
    return only


def _notes(table: int, results: Results | None, assigned: dict, agg: str, checkpoint: str, tolerance: float,
           speed: dict | None, pretraining_only: list[str]) -> list[str]:
    notes = [f"(paper) = {ref.PAPER_SOURCE}; Δ = ours − paper; {MARK} = more than {tolerance:g} point(s) away.",
             AVG_RULE, ref.PRETRAINING + " Ours: what the records say (see each run's record)."]
    if table in (2, 3, 4):
        notes.append(paper_configs.PARAMS_NOTE)
    if table in (3, 4):
        notes.append("The paper's rows are ALBERT-base (H 768, 12 layers); E and the sharing strategy of ours are "
                     "read from each record's config; 'shape' names ours where it is not base.")
    if table == 2:
        notes.append(paper_configs.speedup_note(speed))
    if table == 5:
        notes.append("MLM / NSP / SOP = held-out accuracy of the pretraining (its record's metrics.heldout): masked "
                     "tokens; the sentence head on NSP pairs (B from another document half the time) and on SOP "
                     "pairs (swapped half the time). For objective none the head is untrained, so its NSP / SOP "
                     "cells, marked (probe), are the linear probe's (a logistic regression on the frozen [CLS] features, see "
                     "pretraining/); the paper does not say how its None row was scored.")
    if table in (6, 7, 8):
        notes.append("Pick the runs of each row with --row KEY=MODEL; keys: "
                     + ", ".join(key_text(table, k) for k in row_keys(table)) + ".")
    mapped = [f"{key_text(table, k)} ← {', '.join(m)}" for k, m in assigned.items() if m] + pretraining_only
    notes.append("Rows from: " + ("; ".join(mapped) if mapped else "no record (published numbers only)") + ".")
    if results is not None:
        notes.append(f"Scores: the {agg} over runs of the {checkpoint} checkpoint. " + results.footer())
    return notes


def paper_tables_with_ours(results: Results | None) -> list[int]:
    """Table 1 (no records needed), then every table a record of ours fills a row of (the HTML report's section)."""
    out = [1]
    facts = _model_facts(results) if results is not None else {}
    for n in TABLES[1:]:
        filled = any(assign(n, facts).values())
        if n == 5 and results is not None:
            filled = filled or bool(_pretraining_records(results))
        if n == 2 and paper_configs.latest_speedup(results) is not None:
            filled = True
        if filled:
            out.append(n)
    return out


__all__ = ["paper_table", "paper_tables_with_ours", "PaperTableError", "intrinsic_values"]
