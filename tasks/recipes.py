"""Fine-tuning recipes as data: the ALBERT paper's Appendix A.4 / Table 14 (GLUE rows match
the original run_glue.sh), the v2 RACE exception, and a short recipe for quick runs.

    from albert_bench.tasks.recipes import get_recipe
    get_recipe("rte", "paper", version="v2")   # -> Recipe(lr=3e-05, batch_size=32, ...)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Recipe:
    lr: float
    batch_size: int                 # global batch (gradient accumulation reaches it)
    albert_dropout: float           # hidden + attention dropout of the encoder
    classifier_dropout: float
    train_steps: int
    warmup_steps: int
    max_seq_length: int
    weight_decay: float = 0.01      # AdamW, not applied to LayerNorm and bias
    adam_eps: float = 1e-6
    adam_betas: tuple[float, float] = (0.9, 0.999)
    max_grad_norm: float = 1.0      # global gradient-norm clipping
    eval_every: int = 0             # 0: evaluate once per 10% of training

    def to_dict(self) -> dict:
        return asdict(self)


#            task       lr     batch  dropout  cls_drop  steps  warmup  max_len
_PAPER = {
    "cola":     Recipe(1e-5,  16, 0.0, 0.1,  5336,  320, 512),
    "stsb":     Recipe(2e-5,  16, 0.0, 0.1,  3598,  214, 512),
    "sst2":     Recipe(1e-5,  32, 0.0, 0.1, 20935, 1256, 512),
    "mnli":     Recipe(3e-5, 128, 0.0, 0.1, 10000, 1000, 512),
    "qnli":     Recipe(1e-5,  32, 0.0, 0.1, 33112, 1986, 512),
    "qqp":      Recipe(5e-5, 128, 0.1, 0.1, 14000, 1000, 512),
    "rte":      Recipe(3e-5,  32, 0.1, 0.1,   800,  200, 512),
    "mrpc":     Recipe(2e-5,  32, 0.0, 0.1,   800,  200, 512),
    "wnli":     Recipe(2e-5,  16, 0.1, 0.1,  2000,  250, 512),
    "squad_v1": Recipe(5e-5,  48, 0.0, 0.1,  3649,  365, 384),
    "squad_v2": Recipe(3e-5,  48, 0.0, 0.1,  8144,  814, 512),
    "race":     Recipe(2e-5,  32, 0.1, 0.1, 12000, 1000, 512),
}
# The original README: v2 models diverge on RACE with the v1 setting; use LR 1e-5, no dropout.
_V2_EXCEPTIONS = {"race": {"lr": 1e-5, "albert_dropout": 0.0}}
# AX is scored with an MNLI model: it has no training recipe of its own.
_ALIASES = {"ax": "mnli"}

# A short run for smoke tests and the demo: same optimizer, few steps, short sequences.
QUICK = Recipe(lr=1e-4, batch_size=16, albert_dropout=0.0, classifier_dropout=0.1,
               train_steps=60, warmup_steps=6, max_seq_length=128)

RECIPES = ("paper", "quick")


def get_recipe(task: str, recipe: str = "paper", version: str = "v2", **overrides) -> Recipe:
    """The recipe for `task` ("paper" or "quick"), with the v2 exceptions applied for
    version "v2", and any field overridden by keyword (e.g. lr=2e-5, train_steps=100)."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}: choose one of {', '.join(RECIPES)}")
    key = _ALIASES.get(task, task)
    if recipe == "quick":
        base = QUICK
    else:
        if key not in _PAPER:
            raise ValueError(f"no paper recipe for task {task!r}; known: {', '.join(sorted(_PAPER))}")
        base = _PAPER[key]
        if version == "v2":
            base = replace(base, **_V2_EXCEPTIONS.get(key, {}))
    unknown = set(overrides) - set(Recipe.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown recipe field(s) {sorted(unknown)}; fields: {', '.join(Recipe.__dataclass_fields__)}")
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})
