"""LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning"), the optimizer ALBERT was
pretrained with, written from the update rule of the original ALBERT code (lamb_optimizer.py).

    from albert_bench.pretraining.lamb import Lamb, lamb_parameter_groups
    optimizer = Lamb(lamb_parameter_groups(model, weight_decay=0.01), lr=1.76e-3)

Per parameter w with gradient g, in each step t:
    m = b1 m + (1 - b1) g                    Adam moments; the original ALBERT code does NOT
    v = b2 v + (1 - b2) g^2                  bias-correct them (bias_correction=False, the default;
    u = m / (sqrt(v) + eps)                  True divides m by 1 - b1^t and v by 1 - b2^t, as the paper's Algorithm 2)
    u = u + weight_decay * w                 decoupled weight decay, added to the update
    r = ||w|| / ||u||  (1.0 when either norm is 0; always 1.0 without layer adaptation)
    w = w - lr * r * u

No maintained PyPI package fits (torch-optimizer is unmaintained and bias-corrects; apex needs
CUDA builds), hence this short implementation. The original excludes LayerNorm weights and
biases from weight decay AND from the trust ratio: `lamb_parameter_groups` builds those groups.
"""
from __future__ import annotations

import torch
from torch import nn


def lamb_parameter_groups(model: nn.Module, weight_decay: float = 0.01) -> list[dict]:
    """Two groups: weights with decay and layer adaptation; LayerNorm parameters and biases with
    neither (the original's exclude_from_weight_decay = ["LayerNorm", "layer_norm", "bias"]).
    Tied parameters (the MLM decoder = word embeddings) appear once."""
    no_decay = {id(p) for m in model.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()}
    decay, plain = [], []
    for name, p in model.named_parameters():   # named_parameters drops tied duplicates
        if not p.requires_grad:
            continue
        (plain if id(p) in no_decay or name.endswith("bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay, "adapt": True},
            {"params": plain, "weight_decay": 0.0, "adapt": False}]


class Lamb(torch.optim.Optimizer):
    """See the module docstring. Group options: lr, betas, eps, weight_decay, adapt (trust ratio
    on/off), bias_correction. State per parameter: step, exp_avg (m), exp_avg_sq (v)."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-6,
                 weight_decay: float = 0.0, adapt: bool = True, bias_correction: bool = False):
        if lr < 0.0:
            raise ValueError(f"LAMB learning rate must be >= 0, got {lr}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"LAMB betas must be in [0, 1), got {betas}")
        if eps <= 0.0:
            raise ValueError(f"LAMB eps must be > 0, got {eps}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, adapt=adapt,
                        bias_correction=bias_correction)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("LAMB does not support sparse gradients")
                grad = p.grad.float()
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, dtype=torch.float32)
                    state["exp_avg_sq"] = torch.zeros_like(p, dtype=torch.float32)
                state["step"] += 1
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(grad, alpha=1.0 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                if group["bias_correction"]:
                    t = float(state["step"])
                    update = (m / (1.0 - beta1 ** t)) / ((v / (1.0 - beta2 ** t)).sqrt() + group["eps"])
                else:
                    update = m / (v.sqrt() + group["eps"])
                weight = p.float()
                if group["weight_decay"]:
                    update.add_(weight, alpha=group["weight_decay"])
                ratio = 1.0
                if group["adapt"]:
                    w_norm, u_norm = weight.norm(), update.norm()
                    # A tensor, not a Python float: no device sync per parameter on GPU.
                    ratio = torch.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, torch.ones_like(w_norm))
                p.add_((update * (ratio * group["lr"])).to(p.dtype), alpha=-1.0)
        return loss
