"""The demo's reduced mode, end to end through the CLI: every set is written in its official
format, read by the real loaders, fine-tuned and scored, and leaves a run record."""
import json

from albert_bench import cli
from albert_bench.demo import DEMO_SETS


def test_demo_ci_mode(tmp_path, capsys):
    assert cli.main(["demo", "--size", "ci", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "results").glob("*.json"))]
    assert sorted(r["task"] for r in records) == sorted(d.task for d in DEMO_SETS)
    for demo in DEMO_SETS:
        record = next(r for r in records if r["task"] == demo.task)
        split, metrics = next(iter(record["metrics"]["best"].items()))
        assert isinstance(metrics[demo.metric], float), (demo.task, metrics)
        assert record["examples"]["train"]["seen"] > 0 and record["seed"] == 0
        assert (tmp_path / "results" / record["predictions"][split]).is_file()
        assert demo.task in out
    # The tokenizer and model the demo built form a checkpoint that loads as-is.
    assert (tmp_path / "model" / "spiece.model").is_file() and (tmp_path / "model" / "config.json").is_file()
