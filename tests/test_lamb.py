"""LAMB against a hand computation of the original ALBERT update rule (no bias correction).
The optimizer keeps its moments in float32, hence rel=1e-6 against float64 arithmetic."""
import math

import pytest
import torch
from torch import nn

from albert_bench.modeling.config import AlbertConfig
from albert_bench.pretraining.lamb import Lamb, lamb_parameter_groups
from albert_bench.modeling.model import AlbertForPreTraining

LR, WD, B1, B2, EPS = 0.1, 0.01, 0.9, 0.999, 1e-6
GRADS = ([0.5, 1.0], [-1.0, 2.0])


def _hand_lamb(w, grads, weight_decay, adapt, bias_correction=False):
    """Scalar arithmetic, element by element, as written in the paper / lamb_optimizer.py."""
    m, v = [0.0, 0.0], [0.0, 0.0]
    for t, g in enumerate(grads, start=1):
        m = [B1 * m[i] + (1 - B1) * g[i] for i in range(2)]
        v = [B2 * v[i] + (1 - B2) * g[i] ** 2 for i in range(2)]
        if bias_correction:
            u = [(m[i] / (1 - B1 ** t)) / (math.sqrt(v[i] / (1 - B2 ** t)) + EPS) for i in range(2)]
        else:
            u = [m[i] / (math.sqrt(v[i]) + EPS) for i in range(2)]
        u = [u[i] + weight_decay * w[i] for i in range(2)]
        w_norm, u_norm = math.hypot(*w), math.hypot(*u)
        ratio = w_norm / u_norm if adapt and w_norm > 0 and u_norm > 0 else 1.0
        w = [w[i] - LR * ratio * u[i] for i in range(2)]
    return w


def _torch_lamb(w, grads, **group):
    p = nn.Parameter(torch.tensor(w, dtype=torch.float64))
    opt = Lamb([{"params": [p], **group}], lr=LR, betas=(B1, B2), eps=EPS)
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return p.detach().tolist()


def test_two_steps_match_hand_computation():
    w0 = [3.0, -4.0]                                      # ||w|| = 5
    expected = _hand_lamb(w0, GRADS, WD, adapt=True)
    got = _torch_lamb(w0, GRADS, weight_decay=WD, adapt=True)
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-12)
    assert got != pytest.approx(w0, abs=1e-3)             # it moved


def test_first_step_numbers():
    """Step 1 worked through: m = (0.05, 0.1), v = (0.00025, 0.001), so m / sqrt(v) = (3.1621, 3.1622);
    adding 0.01 w gives u = (3.1921, 3.1222), ||u|| = 4.4651, trust ratio 5 / 4.4651 = 1.1198."""
    m = (0.05, 0.1)
    u = (m[0] / (math.sqrt(0.00025) + EPS) + 0.03, m[1] / (math.sqrt(0.001) + EPS) - 0.04)
    ratio = 5.0 / math.hypot(*u)
    assert u == pytest.approx((3.1921, 3.1222), abs=1e-4) and ratio == pytest.approx(1.1198, abs=1e-4)
    got = _torch_lamb([3.0, -4.0], GRADS[:1], weight_decay=WD, adapt=True)
    assert got == pytest.approx([3.0 - LR * ratio * u[0], -4.0 - LR * ratio * u[1]], rel=1e-6)


def test_excluded_group_has_no_decay_and_no_trust_ratio():
    """LayerNorm/bias group: a plain Adam-without-bias-correction step of size lr."""
    w0 = [3.0, -4.0]
    got = _torch_lamb(w0, GRADS, weight_decay=0.0, adapt=False)
    assert got == pytest.approx(_hand_lamb(w0, GRADS, 0.0, adapt=False), rel=1e-6)
    # First step moves each element by about lr (m / sqrt(v) = +-1 / sqrt(0.1)), not by a ratio of ||w||.
    one = _torch_lamb(w0, GRADS[:1], weight_decay=0.0, adapt=False)
    assert one[0] == pytest.approx(3.0 - LR * 0.05 / (math.sqrt(0.00025) + EPS), rel=1e-6)


def test_zero_weights_use_ratio_one_and_bias_correction_option():
    got = _torch_lamb([0.0, 0.0], GRADS, weight_decay=WD, adapt=True)
    assert got == pytest.approx(_hand_lamb([0.0, 0.0], GRADS, WD, adapt=True), rel=1e-6)
    assert got != [0.0, 0.0]
    corrected = _torch_lamb([3.0, -4.0], GRADS, weight_decay=WD, adapt=True, bias_correction=True)
    assert corrected == pytest.approx(_hand_lamb([3.0, -4.0], GRADS, WD, adapt=True, bias_correction=True), rel=1e-6)
    assert corrected != pytest.approx(_torch_lamb([3.0, -4.0], GRADS, weight_decay=WD, adapt=True), rel=1e-6)


def test_parameter_groups_exclude_layernorm_and_bias():
    model = AlbertForPreTraining(AlbertConfig.from_preset("albert-tiny"))
    decay, plain = lamb_parameter_groups(model, 0.01)
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["adapt"] and decay["weight_decay"] == 0.01
    assert not plain["adapt"] and plain["weight_decay"] == 0.0
    excluded = [n for n in names.values() if "LayerNorm" in n or "layer_norm" in n or n.endswith("bias")]
    assert sorted(names[id(p)] for p in plain["params"]) == sorted(excluded)
    assert "albert.encoder.albert_layer_groups.0.albert_layers.0.full_layer_layer_norm.weight" in excluded
    # the tied decoder weight is the word embedding: listed once
    assert len(decay["params"]) + len(plain["params"]) == len(list(model.parameters()))
    assert sum(p is model.albert.embeddings.word_embeddings.weight for p in decay["params"]) == 1
