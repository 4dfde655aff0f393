"""`--set KEY=VALUE` is checked against the type of the field it sets before anything loads
(albert_bench/engine/fields.py): a wrong value or an unknown key is one line and exit 2, for
finetune (recipe fields), suite (the same, every task) and pretrain (AlbertConfig fields)."""
import pytest

from albert_bench import cli
from albert_bench.engine import runs


@pytest.fixture
def no_model_loads(monkeypatch):
    """Fail the test if a command gets as far as loading a model or reading data."""
    def boom(*args, **kwargs):
        raise AssertionError("a model or data was loaded before --set was checked")
    monkeypatch.setattr(runs, "load_model", boom)
    monkeypatch.setattr(runs, "load_split", boom)


@pytest.mark.parametrize("pair, wanted", [
    ("lr=abc", "--set lr=abc: lr takes a float (e.g. --set lr=3e-05)"),
    ("batch_size=abc", "--set batch_size=abc: batch_size takes an int (e.g. --set batch_size=32)"),
    ("adam_betas=0.9", "--set adam_betas=0.9: adam_betas takes 2 floats, comma-separated (e.g. --set adam_betas=0.9,0.999)"),
    ("eval_batch_size=x", "--set eval_batch_size=x: eval_batch_size takes an int (e.g. --set eval_batch_size=64)"),
    ("lrr=1e-5", "--set lrr=1e-05: unknown recipe field, loop option or input setting 'lrr' (did you mean lr?); known: lr, "
                   "batch_size"),
    ("train_steps", "--set train_steps: expected KEY=VALUE (e.g. --set lr=2e-5)"),
])
def test_finetune_bad_set_is_one_line_before_loading(pair, wanted, tmp_path, capsys, no_model_loads):
    code = cli.main(["finetune", "--model", "albert-base-v2", "--task", "rte", "--output-dir", str(tmp_path / "o"),
                     "--results-dir", str(tmp_path / "r"), "--set", pair])
    err = capsys.readouterr().err
    assert code == 2, err
    assert wanted in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_suite_and_pretrain_check_set_too(tmp_path, capsys, no_model_loads):
    code = cli.main(["suite", "--models", "albert-base-v2", "--tasks", "rte,squad_v1", "--seeds", "1",
                     "--output-root", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "r"), "--dry-run",
                     "--set", "warmup_steps=ten"])
    err = capsys.readouterr().err
    assert code == 2 and "--set warmup_steps=ten: warmup_steps takes an int" in err
    corpus = tmp_path / "c.txt"
    corpus.write_text("One sentence.\nAnother one.\n")
    base = ["pretrain", "--corpus", str(corpus), "--config", "albert-tiny", "--vocab-size", "50",
            "--output-dir", str(tmp_path / "p")]
    assert cli.main(base + ["--set", "hidden_size=big"]) == 2
    assert "--set hidden_size=big: hidden_size takes an int (e.g. --set hidden_size=4096)" in capsys.readouterr().err
    assert cli.main(base + ["--set", "hidden_sizes=64"]) == 2
    assert "unknown AlbertConfig field 'hidden_sizes' (did you mean hidden_size?); known: vocab_size" in capsys.readouterr().err
    assert cli.main(base + ["--set", "hidden_size"]) == 2
    assert "--set hidden_size: expected KEY=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()                         # nothing trained, no tokenizer written


def test_values_are_coerced_to_the_field_type():
    from albert_bench.tasks import get_task
    task = get_task("rte")
    rec = runs.resolve_recipe(task, "paper", "v2", {"adam_betas": [0.9, 0.98], "train_steps": 1e3, "lr": 1}, None)
    assert rec.adam_betas == (0.9, 0.98) and rec.train_steps == 1000 and rec.lr == 1.0
    assert type(rec.train_steps) is int and type(rec.lr) is float
    assert runs.resolve_recipe(task, "paper", "v2", {"adam_betas": "0.9,0.95"}, None).adam_betas == (0.9, 0.95)
    with pytest.raises(ValueError, match="null_threshold takes a float or null"):
        runs.resolve_recipe(get_task("squad_v2"), "paper", "v2", {"null_threshold": "high"}, None)
    with pytest.raises(ValueError, match="batch_size takes an int"):
        runs.resolve_recipe(task, "paper", "v2", {"batch_size": True}, None)
