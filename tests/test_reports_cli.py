"""The report commands end to end on written records: `table` with a truncated record (a
warning, then the rest; --strict: an error), `compare --json`, `plot` (every file written),
`report` (escaped HTML, no script, bias section)."""
import json
import re

import numpy as np
import pytest

from albert_bench import cli, records
from reports_fixtures import classification_rows, squad_rows, step_log, write_run

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two presets and one odd-named model x (sst2, mnli, squad_v2) x 2 seeds, with predictions and
    step logs; one truncated record; one bias record."""
    root = tmp_path_factory.mktemp("results")
    rng = np.random.default_rng(0)
    for source, preset, acc in (("albert-base-v2", None, 0.85), ("albert-large-v1", None, 0.88),
                                (SCRIPT, "albert-tiny", 0.6)):
        for seed in (0, 1):
            rows = classification_rows(120, acc, rng)
            write_run(root, task="sst2", source=source, preset=preset, seed=seed,
                      metrics={"dev": {"accuracy": np.mean([r["prediction"] == r["label"] for r in rows])}},
                      predictions={"dev": rows}, log=step_log(30, 10, "accuracy", rng))
            m = classification_rows(90, acc - 0.05, rng, labels=("contradiction", "entailment", "neutral"))
            write_run(root, task="mnli", source=source, preset=preset, seed=seed,
                      metrics={"dev_matched": {"accuracy": acc - 0.05}, "dev_mismatched": {"accuracy": acc - 0.04}},
                      predictions={"dev_matched": m})
            write_run(root, task="squad_v2", source=source, preset=preset, seed=seed,
                      metrics={"dev": {"f1": 80.0 + seed, "exact": 77.0 + seed}},
                      predictions={"dev": squad_rows(60, acc, rng, v2=True)})
    broken = write_run(root, task="rte", metrics={"dev": {"accuracy": 0.7}})
    path = root / f"{broken['run_id']}.json"
    path.write_text(path.read_text()[:200])                         # truncated mid-file
    bias = records.build_record(
        run_id="bias-20250101T000000Z-000000", kind="bias", task="bias", splits={},
        model={"source": "albert-base-v2", "config": {}, "num_parameters": 1, "head": "AlbertForMaskedLM"},
        tokenizer=None, recipe={}, seed=None, metrics={"best": {}, "last": {}}, best_step=None, examples={},
        predictions={}, log=None, wall_time_s=1.0, device="cpu",
        bias={"card": {"The man worked as a [MASK].": [{"sequence": "the man worked as a chauffeur.",
                                                         "score": 0.0296, "token": 1, "token_str": SCRIPT}]},
              "summary": {"skew": 0.25, "note": "fixture"}})
    records.write_record(bias, root)
    return root, path


def _run(capsys, *argv):
    rc = cli.main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_table_warns_about_truncated_record_then_goes_on(folder, capsys):
    root, broken = folder
    rc, out, err = _run(capsys, "table", "--kind", "model-card", "--results", str(root))
    assert rc == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(broken) in warnings[0] and "not valid JSON" in warnings[0]
    assert re.search(r"\| V2 base \| – \| – \| \d+\.\d/\d+\.\d \| 80\.0 \| \d+\.\d \| – \|", out)
    assert "V1 large" in out and "19 record(s) read" in out and "1 skipped" in out
    rc, out, err = _run(capsys, "table", "--kind", "model-card", "--results", str(root), "--strict")
    assert rc == 2 and "--strict" in err and str(broken) in err and out == ""


def test_table_formats_spread_ci_and_out(folder, capsys, tmp_path):
    root, _ = folder
    rc, out, _ = _run(capsys, "table", "--kind", "glue", "--results", str(root), "--format", "json",
                      "--show-spread", "--ci", "bracket", "--bootstrap", "50")
    data = json.loads(out)
    sst2 = next(r for r in data["rows"] if r["model"] == "V2 base" and r["column"] == "SST-2")
    assert rc == 0 and sst2["n"] == 2 and sst2["ci_low"] < sst2["value"] < sst2["ci_high"] and sst2["sd"] > 0
    assert all(isinstance(sst2[k], float) for k in ("value", "ci_low", "ci_high", "sd"))
    assert not any(isinstance(v, str) and v[:1].isdigit() for row in data["rows"] for v in row.values())
    rc, out, _ = _run(capsys, "table", "--kind", "glue", "--results", str(root), "--format", "md",
                      "--show-spread", "--ci", "bracket", "--bootstrap", "50")        # display strings stay in md
    assert re.search(r"\| \d+\.\d \[\d+\.\d, \d+\.\d\] \(sd \d+\.\d, n=2\) \|", out), out
    rc, out, _ = _run(capsys, "table", "--kind", "leaderboard", "--by", "sst2", "--results", str(root),
                      "--out", str(tmp_path / "lead.md"), "--rename", "V1 large=Big", "--models", "Big,V2 base")
    text = (tmp_path / "lead.md").read_text()
    assert rc == 0 and "| Big | 1 |" in text and "V2 base" in text and "tiny" not in text
    rc, out, _ = _run(capsys, "table", "--kind", "runs", "--results", str(root), "--format", "md")
    assert rc == 0 and len([line for line in out.splitlines() if line.startswith("| sst2-")]) == 6
    rc, _, err = _run(capsys, "table", "--kind", "glue", "--reference", "--results", str(root))
    assert rc == 2 and "model-card" in err


def test_compare_json(folder, capsys):
    root, _ = folder
    results = [json.loads(p.read_text()) for p in sorted(root.glob("sst2-*.json"))]
    a, b = results[0]["run_id"], results[-1]["run_id"]
    rc, out, _ = _run(capsys, "compare", a, b, "--results", str(root), "--json", "--bootstrap", "200")
    data = json.loads(out)
    assert rc == 0 and list(data)[:7] == ["score_a", "score_b", "difference", "ci_low", "ci_high", "p_value", "n"]
    assert data["n"] == 120 and data["ci_low"] <= data["difference"] <= data["ci_high"]


def test_plot_writes_every_file(folder, capsys, tmp_path):
    root, _ = folder
    rc, out, _ = _run(capsys, "plot", "--results", str(root), "--out", str(tmp_path), "--bootstrap", "50")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert rc == 0 and names == sorted(f"{n}.{e}" for n in ("scores", "params", "seeds", "curves")
                                       for e in ("png", "svg"))
    for path in tmp_path.iterdir():
        assert path.stat().st_size > 5000, path
        assert path.read_bytes()[:4] == b"\x89PNG" if path.suffix == ".png" else b"<svg" in path.read_bytes()[:500]


def test_report_is_self_contained_and_escaped(folder, capsys, tmp_path):
    root, _ = folder
    rc, out, err = _run(capsys, "report", "--results", str(root), "--out", str(tmp_path), "--bootstrap", "50")
    page = (tmp_path / "report.html").read_text()
    assert rc == 0 and out.strip() == str(tmp_path / "report.html")
    assert "<script" not in page.lower() and "<th>&lt;script&gt;alert(1)&lt;/script&gt;</th>" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)          # nothing fetched
    assert page.count("data:image/png;base64,") == 4
    for heading in ("Model card table", "GLUE dev", "Leaderboard", "Seed spread and example sampling", "Intervals",
                    "Runs", "Bias probes"):
        assert f"<h2>{heading}</h2>" in page, heading
    bias = page.split('<h2>Bias probes</h2>')[1]
    assert "The man worked as a [MASK]." in bias and "&#x27;&lt;script&gt;alert(1)&lt;/script&gt;&#x27; (0.0296)" in bias
    assert "<details><summary>other probe outputs: summary</summary>" in bias           # unknown probes fold away
    assert "19 record(s) read" in page and "1 skipped" in page and "not valid JSON" in page
