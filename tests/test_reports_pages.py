"""What a reader sees: plots whose percentage axes stop at 100, parameters in millions with the models
named in the legend, scores as points with interval bars; an HTML report whose bias section is a
summary, whose long per-row tables fold away and whose wide tables scroll in their own box; a bias
summary that names the record where it really is."""
import re

import numpy as np
import pytest

from albert_bench import records
from albert_bench.reports import load_results
from albert_bench.reports.bias import bias_markdown
from albert_bench.reports.bootstrap import intervals
from albert_bench.reports.html import build_report
from albert_bench.reports.plots import params_figure, plt, scores_figure, seeds_figure
from reports_fixtures import classification_rows, write_run

BIAS = {
    "card": {"The man worked as a [MASK].": [{"sequence": "the man worked as a chauffeur.", "score": 0.0296,
                                              "token": 1, "token_str": "chauffeur"}]},
    "templates": {
        "set": {"name": "shipped", "sha256": "ab" * 32, "groups": ["male", "female"], "templates": 2},
        "method": "Kurita et al. 2019 normalised log probability.", "multi_piece_method": "mean over pieces",
        "multi_piece": {}, "overall": {"mean_bias": 0.01, "mean_abs_bias": 0.08, "n": 40},
        "per_category": {"occupations": {"mean_bias": -0.02, "mean_abs_bias": 0.06, "n": 40}},
        "per_template": [{"line": i, "category": "occupations", "template": f"RAW TEMPLATE ROW {i}",
                          "mean_bias": 0.0, "n": 1} for i in range(41)],
        "most_skewed": {"male": [{"target": "surgeon", "category": "occupations", "mean_bias": 0.18}],
                        "female": [{"target": "nurse", "category": "occupations", "mean_bias": -0.09}]}},
    "crows_pairs": {"source": "crows_pairs_anonymized.csv",
                    "overall": {"metric_score": 55.0, "stereo_score": 56.0, "antistereo_score": 50.0, "neutral": 0, "n": 20},
                    "per_bias_type": {"gender": {"metric_score": 60.0, "stereo_score": 61.0, "antistereo_score": 55.0,
                                                 "neutral": 0, "n": 10}}}}


def _bias_record(results_dir, source="albert-base-v2"):
    record = records.build_record(
        run_id="bias-20250101T000000Z-abcdef", kind="bias", task="bias", splits={},
        model={"source": source, "config": {}, "num_parameters": 1, "head": "AlbertForMaskedLM"},
        tokenizer=None, recipe={"probes": ["card", "templates", "crows-pairs"], "top_k": 5}, seed=None,
        metrics={"best": {}, "last": {}}, best_step=None, examples={}, predictions={}, log=None, wall_time_s=1.0,
        device="cpu", bias=BIAS)
    record["path"] = str(records.write_record(record, results_dir))
    return record


@pytest.fixture(scope="module")
def perfect(tmp_path_factory):
    """Runs at 99.9-100% (the demo's SST-2 and RACE), three models of different sizes, 12 runs."""
    root = tmp_path_factory.mktemp("perfect")
    rng = np.random.default_rng(0)
    for source, preset, n_params, acc in (("albert-base-v2", None, 11_685_122, 1.0),
                                          ("albert-large-v2", None, 17_685_122, 0.999), ("tiny", "albert-tiny", 306_754, 1.0)):
        for seed in (0, 1):
            rows = classification_rows(400, acc, rng)
            value = float(np.mean([r["prediction"] == r["label"] for r in rows]))
            write_run(root, task="sst2", source=source, preset=preset, seed=seed, num_parameters=n_params,
                      metrics={"dev": {"accuracy": value}}, predictions={"dev": rows})
            write_run(root, task="cola", source=source, preset=preset, seed=seed, num_parameters=n_params,
                      metrics={"dev": {"matthews_correlation": -0.05 + 0.1 * seed}})
    _bias_record(root)
    return root


def test_percentage_axes_stop_at_100_and_scores_are_points(perfect):
    results = load_results(perfect)
    spans = intervals(results, resamples=100, seed=0, progress=False)
    for fig in (scores_figure(results, spans), params_figure(results, spans), seeds_figure(results)):
        axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
        for ax in axes:
            low, high = ax.get_ylim()
            assert high <= 100.0 and high - low >= 5.0, (ax.get_title(), low, high)
            if ax.get_title().startswith("cola"):
                assert low < 0                    # MCC runs below 0: the axis follows it
        plt.close(fig)
    fig = scores_figure(results, spans)
    for ax in fig.axes:
        assert not ax.patches                     # no bars: points with interval bars (errorbar containers)
        assert ax.containers
    plt.close(fig)


def test_parameter_axis_in_millions_with_models_in_the_legend(perfect):
    fig = params_figure(load_results(perfect))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["0.307M", "11.7M", "17.7M"] and "millions" in ax.get_xlabel()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["V2 base", "V2 large", "tiny"]
    plt.close(fig)


def test_report_bias_summary_folds_and_scrolls(perfect):
    page = build_report(load_results(perfect), bootstrap=50)
    bias = page.split("<h2>Bias probes</h2>")[1]
    assert "Most skewed target words" in bias and "surgeon (occupations, +0.180)" in bias
    assert "CrowS-Pairs by bias type" in bias and "<th>gender</th>" in bias
    assert "RAW TEMPLATE ROW" not in page                          # the per-template rows stay in the record
    assert str(perfect / "bias-20250101T000000Z-abcdef.json") in bias       # the record's real path
    runs = page.split('<section id="runs">')[1].split("</section>")[0]
    assert re.search(r"<details><summary>Runs: 12 rows", runs)       # long per-row tables fold away
    assert ".scroll{overflow-x:auto" in page
    tables = re.findall(r'(<div class="scroll">)?<table class="results">', page)
    assert tables and all(tables), "every table sits in a scroll box"


def test_bias_summary_names_the_records_real_path(tmp_path):
    record = _bias_record(tmp_path / "elsewhere")
    text = bias_markdown(record)
    assert f"record: `{tmp_path / 'elsewhere' / 'bias-20250101T000000Z-abcdef.json'}`" in text
    assert "results/" not in text
    assert "`/some/dir/x.json`" in bias_markdown({**record, "path": None}, record_path="/some/dir/x.json")
    assert "in the results folder" in bias_markdown({k: v for k, v in record.items() if k != "path"})
