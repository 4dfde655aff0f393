"""The table / plot / report commands never ignore what a user asked for: a flag with no meaning for
a kind is refused (exit 2), a selection that matches nothing is an error listing what exists, no
records at all exit 1 saying how to make them; --reference finds the published row by architecture
and cites public sources; the leaderboard ranks by what the records can fill; json / csv are numbers."""
import json

import numpy as np
import pytest

from albert_bench import cli
from albert_bench.modeling.config import PRESETS
from albert_bench.reports import load_results
from albert_bench.reports.leaderboard import leaderboard_table
from albert_bench.reports.tables import model_card_table, runs_table
from reports_fixtures import classification_rows, write_run

GLUE = {"cola": {"dev": {"matthews_correlation": 0.60}}, "sst2": {"dev": {"accuracy": 0.92}},
        "mrpc": {"dev": {"f1": 0.90, "accuracy": 0.86}}, "stsb": {"dev": {"pearson": 0.89, "spearmanr": 0.87}},
        "qqp": {"dev": {"f1": 0.88, "accuracy": 0.91}}, "mnli": {"dev_matched": {"accuracy": 0.84},
                                                             "dev_mismatched": {"accuracy": 0.85}},
        "qnli": {"dev": {"accuracy": 0.91}}, "rte": {"dev": {"accuracy": 0.75}}, "wnli": {"dev": {"accuracy": 0.56}}}


def _run(capsys, *argv):
    rc = cli.main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    """sst2 and rte for albert-base-v2 and a tiny model, two seeds each, with predictions; the last
    checkpoint scores differently from the best."""
    root = tmp_path_factory.mktemp("flags")
    rng = np.random.default_rng(1)
    for source, preset, acc in (("albert-base-v2", None, 0.9), ("tiny-model", "albert-tiny", 0.7)):
        for seed in (0, 1):
            for task in ("sst2", "rte"):
                rows = classification_rows(80, acc, rng)
                best = float(np.mean([r["prediction"] == r["label"] for r in rows]))
                write_run(root, task=task, source=source, preset=preset, seed=seed, metrics={"dev": {"accuracy": best}},
                          last={"dev": {"accuracy": 0.5}}, predictions={"dev": rows})
    return root


# ---------------------------------------------------------------- item 3: no flag silently ignored

def test_runs_table_takes_the_last_checkpoint_and_per_run_intervals(two_models, capsys):
    rc, out, _ = _run(capsys, "table", "--kind", "runs", "--results", str(two_models), "--checkpoint", "last")
    assert rc == 0 and "last-checkpoint metrics (raw)" in out and "best-checkpoint" not in out
    assert out.count("dev: accuracy 0.5 |") == 8
    rc, out, _ = _run(capsys, "table", "--kind", "runs", "--results", str(two_models), "--ci", "bracket",
                      "--bootstrap", "50")
    lines = [line for line in out.splitlines() if line.startswith("| sst2-")]
    assert rc == 0 and len(lines) == 4 and all("dev accuracy" in line and "[" in line for line in lines)
    table = runs_table(load_results(two_models), checkpoint="last")
    assert {d["value"] for d in table.attrs["data"]} == {50.0}


@pytest.mark.parametrize("argv, flag", [
    (["--kind", "runs", "--agg", "mean"], "--agg"),
    (["--kind", "runs", "--show-spread"], "--show-spread"),
    (["--kind", "runs", "--by", "sst2"], "--by"),
    (["--kind", "glue", "--by", "rte"], "--by"),
    (["--kind", "glue", "--tolerance", "2"], "--tolerance"),
    (["--kind", "model-card", "--tolerance", "2"], "--tolerance"),          # only with --reference
    (["--kind", "leaderboard", "--by", "glue", "--show-spread"], "--show-spread"),
    (["--kind", "leaderboard", "--by", "average", "--ci", "pm"], "--ci"),
])
def test_a_flag_without_meaning_is_refused_in_one_line(two_models, capsys, argv, flag):
    rc, out, err = _run(capsys, "table", "--results", str(two_models), "--bootstrap", "20", *argv)
    assert rc == 2 and out == "" and flag in err and len(err.strip().splitlines()) == 1, err


def test_leaderboard_spread_and_interval_for_one_task(two_models, capsys):
    rc, out, _ = _run(capsys, "table", "--kind", "leaderboard", "--by", "sst2", "--show-spread", "--ci", "pm",
                      "--bootstrap", "50", "--results", str(two_models))
    assert rc == 0 and "| V2 base | 1 |" in out and "(sd " in out and "n=2)" in out and " ±" in out


# ---------------------------------------------------------------- item 4: selections that match nothing

def test_selection_that_matches_nothing_lists_what_exists(two_models, capsys, tmp_path):
    rc, _, err = _run(capsys, "table", "--models", "foo", "--results", str(two_models))
    assert rc == 2 and "--models foo" in err and "V2 base" in err and "tiny-model" in err
    rc, _, err = _run(capsys, "table", "--rename", "foo=bar", "--results", str(two_models))
    assert rc == 2 and "foo" in err and "V2 base" in err and "albert-base-v2" in err
    rc, _, err = _run(capsys, "plot", "--models", "foo", "--results", str(two_models), "--out", str(tmp_path / "p"))
    assert rc == 2 and "V2 base" in err and not (tmp_path / "p").exists()
    # a source can still be renamed, and the new name selected
    rc, out, _ = _run(capsys, "table", "--rename", "tiny-model=Tiny", "--models", "Tiny", "--results", str(two_models))
    assert rc == 0 and "| Tiny |" in out and "V2 base" not in out


@pytest.mark.parametrize("command", ["table", "plot", "report"])
def test_no_records_exit_1_saying_where_and_how(command, capsys, tmp_path):
    empty = tmp_path / "results"
    empty.mkdir()
    for folder in (empty, tmp_path / "missing"):
        rc, out, err = _run(capsys, command, "--results", str(folder), "--out", str(tmp_path / "out"))
        assert rc == 1 and out == "" and str(folder) in err and "albert-bench demo" in err, err
    assert not (tmp_path / "out").exists()


def test_card_of_a_folder_without_this_models_records(two_models, tmp_path):
    from albert_bench.modeling.config import AlbertConfig
    from albert_bench.reports.model_card import build_model_card
    model = AlbertConfig.from_preset("albert-large-v2", architectures=["AlbertForMaskedLM"]) \
        .save_pretrained(tmp_path / "albert-large-v2").parent
    with pytest.raises(ValueError, match=r"no run records for V2 large .*V2 base \(albert-base-v2\).*tiny-model"):
        build_model_card(str(model), results_dir=str(two_models))
    assert "No run records" in str(build_model_card(str(model), results_dir=""))       # a card without scores


# ---------------------------------------------------------------- item 5: --reference

def test_reference_by_architecture_whatever_the_name(tmp_path):
    config = dict(PRESETS["albert-base-v2"])
    write_run(tmp_path, task="mnli", source="/runs/my-own-copy", config=config,
              metrics={"dev_matched": {"accuracy": 0.831}})
    write_run(tmp_path, task="race", source="/runs/my-own-copy", config=config, metrics={"dev": {"accuracy": 0.65}})
    table = model_card_table(load_results(tmp_path, rename=["V2 base=ours"]), reference=True)
    row = table.loc["ours"]
    assert row["MNLI (paper)"] == "84.6" and row["Δ MNLI"] == "-1.5 †"
    assert row["RACE"] == "65.0 (dev)" and row["RACE (paper)"] == "66.8 (test)" and row["Δ RACE"] == "-1.8 † (dev − test)"
    notes = " ".join(table.attrs["notes"])
    assert "ours with V2 base" in notes and "arXiv:1909.11942" in notes
    assert "huggingface.co/albert/albert-base-v2" in notes and "ALBERT_FACTS" not in notes
    race = next(d for d in table.attrs["data"] if d["column"] == "RACE")
    assert race["split"] == "dev" and race["reference_split"] == "test" and race["reference"] == 66.8


def test_reference_without_a_published_row(tmp_path, capsys):
    write_run(tmp_path, task="sst2", source="tiny-model", preset="albert-tiny", metrics={"dev": {"accuracy": 0.8}})
    rc, _, err = _run(capsys, "table", "--reference", "--results", str(tmp_path))
    assert rc == 2 and "tiny-model" in err and "V1 xxlarge" in err and '--rename tiny-model="V2 base"' in err
    write_run(tmp_path, task="sst2", metrics={"dev": {"accuracy": 0.9}})                     # albert-base-v2
    table = model_card_table(load_results(tmp_path), reference=True)
    assert table.loc["V2 base", "SST-2 (paper)"] == "92.9" and table.loc["tiny-model", "SST-2 (paper)"] == "–"
    assert any("No published row for tiny-model" in n for n in table.attrs["notes"])


# ---------------------------------------------------------------- item 6: the leaderboard's default

def test_leaderboard_ranks_by_what_the_records_fill(tmp_path):
    glue_root, card_root, few_root = tmp_path / "glue", tmp_path / "card", tmp_path / "few"
    for task, metrics in GLUE.items():
        write_run(glue_root, task=task, metrics=metrics)
    lead = leaderboard_table(load_results(glue_root))
    assert list(lead.columns)[1] == "GLUE" and lead.iloc[0]["Rank"] == "1"
    for task, split, metrics in (("squad_v1", "dev", {"f1": 90.0, "exact_match": 83.0}),
                                 ("squad_v2", "dev", {"f1": 82.0, "exact": 79.0}),
                                 ("mnli", "dev_matched", {"accuracy": 0.84}), ("sst2", "dev", {"accuracy": 0.92}),
                                 ("race", "test", {"accuracy": 0.66})):
        write_run(card_root, task=task, metrics={split: metrics})
    lead = leaderboard_table(load_results(card_root))
    notes = " ".join(lead.attrs["notes"])
    assert list(lead.columns)[1] == "Average" and lead.iloc[0]["Rank"] == "1"
    assert "GLUE score needs all nine GLUE tasks" in notes and "cola" in notes
    for source, preset in (("albert-base-v2", None), ("tiny-model", "albert-tiny")):
        write_run(few_root, task="rte", source=source, preset=preset, metrics={"dev": {"accuracy": 0.7}})
    write_run(few_root, task="cola", metrics={"dev": {"matthews_correlation": 0.5, "accuracy": 0.8}})
    lead = leaderboard_table(load_results(few_root))
    notes = " ".join(lead.attrs["notes"])
    assert list(lead.columns)[1] == "rte accuracy" and set(lead["Rank"]) == {"1", "2"}
    assert "the task most models have" in notes and "Average needs" in notes and "--by cola" in notes


# ---------------------------------------------------------------- item 7: json / csv for programs

def test_json_and_csv_are_numbers(two_models, capsys):
    rc, out, _ = _run(capsys, "table", "--reference", "--format", "json", "--results", str(two_models))
    data = json.loads(out)
    sst2 = next(r for r in data["rows"] if r["model"] == "V2 base" and r["column"] == "SST-2")
    assert rc == 0 and isinstance(sst2["value"], float) and sst2["reference"] == 92.9
    assert sst2["delta"] == pytest.approx(sst2["value"] - 92.9, abs=1e-3) and sst2["n"] == 2
    mnli = next(r for r in data["rows"] if r["model"] == "V2 base" and r["column"] == "MNLI")
    assert mnli["value"] is None and mnli["reference"] == 84.6 and mnli["delta"] is None
    rc, out, _ = _run(capsys, "table", "--kind", "leaderboard", "--format", "csv", "--results", str(two_models))
    header, *rows = out.strip().splitlines()
    assert rc == 0 and header.split(",")[:3] == ["rank", "model", "column"] and len(rows) == 2
    assert rows[0].startswith("1,V2 base,") and "–" not in out
