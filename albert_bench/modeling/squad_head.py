"""ALBERT's own SQuAD 2.0 head (the original TF code's v2 model; Hugging Face has no equivalent).

    from albert_bench.modeling.squad_head import AlbertForSquadV2
    model = AlbertForSquadV2.from_pretrained("path/to/albert-base-v2")
    out = model(input_ids, attention_mask=mask, token_type_ids=types,
                start_positions=s, end_positions=e, is_impossible=imp)      # training: out.loss
    model.eval(); out = model(input_ids, attention_mask=mask, token_type_ids=types)
    out.start_top_index, out.end_top_index, out.cls_logits                 # the beam + answerability

Shapes: B batch, T tokens, H hidden_size, K beam width (5 starts x 5 ends).

* start: Linear(H->1) per token, softmax over the candidate tokens.
* end: for a given start s, Linear(2H->H) on concat(h_j, h_s), tanh, LayerNorm, Linear(H->1),
  softmax over the candidates. Training conditions on the GOLD start; inference runs a beam:
  the top-K starts, and for each the top-K ends.
* answerability: concat(sum_j p_start(j) h_j, h_[CLS]) -> Linear(2H->H), tanh, dropout,
  Linear(H->1, no bias) = cls_logits (high = no answer). The question's null score is the
  minimum cls logit over its windows (tasks/squad_decode.py).
* loss = (start CE + end CE) / 2 + 0.5 * BCE(cls_logits, is_impossible).

Which tokens are candidates. The model is given no p_mask (the engine passes only
input_ids / token_type_ids / attention_mask and labels), so the context is read off the
input `[CLS] question [SEP] context [SEP]`: tokens with token_type_ids == 1 and
attention_mask == 1, minus the final [SEP] (the last such token in each row). As in the
original code (p_mask is 0 for [CLS]) the softmaxes run over [CLS] + context, so windows
without the answer train start/end toward [CLS] (position 0) and the log-probs match the
original's. But [CLS] is never a start or end in the beam: the beam picks among context
tokens only (and ends at or after their start), and answerability comes from cls_logits alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from albert_bench.modeling.config import AlbertConfig
from albert_bench.modeling.model import AlbertModel, AlbertPreTrainedModel


@dataclass
class SquadV2Output:
    """Fields not computed stay None. The beam is computed in eval mode (or when no start
    positions are given); the loss when start and end positions are given."""
    loss: torch.Tensor | None = None                 # scalar
    start_top_log_probs: torch.Tensor | None = None  # (B, K) best first; -inf-like where fewer than K tokens exist
    start_top_index: torch.Tensor | None = None      # (B, K) input positions (context tokens)
    end_top_log_probs: torch.Tensor | None = None    # (B, K, K) for start k, its K best ends
    end_top_index: torch.Tensor | None = None        # (B, K, K) input positions >= start_top_index[:, k]
    cls_logits: torch.Tensor | None = None           # (B,) answerability logit, high = no answer
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class SquadEndLogits(nn.Module):
    """End logit of token j given the start's hidden state: Dense(2H->H, tanh), LayerNorm, Dense(H->1)."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.dense_0 = nn.Linear(2 * config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dense_1 = nn.Linear(config.hidden_size, 1)

    def forward(self, h, start_h):                                       # (..., T, H), (..., T, H)
        x = torch.tanh(self.dense_0(torch.cat([h, start_h], dim=-1)))    # (..., T, H)
        return self.dense_1(self.LayerNorm(x)).squeeze(-1)               # (..., T)


class SquadAnswerClass(nn.Module):
    """Answerability from the start-weighted hidden state and [CLS]; no end dependence, so
    each window gets one logit."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        p = config.classifier_dropout_prob
        self.dense_0 = nn.Linear(2 * config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(0.1 if p is None else p)
        self.dense_1 = nn.Linear(config.hidden_size, 1, bias=False)

    def forward(self, start_feature, cls_h):                             # (B, H), (B, H)
        x = torch.tanh(self.dense_0(torch.cat([start_feature, cls_h], dim=-1)))  # (B, H)
        return self.dense_1(self.dropout(x)).squeeze(-1)                 # (B,)


def candidate_mask(token_type_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """(B, T) bool: [CLS] and the context tokens of `[CLS] question [SEP] context [SEP]`."""
    context = token_type_ids == 1                                        # (B, T) context + final [SEP]
    if attention_mask is not None:
        context = context & attention_mask.bool()
    T = context.size(1)
    last = T - 1 - context.flip(-1).int().argmax(-1)                     # (B,) the final [SEP]
    rows = torch.arange(context.size(0), device=context.device)
    context[rows, last] = False
    context[:, 0] = True                                                 # [CLS]
    return context


class AlbertForSquadV2(AlbertPreTrainedModel):
    start_n_top = 5   # beam: starts kept
    end_n_top = 5     # beam: ends kept per start

    def __init__(self, config: AlbertConfig):
        super().__init__(config)
        self.albert = AlbertModel(config, add_pooling_layer=False)
        self.start_logits = nn.Linear(config.hidden_size, 1)
        self.end_logits = SquadEndLogits(config)
        self.answer_class = SquadAnswerClass(config)
        for head in (self.start_logits, self.end_logits, self.answer_class):
            self.init_weights(head)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                start_positions=None, end_positions=None, is_impossible=None,
                output_hidden_states=False, output_attentions=False) -> SquadV2Output:
        if token_type_ids is None:
            raise ValueError("AlbertForSquadV2 needs token_type_ids: the context is where they are 1")
        enc = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                           output_hidden_states, output_attentions)
        h = enc.last_hidden_state                                        # (B, T, H)
        B, T, H = h.shape
        neg = torch.finfo(h.dtype).min
        cand = candidate_mask(token_type_ids, attention_mask)            # (B, T) [CLS] + context
        context = cand.clone()
        context[:, 0] = False                                            # (B, T) beam candidates

        start_logits = self.start_logits(h).squeeze(-1).masked_fill(~cand, neg)  # (B, T)
        start_log_probs = F.log_softmax(start_logits, dim=-1)            # (B, T)
        start_feature = torch.einsum("bt,bth->bh", start_log_probs.exp(), h)  # (B, H)
        cls_logits = self.answer_class(start_feature, h[:, 0])           # (B,)
        out = SquadV2Output(cls_logits=cls_logits, hidden_states=enc.hidden_states, attentions=enc.attentions)

        if start_positions is not None and end_positions is not None:
            s = start_positions.view(-1)                                 # (B,)
            e = end_positions.view(-1)                                   # (B,)
            start_h = h[torch.arange(B, device=h.device), s]             # (B, H) gold start
            end_logits = self.end_logits(h, start_h[:, None].expand(B, T, H)).masked_fill(~cand, neg)  # (B, T)
            end_log_probs = F.log_softmax(end_logits, dim=-1)            # (B, T)
            loss = (F.nll_loss(start_log_probs, s) + F.nll_loss(end_log_probs, e)) / 2
            if is_impossible is not None:
                target = is_impossible.view(-1).to(cls_logits.dtype)    # (B,)
                loss = loss + 0.5 * F.binary_cross_entropy_with_logits(cls_logits, target)
            out.loss = loss

        if not self.training or start_positions is None:
            K = min(self.start_n_top, T)
            top_lp, top_idx = start_log_probs.masked_fill(~context, neg).topk(K, dim=-1)  # (B, K)
            top_h = torch.gather(h, 1, top_idx[:, :, None].expand(B, K, H))  # (B, K, H)
            end_logits = self.end_logits(h[:, None].expand(B, K, T, H),
                                         top_h[:, :, None].expand(B, K, T, H))  # (B, K, T)
            end_log_probs = F.log_softmax(end_logits.masked_fill(~cand[:, None], neg), dim=-1)  # (B, K, T)
            positions = torch.arange(T, device=h.device)                # (T,)
            valid_end = context[:, None] & (positions[None, None] >= top_idx[:, :, None])  # (B, K, T)
            end_lp, end_idx = end_log_probs.masked_fill(~valid_end, neg).topk(min(self.end_n_top, T), dim=-1)  # (B, K, K)
            out.start_top_log_probs, out.start_top_index = top_lp, top_idx
            out.end_top_log_probs, out.end_top_index = end_lp, end_idx
        return out
