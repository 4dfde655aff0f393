import pytest

from albert_bench.tasks.recipes import get_recipe


def test_paper_numbers():
    r = get_recipe("mnli", "paper")
    assert (r.lr, r.batch_size, r.train_steps, r.warmup_steps, r.max_seq_length) == (3e-5, 128, 10000, 1000, 512)
    assert get_recipe("squad_v1").max_seq_length == 384
    assert get_recipe("ax").lr == get_recipe("mnli").lr


def test_v2_race_exception():
    v1, v2 = get_recipe("race", version="v1"), get_recipe("race", version="v2")
    assert (v1.lr, v1.albert_dropout) == (2e-5, 0.1)
    assert (v2.lr, v2.albert_dropout) == (1e-5, 0.0)


def test_overrides_and_errors():
    assert get_recipe("rte", lr=1e-4, train_steps=None).lr == 1e-4
    assert get_recipe("rte", train_steps=None).train_steps == 800
    with pytest.raises(ValueError, match="unknown recipe field"):
        get_recipe("rte", learning_rate=1)
    with pytest.raises(ValueError, match="choose one of paper, quick"):
        get_recipe("rte", "fast")
