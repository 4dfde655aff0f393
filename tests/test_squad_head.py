"""ALBERT's own SQuAD 2.0 head: output shapes, the candidate (context) mask, a valid beam,
the loss terms on a hand-set case, learning a tiny batch, checkpoint round trip."""
from __future__ import annotations

import math

import pytest
import torch

from albert_bench.modeling.config import AlbertConfig
from albert_bench.modeling.squad_head import AlbertForSquadV2, SquadV2Output, candidate_mask

TINY = dict(vocab_size=60, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.0)


def batch(seed=0):
    """Two `[CLS] q q q [SEP] context [SEP]` rows; row 1 is shorter and right-padded.
    Context positions: row 0 -> 5..12, row 1 -> 5..10."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 60, (2, 16), generator=g)
    types = torch.zeros(2, 16, dtype=torch.long)
    mask = torch.zeros(2, 16, dtype=torch.long)
    for row, last in ((0, 13), (1, 11)):            # `last` = position of the final [SEP]
        ids[row, 0], ids[row, 4], ids[row, last] = 2, 3, 3
        types[row, 5: last + 1] = 1
        mask[row, : last + 1] = 1
        ids[row, last + 1:] = 0
    context = [set(range(5, 13)), set(range(5, 11))]
    return dict(input_ids=ids, token_type_ids=types, attention_mask=mask), context


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is far faster than several fighting over 2 shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return AlbertForSquadV2(AlbertConfig(**TINY))


def test_candidate_mask_is_cls_plus_context():
    inputs, context = batch()
    cand = candidate_mask(inputs["token_type_ids"], inputs["attention_mask"])
    for row in range(2):
        assert {i for i in range(16) if cand[row, i]} == {0} | context[row]


def test_eval_shapes_and_valid_beam(model):
    inputs, context = batch()
    model.eval()
    with torch.no_grad():
        out = model(**inputs)
    assert isinstance(out, SquadV2Output) and out.loss is None
    assert out.start_top_index.shape == out.start_top_log_probs.shape == (2, 5)
    assert out.end_top_index.shape == out.end_top_log_probs.shape == (2, 5, 5)
    assert out.cls_logits.shape == (2,)
    for row in range(2):
        starts = out.start_top_index[row].tolist()
        assert set(starts) <= context[row] and len(set(starts)) == 5       # never [CLS] or question
        assert torch.all(out.start_top_log_probs[row] <= 0)
        for k, s in enumerate(starts):
            for j in range(5):
                if out.end_top_log_probs[row, k, j] > -1e30:                 # a real candidate
                    assert out.end_top_index[row, k, j].item() in context[row]
                    assert out.end_top_index[row, k, j].item() >= s
        # log-probs are sorted, best first
        assert torch.all(out.start_top_log_probs[row][:-1] >= out.start_top_log_probs[row][1:])


class FixedStart(torch.nn.Module):
    """A start layer whose logits are fixed per position: [CLS] highest, then decreasing."""

    def forward(self, h):                                                 # (B, T, H)
        B, T, _ = h.shape
        logits = -torch.arange(T, dtype=h.dtype).expand(B, T).clone()    # (B, T)
        logits[:, 0] = 50.0
        return logits[..., None]                                          # (B, T, 1)


def test_cls_never_a_beam_start(model):
    """[CLS] has by far the best start logit, yet the beam starts at context tokens only;
    its log-probs are those of the softmax over [CLS] + context (so [CLS] takes the mass)."""
    inputs, context = batch()
    model.start_logits = FixedStart()
    model.eval()
    with torch.no_grad():
        out = model(**inputs)
    for row in range(2):
        assert out.start_top_index[row].tolist() == [5, 6, 7, 8, 9]      # best context tokens, in order
        logits = torch.tensor([50.0] + [-float(i) for i in sorted(context[row])])
        expected = torch.log_softmax(logits, -1)[1:6]
        torch.testing.assert_close(out.start_top_log_probs[row], expected)


def test_loss_terms_on_hand_set_head(model):
    """Zero the output layers: start and end are uniform over [CLS] + context, cls_logits = 0.
    Then loss = mean over rows of log(n_candidates) + 0.5 * log(2)."""
    inputs, context = batch()
    with torch.no_grad():
        for layer in (model.start_logits, model.end_logits.dense_1):
            layer.weight.zero_()
            layer.bias.zero_()
        model.answer_class.dense_1.weight.zero_()
    labels = dict(start_positions=torch.tensor([6, 0]), end_positions=torch.tensor([8, 0]))
    uniform = sum(math.log(len(c) + 1) for c in context) / 2
    out = model(**inputs, **labels)
    torch.testing.assert_close(out.loss, torch.tensor(uniform))                 # no is_impossible: no BCE
    out = model(**inputs, **labels, is_impossible=torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(out.loss, torch.tensor(uniform + 0.5 * math.log(2)))


def test_loss_matches_its_definition(model):
    """Against an independent computation from the head's own pieces on the encoder output."""
    inputs, context = batch()
    s, e, imp = torch.tensor([6, 0]), torch.tensor([9, 0]), torch.tensor([0.0, 1.0])
    model.eval()   # no dropout; the loss is still computed when positions are given
    with torch.no_grad():
        out = model(**inputs, start_positions=s, end_positions=e, is_impossible=imp)
        h = model.albert(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"]).last_hidden_state
        total = 0.0
        for row in range(2):
            cand = sorted({0} | context[row])
            start = model.start_logits(h[row, cand]).squeeze(-1)                  # (n,)
            start_lp = torch.log_softmax(start, -1)
            hs = h[row, s[row]].expand(len(cand), -1)
            end = model.end_logits(h[row, cand], hs)                                # (n,)
            end_lp = torch.log_softmax(end, -1)
            p = start_lp.exp()
            feat = (p[:, None] * h[row, cand]).sum(0)
            cls = model.answer_class(feat[None], h[row, :1]).squeeze()
            bce = -(imp[row] * torch.log(torch.sigmoid(cls)) + (1 - imp[row]) * torch.log(1 - torch.sigmoid(cls)))
            ce = -(start_lp[cand.index(s[row].item())] + end_lp[cand.index(e[row].item())]) / 2
            total = total + ce + 0.5 * bce
        torch.testing.assert_close(out.loss, total / 2, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(out.cls_logits[1], model(**inputs).cls_logits[1])


def test_overfits_tiny_batch(model):
    inputs, _ = batch()
    labels = dict(start_positions=torch.tensor([6, 0]), end_positions=torch.tensor([8, 0]),
                  is_impossible=torch.tensor([0.0, 1.0]))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(20):
        loss = model(**inputs, **labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    model.eval()
    with torch.no_grad():
        out = model(**inputs)
    assert out.start_top_index[0, 0].item() == 6 and out.end_top_index[0, 0, 0].item() == 8
    assert out.cls_logits[1] > out.cls_logits[0]                                # row 1 has no answer


def test_training_mode_returns_loss_only(model):
    inputs, _ = batch()
    model.train()
    out = model(**inputs, start_positions=torch.tensor([6, 0]), end_positions=torch.tensor([8, 0]))
    assert out.loss is not None and out.start_top_index is None


def test_needs_token_type_ids(model):
    inputs, _ = batch()
    with pytest.raises(ValueError, match="token_type_ids"):
        model(inputs["input_ids"], inputs["attention_mask"])


def test_checkpoint_round_trip(model, tmp_path):
    inputs, _ = batch()
    model.save_pretrained(tmp_path)
    loaded = AlbertForSquadV2.from_pretrained(tmp_path)
    assert all(k.startswith(("albert.", "start_logits.", "end_logits.", "answer_class."))
               for k in loaded.state_dict())
    model.eval()
    loaded.eval()
    with torch.no_grad():
        a, b = model(**inputs), loaded(**inputs)
    torch.testing.assert_close(a.cls_logits, b.cls_logits)
    assert torch.equal(a.end_top_index, b.end_top_index)
