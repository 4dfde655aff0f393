"""Tables from run records: the model card cell for cell, the GLUE score by hand, seeds
(median, mean/std), published numbers with deltas and the tolerance mark, model naming, renderers."""
import json

import pytest

from albert_bench.modeling.config import PRESETS
from albert_bench.reports import load_results, render
from albert_bench.reports.frame import recognise_preset, source_name
from albert_bench.reports.reference import MODEL_CARD
from albert_bench.reports.leaderboard import leaderboard_table
from albert_bench.reports.tables import glue_table, model_card_table, round1, runs_table
from reports_fixtures import write_published, write_run

# ALBERT_FACTS.md section 5, as published (the test's own copy, not the package's data).
CARD = """\
V2 base | 82.3 | 90.2/83.2 | 82.1/79.3 | 84.6 | 92.9 | 66.8
V2 large | 85.7 | 91.8/85.2 | 84.9/81.8 | 86.5 | 94.9 | 75.2
V2 xlarge | 87.9 | 92.9/86.4 | 87.9/84.1 | 87.9 | 95.4 | 80.7
V2 xxlarge | 90.9 | 94.6/89.1 | 89.8/86.9 | 90.6 | 96.8 | 86.8
V1 base | 80.1 | 89.3/82.3 | 80.0/77.1 | 81.6 | 90.3 | 64.0
V1 large | 82.4 | 90.6/83.9 | 82.3/79.4 | 83.5 | 91.7 | 68.5
V1 xlarge | 85.5 | 92.5/86.1 | 86.1/83.1 | 86.4 | 92.4 | 74.8
V1 xxlarge | 91.0 | 94.8/89.3 | 90.2/87.4 | 90.8 | 96.9 | 86.5"""


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("published")
    write_published(root)
    return root


def test_published_records_reproduce_the_card_cell_for_cell(published):
    table = model_card_table(load_results(published))
    expected = [line.split(" | ") for line in CARD.splitlines()]
    assert list(table.columns) == ["Average", "SQuAD1.1", "SQuAD2.0", "MNLI", "SST-2", "RACE"]
    assert [[m, *table.loc[m]] for m in table.index] == expected
    md = render(table, "md")
    assert "| V2 base | 82.3 | 90.2/83.2 | 82.1/79.3 | 84.6 | 92.9 | 66.8 |" in md
    assert "16 record(s) read" not in md and "40 record(s) read" in md


def test_reference_deltas_and_tolerance_mark(tmp_path):
    cells = MODEL_CARD["V2 base"]
    write_run(tmp_path, task="mnli", metrics={"dev_matched": {"accuracy": 0.831}})       # 1.5 below
    write_run(tmp_path, task="sst2", metrics={"dev": {"accuracy": 0.925}})               # 0.4 below
    write_run(tmp_path, task="squad_v1", metrics={"dev": {"f1": 90.9, "exact_match": 83.2}})
    table = model_card_table(load_results(tmp_path), reference=True, tolerance=1.0)
    row = table.loc["V2 base"]
    assert row["MNLI"] == "83.1" and row["MNLI (paper)"] == "84.6" and row["Δ MNLI"] == "-1.5 †"
    assert row["Δ SST-2"] == "-0.4"
    assert row["Δ SQuAD1.1"] == "+0.7/+0.0" and row["SQuAD1.1 (paper)"] == "90.2/83.2"
    assert row["Average"] == "–" and row["Δ Average"] == "–" and row["Average (paper)"] == f"{cells['Average']:.1f}"
    assert model_card_table(load_results(tmp_path), reference=True, tolerance=2.0).loc["V2 base", "Δ MNLI"] == "-1.5"


def _glue_case(root):
    """One model, every GLUE task; the expected score computed here by hand."""
    m = {"cola": {"dev": {"matthews_correlation": 0.60}}, "sst2": {"dev": {"accuracy": 0.92}},
         "mrpc": {"dev": {"f1": 0.90, "accuracy": 0.86}}, "stsb": {"dev": {"pearson": 0.89, "spearmanr": 0.87}},
         "qqp": {"dev": {"f1": 0.88, "accuracy": 0.90}},
         "mnli": {"dev_matched": {"accuracy": 0.84}, "dev_mismatched": {"accuracy": 0.85}},
         "qnli": {"dev": {"accuracy": 0.91}}, "rte": {"dev": {"accuracy": 0.70}}, "wnli": {"dev": {"accuracy": 0.56}}}
    for task, metrics in m.items():
        write_run(root, task=task, metrics=metrics)
    per_task = [60, 92, 88, 88, 89, 84.5, 91, 70, 56]
    return sum(per_task) / 9, sum(per_task[:-1]) / 8


def test_glue_score_by_hand(tmp_path):
    glue, no_wnli = _glue_case(tmp_path)          # 79.833..., 82.8125
    table = glue_table(load_results(tmp_path))
    row = table.loc["V2 base"]
    assert row["CoLA"] == "60.0" and row["MRPC"] == "90.0/86.0" and row["STS-B"] == "89.0/87.0"
    assert row["MNLI-m"] == "84.0" and row["MNLI-mm"] == "85.0"
    assert row["GLUE"] == f"{round1(glue):.1f}" == "79.8" and row["GLUE (no WNLI)"] == "82.8"
    assert any("mean over the nine tasks" in n for n in table.attrs["notes"])
    lead = leaderboard_table(load_results(tmp_path), by="glue")
    assert lead.loc["V2 base", "GLUE"] == "79.8" and lead.loc["V2 base", "Tasks"] == "9"


def test_glue_score_missing_when_a_task_is_missing(tmp_path):
    write_run(tmp_path, task="rte", metrics={"dev": {"accuracy": 0.7}})
    row = glue_table(load_results(tmp_path)).loc["V2 base"]
    assert row["RTE"] == "70.0" and row["GLUE"] == "–" and row["CoLA"] == "–"


def test_seeds_median_mean_std_and_max(tmp_path):
    for seed, acc in enumerate([0.80, 0.70, 0.84]):
        write_run(tmp_path, task="sst2", seed=seed, metrics={"dev": {"accuracy": acc}},
                  last={"dev": {"accuracy": acc - 0.1}})
    results = load_results(tmp_path)
    assert model_card_table(results).loc["V2 base", "SST-2"] == "80.0"
    assert model_card_table(results, agg="mean").loc["V2 base", "SST-2"] == "78.0"
    assert model_card_table(results, agg="max").loc["V2 base", "SST-2"] == "84.0"
    assert model_card_table(results, checkpoint="last").loc["V2 base", "SST-2"] == "70.0"
    spread = model_card_table(results, agg="mean", show_spread=True).loc["V2 base", "SST-2"]
    assert spread == "78.0 (sd 7.2, n=3)"            # std([80, 70, 84], ddof=1) = 7.21
    with pytest.raises(ValueError, match="--agg"):
        model_card_table(results, agg="mode")


def test_model_naming_presets_and_sources(tmp_path):
    base = PRESETS["albert-base-v2"]
    assert recognise_preset("albert-base-v2", base) == ("v2", "base")
    assert recognise_preset("/data/copy", base) == ("v2", "base")                         # by dropout
    assert recognise_preset("/data/copy", PRESETS["albert-large-v1"]) == ("v1", "large")
    assert recognise_preset("/data/xx", PRESETS["albert-xxlarge-v1"]) == (None, "xxlarge")   # ambiguous
    assert recognise_preset("albert-tiny", PRESETS["albert-tiny"]) == (None, None)
    assert source_name("runs/rte/best") == "rte/best" and source_name("org/my-albert") == "org/my-albert"
    assert source_name("preset:albert-tiny") == "albert-tiny"
    write_run(tmp_path, task="rte", source="albert-base-v2", metrics={"dev": {"accuracy": 0.7}})
    write_run(tmp_path, task="rte", source="/models/albert-base-v2-copy", preset="albert-base-v2",
              metrics={"dev": {"accuracy": 0.8}})
    write_run(tmp_path, task="rte", source="preset:albert-tiny", metrics={"dev": {"accuracy": 0.6}})
    results = load_results(tmp_path)
    assert sorted(set(results.frame["model"])) == ["V2 base", "albert-tiny"]
    assert results.frame.query("model == 'V2 base'")["score"].median() == pytest.approx(75.0)
    renamed = load_results(tmp_path, rename=["albert-tiny=Tiny"], models="Tiny")
    assert set(renamed.frame["model"]) == {"Tiny"}
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "config.json").write_text('{"model_type": "albert"}')       # not a record: counted
    (tmp_path / "half.json").write_text('{"schema_version": 1, "kind": "finetune"}')  # a broken record: warned
    again = load_results(tmp_path)
    assert again.read == 3 and again.skipped == 1 and again.ignored == 1
    assert len(again.warnings) == 1 and "half.json" in again.warnings[0] and "without run_id" in again.warnings[0]
    assert again.footer().endswith("1 skipped, 1 warning(s), 1 other JSON file(s) ignored")


def test_renderers(tmp_path):
    write_run(tmp_path, task="sst2", source="org/a_b&c", preset="albert-tiny", metrics={"dev": {"accuracy": 0.5}})
    table = model_card_table(load_results(tmp_path))
    assert "org/a_b&c" in table.index
    latex = render(table, "latex")
    assert r"\toprule" in latex and r"\bottomrule" in latex and r"org/a\_b\&c" in latex
    data = json.loads(render(table, "json"))        # numbers for programs, one row per model and column
    sst2 = next(r for r in data["rows"] if r["column"] == "SST-2")
    assert sst2["model"] == "org/a_b&c" and sst2["value"] == 50.0 and sst2["n"] == 1 and sst2["sd"] is None
    mnli = next(r for r in data["rows"] if r["column"] == "MNLI")
    assert mnli["value"] is None and mnli["ci_low"] is None                      # missing: null, not "–"
    csv_lines = render(table, "csv").splitlines()
    assert csv_lines[0].startswith("model,column,task,split,metric,value,ci_low,ci_high,sd,n,reference,delta")
    assert any(line.startswith("org/a_b&c,SST-2,sst2,dev,accuracy,50.0,,,,1,,") for line in csv_lines)
    assert "–" not in render(table, "csv") and "–" not in render(table, "json")
    assert "org/a_b&amp;c" in render(table, "html")
    with pytest.raises(ValueError, match="--format"):
        render(table, "xlsx")
    runs = runs_table(load_results(tmp_path))
    assert runs.iloc[0]["task"] == "sst2" and runs.iloc[0]["seed"] == "0"


def test_evaluate_of_a_checkpoint_made_here_is_not_another_run(tmp_path):
    """Scoring a fine-tuned checkpoint again (albert-bench evaluate) gives its own numbers: it must not
    count as a second seed (n) nor show as a model named after the checkpoint folder."""
    from pathlib import Path
    results = tmp_path / "results"
    ckpt = tmp_path / "runs" / "rte" / "seed0" / "best"
    run = write_run(results, task="rte", metrics={"dev": {"accuracy": 0.70}}, seed=0)
    record = json.loads(Path(run["path"]).read_text())
    record["checkpoints"] = {"best": str(ckpt), "last": str(ckpt.with_name("last"))}
    Path(run["path"]).write_text(json.dumps(record))
    write_run(results, task="rte", metrics={"dev": {"accuracy": 0.70}}, seed=None, kind="evaluate", source=str(ckpt))
    write_run(results, task="rte", metrics={"dev": {"accuracy": 0.60}}, seed=None, kind="evaluate",
              source=str(tmp_path / "elsewhere" / "best"))          # a checkpoint made elsewhere still counts
    loaded = load_results(results)
    assert loaded.rescored == 1 and "1 evaluate record(s) of checkpoints fine-tuned here" in loaded.footer()
    assert sorted(loaded.runs["model"]) == ["V2 base", "elsewhere/best"]
    frame = loaded.frame
    rows = frame[(frame.model == "V2 base") & (frame.metric == "accuracy") & (frame.checkpoint == "best")]
    assert list(rows["kind"]) == ["finetune"]                   # n = 1 for the model's RTE cell
