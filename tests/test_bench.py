"""The benchmark functions run end to end on a tiny config and return well-formed rows.
No timing assertions: speed is reported as ratios by `albert-bench bench`, never tested."""
import math

import pytest
import torch

pytest.importorskip("transformers")

from albert_bench import bench  # noqa: E402
from albert_bench.engine.batching import feature_length  # noqa: E402


def check_rows(rows, benches):
    assert [r["bench"] for r in rows] == benches
    for r in rows:
        assert tuple(r) == bench.ROW_KEYS, r
        assert r["device"] == "cpu" and r["dtype"] == "float32"
        assert r["better"] in ("higher", "lower")
        if r["unit"] != "MiB":  # throughputs are positive and the ratio is ours / reference
            assert r["ours"] > 0 and r["reference"] > 0, r
            assert math.isclose(r["ratio"], r["ours"] / r["reference"]), r


def test_bench_model_rows_on_tiny_config():
    rows = bench.bench_model(quick=True, device="cpu", iters=1, warmup=1, memory=False)
    check_rows(rows, ["inference", "train_step"])
    assert rows[0]["batch"] == 2 and rows[0]["seq"] == 16 and rows[0]["vs"] == "transformers"
    table = bench.format_table(rows)
    assert table.count("\n") == 3 and "train_step" in table and "x |" in table


def test_bench_scoring_rows_on_tiny_config():
    rows = bench.bench_scoring(quick=True, device="cpu", n_examples=6)
    check_rows(rows, ["scoring", "scoring"])
    assert "transformers" in rows[0]["vs"] and "padded" in rows[1]["vs"]
    assert rows[0]["ours"] == rows[1]["ours"]  # one measurement of our sorted path, two baselines


def test_build_pair_has_identical_weights_and_logits():
    config = bench.bench_config("base", quick=True)
    ours, theirs = bench.build_pair(config, seed=1)
    theirs_sd = theirs.state_dict()
    for key, value in ours.state_dict().items():
        torch.testing.assert_close(value, theirs_sd[key], msg=key)
    inputs = bench.random_batch(config, 3, 12, "cpu", seed=1)
    assert inputs["attention_mask"][0].all() and inputs["attention_mask"].sum() < 3 * 12  # some padding
    bench.check_same_logits(ours.eval(), theirs.eval(), inputs)
    with torch.no_grad():  # a different model must be caught by the guard
        ours.classifier.bias.add_(1.0)
    with pytest.raises(AssertionError, match="disagree"):
        bench.check_same_logits(ours, theirs, inputs)


def test_glue_like_lengths_are_seeded_and_shaped_like_glue():
    lengths = bench.glue_like_lengths(2000, max_len=128, seed=3)
    assert lengths == bench.glue_like_lengths(2000, max_len=128, seed=3)
    assert lengths != bench.glue_like_lengths(2000, max_len=128, seed=4)
    mean = sum(lengths) / len(lengths)
    assert 25 <= mean <= 40 and min(lengths) >= 5 and max(lengths) <= 128
    assert sum(n > 80 for n in lengths) > 10  # a long tail, which is what makes padding costly
    features = bench.synthetic_features(bench.bench_config("base", quick=True), lengths[:50])
    assert [feature_length(f) for f in features] == lengths[:50]
    assert all(len(f["token_type_ids"]) == len(f["input_ids"]) and f["input_ids"][0] == 2
               and f["input_ids"][-1] == 3 for f in features)


def test_memory_probe_in_process_and_errors():
    config = bench.bench_config("base", quick=True)
    spec = dict(side="ours", mode="train_step", config=config.to_dict(), batch=2, seq=8, device="cpu",
                dtype="float32", threads=1)
    assert bench.memory_probe(spec) >= 0
    with pytest.raises(ValueError, match="dtype"):
        bench._dtype("float8")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            bench.bench_model(quick=True, device="cuda")


def test_missing_transformers_is_one_clear_error(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes `import transformers` fail
    with pytest.raises(ValueError, match=r"pip install -e '\.\[test\]'"):
        bench.bench_scoring(quick=True, device="cpu")
