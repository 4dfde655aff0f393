"""`albert-bench paper`: the paper's Tables 1-8 from records, ours beside the published numbers.

Records holding the published numbers must reproduce each table cell for cell (ours = paper, Δ 0),
as the card-table test does; the published rows below are this test's own copy of ALBERT_FACTS.md
section 7, not the package's data."""
from __future__ import annotations

import json

import pytest

from albert_bench.cli import main
from albert_bench.modeling.config import AlbertConfig
from albert_bench.modeling.params import parameter_counts, with_sharing
from albert_bench.records import build_record, write_record
from albert_bench.reports import load_results
from albert_bench.reports.paper import PaperTableError, paper_table, paper_tables_with_ours
from albert_bench.reports.render import render
from reports_fixtures import write_run

COLUMNS = ("SQuAD1.1", "SQuAD2.0", "MNLI", "SST-2", "RACE", "Avg")
# ALBERT_FACTS.md section 7 as printed: row | SQuAD1.1 | SQuAD2.0 | MNLI | SST-2 | RACE | Avg
TABLE2 = """\
bert-base | 90.4/83.2 | 80.4/77.6 | 84.5 | 92.8 | 68.2 | 82.3 | 4.7x
bert-large | 92.2/85.5 | 85.0/82.2 | 86.6 | 93.0 | 73.9 | 85.2 | 1.0
albert-base | 89.3/82.3 | 80.0/77.1 | 81.6 | 90.3 | 64.0 | 80.1 | 5.6x
albert-large | 90.6/83.9 | 82.3/79.4 | 83.5 | 91.7 | 68.5 | 82.4 | 1.7x
albert-xlarge | 92.5/86.1 | 86.1/83.1 | 86.4 | 92.4 | 74.8 | 85.5 | 0.6x
albert-xxlarge | 94.1/88.3 | 88.1/85.1 | 88.0 | 95.2 | 82.3 | 88.7 | 0.3x"""
TABLE3 = """\
none 64 | 89.9/82.9 | 80.1/77.8 | 82.9 | 91.5 | 66.7 | 81.3
none 128 | 89.9/82.8 | 80.3/77.3 | 83.7 | 91.5 | 67.9 | 81.7
none 256 | 90.2/83.2 | 80.3/77.4 | 84.1 | 91.9 | 67.3 | 81.8
none 768 | 90.4/83.2 | 80.4/77.6 | 84.5 | 92.8 | 68.2 | 82.3
all 64 | 88.7/81.4 | 77.5/74.8 | 80.8 | 89.4 | 63.5 | 79.0
all 128 | 89.3/82.3 | 80.0/77.1 | 81.6 | 90.3 | 64.0 | 80.1
all 256 | 88.8/81.5 | 79.1/76.3 | 81.5 | 90.3 | 63.4 | 79.6
all 768 | 88.6/81.5 | 79.2/76.6 | 82.0 | 90.6 | 63.3 | 79.8"""
TABLE4 = """\
768 all | 88.6/81.5 | 79.2/76.6 | 82.0 | 90.6 | 63.3 | 79.8
768 attention | 89.9/82.7 | 80.0/77.2 | 84.0 | 91.4 | 67.7 | 81.6
768 ffn | 89.2/82.1 | 78.2/75.4 | 81.5 | 90.8 | 62.6 | 79.5
768 none | 90.4/83.2 | 80.4/77.6 | 84.5 | 92.8 | 68.2 | 82.3
128 all | 89.3/82.3 | 80.0/77.1 | 82.0 | 90.3 | 64.0 | 80.1
128 attention | 89.9/82.8 | 80.7/77.9 | 83.4 | 91.9 | 67.6 | 81.7
128 ffn | 88.9/81.6 | 78.6/75.6 | 82.3 | 91.7 | 64.4 | 80.2
128 none | 89.9/82.8 | 80.3/77.3 | 83.2 | 91.5 | 67.9 | 81.6"""
TABLE5 = """\
none | 54.9 | 52.4 | 53.3 | 88.6/81.5 | 78.1/75.3 | 81.5 | 89.9 | 61.7 | 79.0
nsp | 54.5 | 90.5 | 52.0 | 88.4/81.5 | 77.2/74.6 | 81.6 | 91.1 | 62.3 | 79.2
sop | 54.0 | 78.9 | 86.5 | 89.3/82.3 | 80.0/77.1 | 82.0 | 90.3 | 64.0 | 80.1"""
TABLE7 = """\
without | 89.3/82.3 | 80.0/77.1 | 81.6 | 90.3 | 64.0 | 80.1
with | 88.8/81.7 | 79.1/76.3 | 82.4 | 92.8 | 66.0 | 80.8"""
TABLE6 = """\
bert-large | 93.5/87.4 | 86.9/84.3 | 87.8 | 94.6 | 77.3 | 87.2
albert-xxlarge | 94.0/88.1 | 88.3/85.3 | 87.8 | 95.4 | 82.5 | 88.7"""
TABLE8 = """\
with-dropout | 94.7/89.2 | 89.6/86.9 | 90.0 | 96.3 | 85.7 | 90.4
without-dropout | 94.8/89.5 | 89.9/87.2 | 90.4 | 96.5 | 86.1 | 90.7"""
PRESETS = {"bert-base": "bert-base-shaped", "bert-large": "bert-large-shaped", "albert-base": "albert-base-v1",
           "albert-large": "albert-large-v1", "albert-xlarge": "albert-xlarge-v1", "albert-xxlarge": "albert-xxlarge-v1"}


def parse(text: str) -> list[list[str]]:
    return [line.split(" | ") for line in text.splitlines()]


def write_cells(root, source: str, config: dict, cells: list[str], **extra) -> None:
    """The five downstream runs of one model, holding `cells` (SQuAD1.1, SQuAD2.0, MNLI, SST-2, RACE)."""
    (f1, em), (f2, e2) = (map(float, c.split("/")) for c in cells[:2])
    mnli, sst2, race = (float(c) / 100 for c in cells[2:5])
    common = dict(source=source, config=config, **extra)
    write_run(root, task="squad_v1", metrics={"dev": {"f1": f1, "exact_match": em}}, **common)
    write_run(root, task="squad_v2", metrics={"dev": {"f1": f2, "exact": e2}}, **common)
    write_run(root, task="mnli", metrics={"dev_matched": {"accuracy": mnli}}, **common)
    write_run(root, task="sst2", metrics={"dev": {"accuracy": sst2}}, **common)
    write_run(root, task="race", metrics={"test": {"accuracy": race}}, **common)


def assert_cells_match(row, published: list[str]) -> None:
    for name, cell in zip(COLUMNS, published):
        assert row[name] == cell, (name, row[name], cell)
        assert row[f"{name} (paper)"] == cell
        assert set(row[f"Δ {name}"].replace("/", "")) <= set("+0.") and "†" not in row[f"Δ {name}"], row[f"Δ {name}"]


# ---------------------------------------------------------------- Table 1

def test_table1_counts_exactly_and_says_where_the_paper_differs():
    table = paper_table(1)
    # Hub counts (ALBERT_FACTS section 1) and a hand count of the BERT-shaped rows.
    V, P, S = 30000, 512, 2

    def hand(H, L, I, E):
        layer = 4 * (H * H + H) + 2 * H + (H * I + I) + (I * H + H) + 2 * H
        return V * E + P * E + S * E + 2 * E + (E * H + H) + L * layer + (H * H + H)
    expected = {"BERT base": hand(768, 12, 3072, 768), "BERT large": hand(1024, 24, 4096, 1024),
                "ALBERT base": 11_683_584, "ALBERT large": 17_683_968, "ALBERT xlarge": 58_724_864,
                "ALBERT xxlarge": 222_595_584}
    for label, count in expected.items():
        assert table.loc[label, "exact count"] == f"{count:,}"
    assert table.loc["BERT base", "without E->H projection"] == f"{expected['BERT base'] - (768 * 768 + 768):,}"
    # † exactly where the count does not round to the printed figure
    marked = {label for label in table.index if "†" in table.loc[label, "Params (ours)"]}
    assert marked == {"BERT base", "BERT large", "ALBERT xlarge", "ALBERT xxlarge"}
    assert table.loc["ALBERT xxlarge", "Params (ours)"] == "222.6M †"
    assert table.loc["ALBERT xxlarge", "Params (paper)"] == "235M (text: 233M)"
    assert [table.loc["ALBERT base", c] for c in ("Layers", "Hidden", "Embedding", "Sharing (paper)", "Sharing (ours)")] \
        == ["12", "768", "128", "True", "all"]
    assert table.loc["BERT large", "Sharing (ours)"] == "none"
    notes = " ".join(table.attrs["notes"])
    assert "ALBERT xxlarge 222.6M counted against 235M" in notes and "E->H projection" in notes
    data = {d["row"]: d for d in table.attrs["data"]}
    assert data["ALBERT xxlarge"]["delta"] == 222_595_584 - 235_000_000


# ---------------------------------------------------------------- Tables 2-4: records by architecture

def test_table2_cell_for_cell_from_records_and_v2_is_not_a_row(tmp_path):
    for key, *cells, _ in parse(TABLE2):
        write_cells(tmp_path, PRESETS[key], AlbertConfig.from_preset(PRESETS[key]).to_dict(), cells)
    write_cells(tmp_path, "albert-base-v2", AlbertConfig.from_preset("albert-base-v2").to_dict(),
                ["1.0/1.0", "1.0/1.0", "1.0", "1.0", "1.0"])              # v2: not the paper's v1 row
    table = paper_table(2, load_results(tmp_path))
    labels = ["BERT base", "BERT large", "ALBERT base", "ALBERT large", "ALBERT xlarge", "ALBERT xxlarge"]
    assert list(table.index) == labels
    for label, (key, *cells, speedup) in zip(labels, parse(TABLE2)):
        assert_cells_match(table.loc[label], cells)
        assert table.loc[label, "Speedup (paper)"] == speedup and table.loc[label, "Speedup"] == "–"
    assert table.loc["ALBERT xxlarge", "Params"] == "222.6M †" and table.loc["ALBERT base", "Params (paper)"] == "12M"
    assert "albert-base-v2" not in " ".join(table.attrs["notes"])


@pytest.mark.parametrize("table_number,text", [(3, TABLE3), (4, TABLE4)])
def test_tables3_and_4_rows_come_from_E_and_sharing_in_the_records(tmp_path, table_number, text):
    for line in parse(text):
        a, b = line[0].split()
        sharing, e = (a, int(b)) if table_number == 3 else (b, int(a))
        config = with_sharing(AlbertConfig.from_preset("albert-base-v1", embedding_size=e), sharing)
        write_cells(tmp_path, f"base-{sharing}-{e}", config.to_dict(), line[1:6])
    table = paper_table(table_number, load_results(tmp_path))
    assert len(table) == 8
    for (row, r), line in zip(table.iterrows(), parse(text)):
        assert_cells_match(r, line[1:])
        assert r["shape"] == "base"
    # the parameter column is the exact count of that row's configuration
    row = table.loc["E=768, shared-attention"] if table_number == 4 else table.loc["all-shared, E=64"]
    config = with_sharing(AlbertConfig.from_preset("albert-base-v1", embedding_size=768 if table_number == 4 else 64),
                          "attention" if table_number == 4 else "all")
    assert row["Params"].split()[0] == f"{parameter_counts(config)['model'] / 1e6:.1f}M"


def test_an_E_the_paper_has_no_row_for_is_its_own_line(tmp_path):
    config = AlbertConfig.from_preset("albert-tiny").to_dict()            # E=16, all shared, a tiny shape
    write_run(tmp_path, task="mnli", source="tiny-e16", config=config, metrics={"dev_matched": {"accuracy": 0.5}})
    write_run(tmp_path, task="mnli", source="albert-large-v1", metrics={"dev_matched": {"accuracy": 0.6}})
    table = paper_table(3, load_results(tmp_path))
    assert "V1 large" not in set(table["ours"])                        # a released larger size is no ablation row
    row = table.loc["all-shared, E=16"]
    assert row["ours"] == "tiny-e16" and row["shape"] == "H32 L2" and row["MNLI"] == "50.0" and row["MNLI (paper)"] == "–"


# ---------------------------------------------------------------- Table 5: pretraining records

def write_pretraining(root, objective: str, mlm: float, nsp: float, sop: float) -> str:
    probe = objective == "none"
    heldout = {"masked_token_accuracy": mlm / 100, "sentence_head": "untrained" if probe else "trained",
               ("nsp_probe_accuracy" if probe else "nsp_accuracy"): nsp / 100,
               ("sop_probe_accuracy" if probe else "sop_accuracy"): sop / 100,
               **({"nsp_accuracy": 0.5, "sop_accuracy": 0.5} if probe else {})}
    run_id = f"pretrain-{objective}"
    record = build_record(run_id=run_id, kind="pretrain", task="pretrain", splits={"heldout": ["heldout"]},
                          model={"source": f"runs/{objective}", "config": AlbertConfig.from_preset("albert-base-v1").to_dict()},
                          tokenizer=None, recipe=None, seed=0, metrics={"heldout": heldout}, best_step=None, examples={},
                          predictions={}, log=None, wall_time_s=1.0, device="cpu",
                          pretraining={"objective": objective, "sharing": "all", "embedding_size": 128})
    write_record(record, root)
    return run_id


def test_table5_intrinsic_from_pretraining_records_downstream_from_fine_tunes(tmp_path):
    for objective, mlm, nsp, sop, *cells in parse(TABLE5):
        run_id = write_pretraining(tmp_path, objective, float(mlm), float(nsp), float(sop))
        write_cells(tmp_path, f"runs/{objective}", AlbertConfig.from_preset("albert-base-v1").to_dict(), cells,
                    pretraining={"objective": objective, "run_id": run_id})
    results = load_results(tmp_path)
    assert not results.warnings
    table = paper_table(5, results)
    assert list(table.index) == ["None", "NSP", "SOP"]
    for (label, row), (objective, mlm, nsp, sop, *cells) in zip(table.iterrows(), parse(TABLE5)):
        probe = " (probe)" if objective == "none" else ""        # an untrained head: the probe's numbers
        assert [row["MLM"], row["NSP"], row["SOP"]] == [mlm, nsp + probe, sop + probe]
        assert [row["MLM (paper)"], row["NSP (paper)"], row["SOP (paper)"]] == [mlm, nsp, sop]
        assert_cells_match(row, cells)
    # Tables 2-4 hold SOP-pretrained models only: the NSP and none models are Table 5's alone
    assert paper_table(2, results).loc["ALBERT base", "ours"] == "runs/sop"
    assert paper_table(3, results).loc["all-shared, E=128", "ours"] == "runs/sop"
    assert "linear probe" in " ".join(table.attrs["notes"])


def test_table5_pretraining_without_fine_tunes_fills_the_intrinsic_columns(tmp_path):
    write_pretraining(tmp_path, "nsp", 30.0, 91.0, 50.5)
    table = paper_table(5, load_results(tmp_path))
    line = [i for i in table.index if i.startswith("NSP")]
    assert len(line) == 1 and "pretraining only" in line[0] and "NSP" not in [i for i in table.index if i == "NSP"]
    row = table.loc[line[0]]
    assert (row["MLM"], row["NSP"], row["SOP"], row["Δ NSP"]) == ("30.0", "91.0", "50.5", "+0.5")
    assert "nsp ← runs/nsp (its pretraining record)" in " ".join(table.attrs["notes"])
    assert row["MNLI"] == "–" and row["MNLI (paper)"] == "81.6"
    assert paper_tables_with_ours(load_results(tmp_path)) == [1, 5]


# ---------------------------------------------------------------- Tables 6-8: rows the user picks

@pytest.mark.parametrize("number,text", [(6, TABLE6), (8, TABLE8)])
def test_tables6_and_8_cell_for_cell_with_row_flags(tmp_path, number, text):
    config = AlbertConfig.from_preset("albert-xxlarge-v1").to_dict()
    for key, *cells in parse(text):
        write_cells(tmp_path, "albert-xxlarge-v1", config, cells, name=f"run-{key}")
    table = paper_table(number, load_results(tmp_path), rows=[f"{key}=run-{key}" for key, *_ in parse(text)])
    assert len(table) == 2
    for (_, row), (key, *cells) in zip(table.iterrows(), parse(text)):
        assert row["ours"] == f"run-{key}"
        assert_cells_match(row, cells)


def test_table7_rows_picked_with_row_flags(tmp_path):
    config = AlbertConfig.from_preset("albert-base-v1").to_dict()
    for key, *cells in parse(TABLE7):
        write_cells(tmp_path, "albert-base-v1", config, cells, name=f"base-{key}-data")
    results = load_results(tmp_path)
    assert all(c == "–" for c in paper_table(7, results).loc["No additional data", ["MNLI", "RACE"]])
    table = paper_table(7, results, rows=["without=base-without-data", "with=base-with-data"])
    for label, (key, *cells) in zip(["No additional data", "With additional data"], parse(TABLE7)):
        assert_cells_match(table.loc[label], cells)
    with pytest.raises(PaperTableError, match="Table 7 has no row 'more'.*without, with"):
        paper_table(7, results, rows=["more=base-with-data"])
    with pytest.raises(PaperTableError, match="no row of the results is named 'nope'"):
        paper_table(7, results, rows=["with=nope"])


def test_every_table_renders_in_every_format(tmp_path):
    write_pretraining(tmp_path, "sop", 40.0, 70.0, 80.0)
    results = load_results(tmp_path)
    for n in range(1, 9):
        table = paper_table(n, results)
        for fmt in ("md", "csv", "latex", "html"):
            assert render(table, fmt)
        numbers = json.loads(render(table, "json"))
        assert numbers["rows"] and all("reference" in r for r in numbers["rows"])


# ---------------------------------------------------------------- CLI

def test_cli_paper_tables_and_errors(tmp_path, capsys):
    assert main(["paper", "--table", "1"]) == 0
    assert "| ALBERT xxlarge | 235M (text: 233M) | 222.6M † |" in capsys.readouterr().out
    write_pretraining(tmp_path, "sop", 40.0, 70.0, 80.0)
    out = tmp_path / "t5.json"
    assert main(["paper", "--table", "5", "--results", str(tmp_path), "--format", "json", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert {r["column"]: r["value"] for r in rows if r["row"].startswith("SOP ·") and r["column"] in ("MLM", "SOP")} \
        == {"MLM": 40.0, "SOP": 80.0}
    assert main(["paper", "--table", "7", "--results", str(tmp_path), "--row", "bogus=x"]) == 2
    assert "Table 7 has no row 'bogus'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit:
        main(["paper", "--table", "9"])
    assert exit.value.code == 2
    assert main(["paper", "--table", "2", "--results", str(tmp_path / "missing")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["paper", "--reproduce", "4", "--small"]) == 2
    assert "only Table 5" in capsys.readouterr().err
    assert main(["paper", "--reproduce", "5", "--small", "--table", "3"]) == 2
    assert "--table: for showing tables from records" in capsys.readouterr().err
    assert main(["paper", "--table", "1", "--small"]) == 2
    assert "--small: only with --reproduce 5" in capsys.readouterr().err


# ---------------------------------------------------------------- Table 2's measured Speedup

def test_speedup_is_measured_abba_and_lands_in_table2(tmp_path, capsys):
    assert main(["bench", "speedup", "--quick", "--seq-len", "8", "--steps", "1", "--device", "cpu",
                 "--results-dir", str(tmp_path)]) == 0
    assert "speedup vs bert-large" in capsys.readouterr().out
    results = load_results(tmp_path)
    assert not results.warnings and results.runs.empty
    (record,) = [r for r in results.records.values() if r["kind"] == "speedup"]
    keys = ["bert-base", "bert-large", "albert-base", "albert-large", "albert-xlarge", "albert-xxlarge"]
    assert record["speedup"]["order"] == keys + keys[::-1]                # A B ... B A
    assert [m["config"] for m in record["measurements"]] == keys + keys[::-1]
    throughput, speedup = record["metrics"]["throughput"], record["metrics"]["speedup"]
    assert speedup["bert-large"] == 1.0
    for key in keys:
        two = [m["sequences_per_s"] for m in record["measurements"] if m["config"] == key]
        assert throughput[key] == pytest.approx(sum(two) / 2)             # the median of two
        assert speedup[key] == pytest.approx(throughput[key] / throughput["bert-large"])
    table = paper_table(2, results)
    assert table.loc["BERT large", "Speedup"] == "1.0x"
    assert table.loc["ALBERT base", "Speedup"] == f"{speedup['albert-base']:.1f}x"
    notes = " ".join(table.attrs["notes"])
    assert "length 8" in notes and "ABBA" in notes
    assert 2 in paper_tables_with_ours(results)
    assert main(["bench", "model", "--rounds", "3"]) == 2             # a speedup flag is not ignored elsewhere
    assert "only for `bench speedup`" in capsys.readouterr().err


def test_html_report_has_the_paper_section(tmp_path):
    from albert_bench.reports.html import build_report
    write_pretraining(tmp_path, "nsp", 30.0, 91.0, 50.5)
    write_run(tmp_path, task="mnli", metrics={"dev_matched": {"accuracy": 0.8}})
    page = build_report(load_results(tmp_path), bootstrap=0)
    assert '<section id="paper">' in page and "Table 1: the configurations" in page and "Table 5:" in page
    assert "Table 3:" not in page or "albert-base-v2" in page
