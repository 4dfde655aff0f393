"""Trivial baselines from the dev labels (tasks/baselines.py), one per task family, each checked
against the task's own scorer fed the constant prediction; files in the official formats (the
demo writers); and `albert-bench tasks --baselines`."""
import pytest

from albert_bench import cli
from albert_bench.demo.data import write_demo_data
from albert_bench.metrics import squad as squad_metrics
from albert_bench.tasks import get_task
from albert_bench.tasks.baselines import margin


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    return write_demo_data(tmp_path_factory.mktemp("baselines") / "data", seed=0, size="ci")


@pytest.mark.parametrize("name", ["sst2", "rte", "mrpc", "cola"])
def test_glue_classification_baseline_is_the_scorers_number(dirs, name):
    task = get_task(name)
    dev = task.load("dev", dirs[name])
    base = task.baseline(dev)
    labels = [ex.label for ex in dev]
    majority = max(sorted(set(labels)), key=labels.count)
    scored = task.compute_metrics([majority] * len(dev), labels)
    assert base.values["accuracy"] == pytest.approx(scored["accuracy"])
    if name == "cola":
        assert base.values["matthews_correlation"] == 0.0 == pytest.approx(scored["matthews_correlation"])
        assert base.margin == 0.02
    if name == "mrpc":   # F1: the constant that maximises it is always the positive class ("1")
        always_pos = task.compute_metrics(["1"] * len(dev), labels)["f1"]
        always_neg = task.compute_metrics(["0"] * len(dev), labels)["f1"]
        assert base.values["f1"] == pytest.approx(max(always_pos, always_neg)) == pytest.approx(always_pos)
        assert "maximises F1" in base.rules["f1"]
    assert base.main_metric == task.main_metric and base.examples == len(dev)


def test_stsb_constant_score_has_correlation_zero(dirs):
    task = get_task("stsb")
    base = task.baseline(task.load("dev", dirs["stsb"]))
    assert base.values == {"pearson": 0.0, "spearmanr": 0.0} and base.margin == 0.02


def test_squad_baselines(dirs):
    v2 = get_task("squad_v2")
    dev = v2.load("dev", dirs["squad_v2"])
    base = v2.baseline(dev)
    golds = {ex.id: list(ex.answers) for ex in dev}
    official = squad_metrics.squad_v2(golds, {ex.id: "" for ex in dev})   # always no answer
    share = 100.0 * sum(ex.is_impossible for ex in dev) / len(dev)
    assert 0 < share < 100
    assert base.values["f1"] == pytest.approx(official["f1"]) == pytest.approx(share)
    assert base.values["exact"] == pytest.approx(official["exact"]) and base.margin == 1.0
    v1 = get_task("squad_v1")
    dev1 = v1.load("dev", dirs["squad_v1"])
    empty = squad_metrics.squad_v1({ex.id: list(ex.answers) for ex in dev1}, {ex.id: "" for ex in dev1})
    assert v1.baseline(dev1).values == {"exact_match": 0.0, "f1": 0.0} == {k: empty[k] for k in ("exact_match", "f1")}


def test_race_commonest_letter(dirs):
    task = get_task("race")
    dev = task.load("dev", dirs["race"])
    base = task.baseline(dev)
    letters = [ex.label for ex in dev]
    top = max(sorted(set(letters)), key=letters.count)
    preds = [{"id": ex.id, "prediction": top, "label": ex.label, "level": ex.level} for ex in dev]
    from albert_bench.tasks.race import _metrics
    assert base.values == pytest.approx(_metrics(preds))
    assert f"'{top}'" in base.rules["accuracy"]


def test_unlabelled_split_and_margins():
    task = get_task("rte")
    from albert_bench.tasks.glue import GlueExample
    with pytest.raises(ValueError, match="without gold labels"):
        task.baseline([GlueExample("0", "a", "b", None)])
    assert margin("rte", "accuracy") == 0.01 and margin("squad_v2", "f1") == 1.0


def test_cli_prints_baselines_for_one_task_and_for_a_data_root(dirs, capsys):
    assert cli.main(["tasks", "--baselines", "--task", "rte", "--data-dir", str(dirs["rte"])]) == 0
    out = capsys.readouterr().out
    assert "rte" in out and "accuracy *" in out and "commonest label" in out
    root = dirs["rte"].parent
    assert cli.main(["tasks", "--baselines", "--data-dir", str(root)]) == 0
    out = capsys.readouterr().out
    for name in ("sst2", "mrpc", "stsb", "squad_v2", "race"):
        assert f"\n{name}" in out
    assert "qqp" in out and "no data" in out   # a task without a folder is named, not skipped silently
    assert cli.main(["tasks", "--baselines"]) == 2   # needs --data-dir
