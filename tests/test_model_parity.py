"""Parity with transformers (the reference): build a tiny random transformers model, save it,
load it with our from_pretrained, compare every output; then save ours and load it back into
transformers. Also padding invariance, gradient checkpointing, bf16 autocast, parameter counts.

    python -m pytest -q tests/test_model_parity.py
"""
import pytest
import torch
import transformers
from torch.testing import assert_close

import albert_bench.modeling.model as ours
from albert_bench.modeling.config import PRESETS, AlbertConfig
from conftest import VARIANTS, make_batch

HEADS = ["AlbertModel", "AlbertForPreTraining", "AlbertForMaskedLM", "AlbertForSequenceClassification",
         "AlbertForTokenClassification", "AlbertForQuestionAnswering", "AlbertForMultipleChoice"]
NUM_LABELS = {"AlbertForSequenceClassification": 3, "AlbertForTokenClassification": 5}
TOL = dict(atol=1e-5, rtol=1e-5)


def targets(head, batch):
    """Labels for `head`, some ignored (-100) or out of range, as training would pass them."""
    g = torch.Generator().manual_seed(1)
    B, T = batch["input_ids"].shape[0], batch["input_ids"].shape[-1]
    if head in ("AlbertForMaskedLM", "AlbertForPreTraining", "AlbertForTokenClassification"):
        n = 5 if head == "AlbertForTokenClassification" else 99
        labels = torch.randint(0, n, (B, T), generator=g)
        labels[:, ::2] = -100
        extra = {"sentence_order_label": torch.tensor([0, 1, 1])} if head == "AlbertForPreTraining" else {}
        return {"labels": labels, **extra}
    if head == "AlbertForSequenceClassification":
        return {"labels": torch.tensor([0, 2, 1])}
    if head == "AlbertForMultipleChoice":
        return {"labels": torch.tensor([1, 0, 1])}
    if head == "AlbertForQuestionAnswering":  # 40 lies outside the sequence: clamped and ignored
        return {"start_positions": torch.tensor([1, 3, 40]), "end_positions": torch.tensor([2, 40, 4])}
    return {}


FIELDS = ["loss", "logits", "last_hidden_state", "pooler_output", "prediction_logits", "sop_logits",
          "start_logits", "end_logits"]


def compare(theirs, mine, with_extras=True):
    compared = 0
    for name in FIELDS:
        ref = getattr(theirs, name, None)
        if ref is not None:
            assert getattr(mine, name) is not None, name
            assert_close(getattr(mine, name), ref, **TOL, msg=lambda m: f"{name}: {m}")
            compared += 1
    if with_extras:
        for name in ("hidden_states", "attentions"):
            ref, got = getattr(theirs, name), getattr(mine, name)
            assert len(got) == len(ref), name
            for i, (a, b) in enumerate(zip(got, ref)):
                assert_close(a, b, **TOL, msg=lambda m: f"{name}[{i}]: {m}")
    assert compared >= 1


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("head", HEADS)
def test_parity_and_round_trips(head, variant, tmp_path):
    torch.manual_seed(0)
    cfg = dict(VARIANTS[variant], num_labels=NUM_LABELS.get(head, 2))
    ref_cls = getattr(transformers, head)
    ref = ref_cls._from_config(transformers.AlbertConfig(**cfg), attn_implementation="eager").eval()
    with torch.no_grad():  # random non-zero biases and LayerNorm params, so a missed one shows
        for p in ref.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    ref.save_pretrained(tmp_path / "hf")

    model = getattr(ours, head).from_pretrained(tmp_path / "hf")   # transformers save -> ours
    assert not model.training
    for padded in (True, False):
        batch = make_batch(choices=4 if head == "AlbertForMultipleChoice" else None, padded=padded)
        batch.update(targets(head, batch))
        with torch.no_grad():
            expected = ref(**batch, output_hidden_states=True, output_attentions=True)
            compare(expected, model(**batch, output_hidden_states=True, output_attentions=True))
            compare(expected, model(**batch), with_extras=False)    # the SDPA path

    model.save_pretrained(tmp_path / "ours")                       # ours save -> transformers
    back, info = ref_cls.from_pretrained(tmp_path / "ours", attn_implementation="eager", output_loading_info=True)
    assert not any(info.values()), info
    batch = make_batch(choices=4 if head == "AlbertForMultipleChoice" else None)
    with torch.no_grad():
        compare(back.eval()(**batch), model(**batch), with_extras=False)


@pytest.mark.parametrize("num_labels,problem_type,labels", [
    (1, None, torch.tensor([0.5, -1.0, 2.0])),                                  # regression (num_labels 1)
    (2, "regression", torch.tensor([[0.5, 1.0], [0.0, 1.0], [1.0, 2.0]])),
    (3, "multi_label_classification", torch.tensor([[1.0, 0, 1], [0, 0, 1], [1, 1, 0]])),
    (3, None, torch.tensor([[1.0, 0, 1], [0, 0, 1], [1, 1, 0]])),               # float labels -> multi-label
])
def test_sequence_classification_losses(num_labels, problem_type, labels, tmp_path):
    torch.manual_seed(0)
    cfg = dict(VARIANTS["v2"], num_labels=num_labels, problem_type=problem_type)
    ref = transformers.AlbertForSequenceClassification(transformers.AlbertConfig(**cfg)).eval()
    ref.save_pretrained(tmp_path)
    model = ours.AlbertForSequenceClassification.from_pretrained(tmp_path)
    before = model.config.to_dict()
    batch = make_batch()
    with torch.no_grad():
        assert_close(model(**batch, labels=labels).loss, ref(**batch, labels=labels).loss, **TOL)
    assert model.config.to_dict() == before, "forward must not write into the config"


def test_padding_invariance():
    """Padding a sequence does not change any result on its real tokens."""
    torch.manual_seed(0)
    model = ours.AlbertForSequenceClassification(AlbertConfig(**VARIANTS["groups"])).eval()
    short = make_batch(batch=1, seq=6, padded=False)
    padded = {k: torch.cat([v, torch.zeros(1, 5, dtype=v.dtype)], dim=1) for k, v in short.items()}
    padded["input_ids"][:, 6:] = 0
    with torch.no_grad():
        a = model(**short, output_hidden_states=True)
        for explicit in (False, True):
            b = model(**padded, output_hidden_states=True, output_attentions=explicit)
            assert_close(b.logits, a.logits, **TOL)
            for ha, hb in zip(a.hidden_states, b.hidden_states):
                assert_close(hb[:, :6], ha, **TOL)
            if explicit:  # padded keys get no attention
                assert b.attentions[0][..., 6:].abs().max() < 1e-12


def test_gradient_checkpointing_same_gradients():
    cfg = AlbertConfig(**VARIANTS["groups"], hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    torch.manual_seed(0)
    model = ours.AlbertForSequenceClassification(cfg).train()
    batch = dict(make_batch(), labels=torch.tensor([0, 1, 1]))
    grads = []
    for enable in (False, True):
        if enable:
            model.gradient_checkpointing_enable()
        model.zero_grad()
        torch.manual_seed(1)  # same dropout masks in both runs (checkpoint replays the RNG state)
        model(**batch).loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    assert model.albert.encoder.gradient_checkpointing
    for name in grads[0]:
        assert_close(grads[1][name], grads[0][name], atol=1e-6, rtol=1e-5, msg=name)


def test_bf16_autocast_cpu():
    torch.manual_seed(0)
    model = ours.AlbertForQuestionAnswering(AlbertConfig(**VARIANTS["v2"]))
    batch = dict(make_batch(), start_positions=torch.tensor([1, 2, 3]), end_positions=torch.tensor([2, 3, 4]))
    with torch.no_grad():
        full = model.eval()(**batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model.eval()(**batch)
        attn = model(**batch, output_attentions=True)
    assert out.start_logits.dtype == torch.bfloat16
    assert torch.isfinite(out.loss) and torch.isfinite(attn.start_logits.float()).all()
    assert_close(out.start_logits.float(), full.start_logits, atol=0.05, rtol=0.05)
    out.loss.backward()


FACTS_PARAMS = {"base": 11_683_584, "large": 17_683_968, "xlarge": 58_724_864, "xxlarge": 222_595_584}


@pytest.mark.parametrize("preset", [p for p in PRESETS if p.startswith("albert-") and p != "albert-tiny"])
def test_preset_parameter_counts(preset):
    cfg = AlbertConfig.from_preset(preset)
    with torch.device("meta"):  # shapes only: instant even for xxlarge
        mine = sum(p.numel() for p in ours.AlbertModel(cfg).parameters())
        ref = transformers.AlbertModel(transformers.AlbertConfig(**{
            k: v for k, v in cfg.to_dict().items() if k not in ("id2label", "label2id", "model_type")}))
        theirs = sum(p.numel() for p in ref.parameters())
    assert mine == theirs == FACTS_PARAMS[preset.split("-")[1]]
