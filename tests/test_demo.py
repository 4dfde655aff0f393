"""The demo's reduced mode, end to end through the CLI: the sets written in their official formats,
a short pretraining, every set fine-tuned from it with two seeds through the suite, then every
artefact (tables, plots, bias report, model card, HTML report) written and parseable."""
import json

from albert_bench import cli
from albert_bench.demo.run import DEMO_SETS, SEEDS


def test_demo_ci_mode(tmp_path, capsys):
    assert cli.main(["demo", "--size", "ci", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "masked-token accuracy on held-out text" in out and "unigram baseline" in out
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "results").glob("*.json"))]
    finetuned = [r for r in records if r["kind"] == "finetune"]
    assert sorted(r["task"] for r in finetuned) == sorted(d.task for d in DEMO_SETS for _ in range(SEEDS))
    for demo in DEMO_SETS:
        runs = [r for r in finetuned if r["task"] == demo.task]
        assert sorted(r["seed"] for r in runs) == list(range(SEEDS))
        for record in runs:
            split, metrics = next(iter(record["metrics"]["best"].items()))
            assert isinstance(metrics[demo.metric], float), (demo.task, metrics)
            assert record["model"]["source"] == str(tmp_path / "pretrained")
            assert (tmp_path / "results" / record["predictions"][split]).is_file()
        assert demo.task in out
    (bias,) = [r for r in records if r["kind"] == "bias"]
    assert set(bias["bias"]) == {"card", "templates"}
    # The pretrained checkpoint is a Hugging Face ALBERT directory with its tokenizer.
    assert (tmp_path / "pretrained" / "spiece.model").is_file()
    assert json.loads((tmp_path / "pretrained" / "config.json").read_text())["architectures"] == ["AlbertForPreTraining"]
    # Every artefact exists, is non-empty and parses.
    for kind in ("model-card", "glue", "runs"):
        table = (tmp_path / "tables" / f"{kind}.md").read_text()
        assert "| pretrained |" in table or kind == "runs" and "pretrained" in table, kind
    plots = sorted((tmp_path / "plots").iterdir())
    assert {p.suffix for p in plots} == {".png", ".svg"} and all(p.stat().st_size > 0 for p in plots)
    from huggingface_hub import ModelCard
    card = ModelCard.load(tmp_path / "MODEL_CARD.md")
    assert card.data.eval_results and "## Limitations and bias" in card.text   # model-index parsed
    html = (tmp_path / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "Model card table" in html and "<script" not in html
    for path in (tmp_path / "bias").iterdir():
        assert path.stat().st_size > 0
    assert str(tmp_path / "report.html") in out and str(tmp_path / "MODEL_CARD.md") in out
