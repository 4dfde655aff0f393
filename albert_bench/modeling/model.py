"""ALBERT in PyTorch, with Hugging Face's class and parameter names so its checkpoints load as-is.

Reads top to bottom: embeddings -> one transformer layer -> the encoder (the explicit layer-sharing
loop) -> AlbertModel (+ pooler) -> heads. Shapes: B batch, T tokens, E embedding_size,
H hidden_size, nh heads, hs head size, I intermediate_size, V vocab_size, C choices.

    from albert_bench import AlbertConfig, AlbertForSequenceClassification
    model = AlbertForSequenceClassification(AlbertConfig.from_preset("albert-tiny", num_labels=3))
    out = model(input_ids, attention_mask=mask, labels=labels)   # out.loss, out.logits
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from albert_bench.modeling.checkpoint import CheckpointMixin
from albert_bench.modeling.config import AlbertConfig


@dataclass
class AlbertOutput:
    """What every model returns; fields a model does not produce stay None."""
    loss: torch.Tensor | None = None               # scalar, when targets are given
    logits: torch.Tensor | None = None             # (B, num_labels) | (B, T, num_labels) | (B, T, V) MLM | (B, C)
    last_hidden_state: torch.Tensor | None = None  # (B, T, H)   AlbertModel
    pooler_output: torch.Tensor | None = None      # (B, H)      AlbertModel with pooler
    prediction_logits: torch.Tensor | None = None  # (B, T, V)   AlbertForPreTraining
    sop_logits: torch.Tensor | None = None         # (B, 2)      AlbertForPreTraining
    start_logits: torch.Tensor | None = None       # (B, T)      question answering
    end_logits: torch.Tensor | None = None         # (B, T)
    hidden_states: tuple[torch.Tensor, ...] | None = None  # like HF: (B, T, H) after embedding_hidden_mapping_in, then after every layer call
    attentions: tuple[torch.Tensor, ...] | None = None     # (B, nh, T, T) per layer call


def activation(name: str):
    """config.hidden_act -> function. gelu_new is the original TF tanh approximation."""
    return {"gelu": F.gelu,
            "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
            "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
            "relu": F.relu, "silu": F.silu, "swish": F.silu}[name]


class AlbertEmbeddings(nn.Module):
    def __init__(self, config: AlbertConfig):
        super().__init__()
        E = config.embedding_size
        self.word_embeddings = nn.Embedding(config.vocab_size, E, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, E)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, E)
        self.LayerNorm = nn.LayerNorm(E, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids=None, position_ids=None):
        B, T = input_ids.shape
        if T > self.position_embeddings.num_embeddings:
            raise ValueError(f"sequence length {T} exceeds max_position_embeddings="
                             f"{self.position_embeddings.num_embeddings}; truncate inputs (max_seq_length)")
        if position_ids is None:
            position_ids = torch.arange(T, device=input_ids.device).unsqueeze(0)  # (1, T)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = (self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
             + self.position_embeddings(position_ids))                          # (B, T, E)
        return self.dropout(self.LayerNorm(x))


class AlbertAttention(nn.Module):
    """Multi-head self-attention with a post-LN residual (the original BERT/ALBERT order)."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        H = config.hidden_size
        self.n_head = config.num_attention_heads
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
        self.dense = nn.Linear(H, H)
        self.LayerNorm = nn.LayerNorm(H, eps=config.layer_norm_eps)
        self.attn_dropout = config.attention_probs_dropout_prob
        self.output_dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x, keep=None, output_attentions=False):
        # x: (B, T, H); keep: (B, 1, 1, T) bool, True where the key is a real token, or None
        B, T, H = x.shape
        q, k, v = (proj(x).view(B, T, self.n_head, H // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
                   for proj in (self.query, self.key, self.value))
        # Additive mask in the query's dtype (bf16 under autocast). A large negative number rather
        # than a boolean mask: a row with no real key (all padding) then averages instead of NaN.
        mask = None if keep is None else torch.zeros(keep.shape, dtype=q.dtype, device=q.device
                                                     ).masked_fill(~keep, torch.finfo(q.dtype).min)
        dropout = self.attn_dropout if self.training else 0.0
        probs = None
        if output_attentions:  # explicit, so the probabilities can be returned
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))      # (B, nh, T, T)
            if mask is not None:
                scores = scores + mask
            probs = scores.softmax(dim=-1)
            y = F.dropout(probs, dropout, self.training) @ v              # (B, nh, T, hs)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        y = y.transpose(1, 2).reshape(B, T, H)                            # (B, T, H)
        return self.LayerNorm(x + self.output_dropout(self.dense(y))), probs


class AlbertLayer(nn.Module):
    def __init__(self, config: AlbertConfig):
        super().__init__()
        H, I = config.hidden_size, config.intermediate_size
        self.attention = AlbertAttention(config)
        self.ffn = nn.Linear(H, I)
        self.ffn_output = nn.Linear(I, H)
        self.activation = activation(config.hidden_act)
        self.full_layer_layer_norm = nn.LayerNorm(H, eps=config.layer_norm_eps)

    def forward(self, x, keep=None, output_attentions=False):
        a, probs = self.attention(x, keep, output_attentions)            # (B, T, H)
        # No dropout on the FFN output: transformers' ALBERT has none here (the original TF code
        # does); we match transformers so fine-tuning behaves like the reference.
        f = self.ffn_output(self.activation(self.ffn(a)))                 # (B, T, I) -> (B, T, H)
        return self.full_layer_layer_norm(a + f), probs


class AlbertLayerGroup(nn.Module):
    """One set of shared parameters: `inner_group_num` layers (exists for the HF key names)."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.albert_layers = nn.ModuleList([AlbertLayer(config) for _ in range(config.inner_group_num)])


# config.shared_sublayer -> the AlbertLayer attributes one module serves for every layer.
SHARED_SUBLAYER_MODULES = {"attention": ("attention",), "ffn": ("ffn", "ffn_output", "full_layer_layer_norm")}


class AlbertTransformer(nn.Module):
    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.config = config
        self.embedding_hidden_mapping_in = nn.Linear(config.embedding_size, config.hidden_size)
        self.albert_layer_groups = nn.ModuleList([AlbertLayerGroup(config) for _ in range(config.num_hidden_groups)])
        # shared_sublayer (paper Table 4): every group's layer reuses group 0's sublayer, the same module
        # object, so parameters() counts it once and checkpoint.py treats its other names as tied aliases.
        layers = [group.albert_layers[0] for group in self.albert_layer_groups]
        for name in SHARED_SUBLAYER_MODULES.get(config.shared_sublayer, ()):
            for layer in layers[1:]:
                setattr(layer, name, getattr(layers[0], name))
        self.gradient_checkpointing = False

    def forward(self, x, keep=None, output_hidden_states=False, output_attentions=False):
        cfg = self.config
        h = self.embedding_hidden_mapping_in(x)                           # (B, T, E) -> (B, T, H)
        hidden_states, attentions = [h], []
        for i in range(cfg.num_hidden_layers):
            # Cross-layer sharing: layers are split evenly over groups; layer i reuses its group's weights.
            group = int(i / (cfg.num_hidden_layers / cfg.num_hidden_groups))
            for layer in self.albert_layer_groups[group].albert_layers:
                if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
                    h, probs = checkpoint(layer, h, keep, output_attentions, use_reentrant=False)
                else:
                    h, probs = layer(h, keep, output_attentions)
                hidden_states.append(h)
                attentions.append(probs)
        return (h, tuple(hidden_states) if output_hidden_states else None,
                tuple(attentions) if output_attentions else None)


class AlbertPreTrainedModel(CheckpointMixin, nn.Module):
    """Weight init like HF and the shared encoder call; from_pretrained/save_pretrained come from
    CheckpointMixin."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.config = config

    def init_weights(self, root: nn.Module | None = None):
        """HF's init on `root`'s modules (default: the whole model): normal(0, initializer_range)
        weights, zero biases, zero padding row, LayerNorm 1/0, zero MLM bias."""
        std = self.config.initializer_range
        for m in (self if root is None else root).modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, std)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, 0.0, std)
                if m.padding_idx is not None:
                    with torch.no_grad():
                        m.weight[m.padding_idx].zero_()
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, AlbertMLMHead):
                nn.init.zeros_(m.bias)

    def gradient_checkpointing_enable(self):
        """Recompute each layer in backward (training only): activation memory for compute."""
        self.encoder_model().encoder.gradient_checkpointing = True

    def gradient_checkpointing_disable(self):
        self.encoder_model().encoder.gradient_checkpointing = False

    def encoder_model(self) -> "AlbertModel":
        return self.albert

    def _encode(self, input_ids, attention_mask, token_type_ids, position_ids,
                output_hidden_states, output_attentions) -> AlbertOutput:
        return self.albert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                           position_ids=position_ids, output_hidden_states=output_hidden_states,
                           output_attentions=output_attentions)


class AlbertModel(AlbertPreTrainedModel):
    def __init__(self, config: AlbertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = AlbertEmbeddings(config)
        self.encoder = AlbertTransformer(config)
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size) if add_pooling_layer else None
        self.init_weights()

    def encoder_model(self) -> "AlbertModel":
        return self

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                output_hidden_states=False, output_attentions=False) -> AlbertOutput:
        x = self.embeddings(input_ids, token_type_ids, position_ids)     # (B, T, E)
        # A batch without padding (common with length-sorted batches) needs no mask: SDPA then
        # takes its unmasked, faster path. Same result either way.
        has_pad = attention_mask is not None and not bool(attention_mask.all())
        keep = attention_mask[:, None, None, :].bool() if has_pad else None  # (B, 1, 1, T)
        h, hidden_states, attentions = self.encoder(x, keep, output_hidden_states, output_attentions)
        pooled = torch.tanh(self.pooler(h[:, 0])) if self.pooler is not None else None  # (B, H) from [CLS]
        return AlbertOutput(last_hidden_state=h, pooler_output=pooled,
                            hidden_states=hidden_states, attentions=attentions)


# ---- heads -------------------------------------------------------------------------------

class AlbertMLMHead(nn.Module):
    """dense(H->E), activation, LayerNorm(E), decoder(E->V) whose weight is the word embedding."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)
        self.activation = activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.embedding_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def tie(self, word_embeddings: nn.Embedding):
        # Same Parameter objects, as HF ties them: keys predictions.decoder.{weight,bias} alias
        # albert.embeddings.word_embeddings.weight and predictions.bias.
        self.decoder.weight = word_embeddings.weight
        self.decoder.bias = self.bias

    def forward(self, h):                                                 # (B, T, H)
        return self.decoder(self.LayerNorm(self.activation(self.dense(h))))  # (B, T, V)


class AlbertSOPHead(nn.Module):
    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.dropout = nn.Dropout(config.classifier_dropout_prob or 0.0)
        self.classifier = nn.Linear(config.hidden_size, 2)               # label 0 = original order

    def forward(self, pooled):                                            # (B, H)
        return self.classifier(self.dropout(pooled))                     # (B, 2)


class _LabelsHead(AlbertPreTrainedModel):
    """A head whose only target is `labels`: encoder -> self.head_logits -> self.loss.
    Subclasses define those two methods; this forward is the one copy of the argument plumbing."""
    add_pooling_layer = True

    def __init__(self, config: AlbertConfig):
        super().__init__(config)
        self.albert = AlbertModel(config, add_pooling_layer=self.add_pooling_layer)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_hidden_states=False, output_attentions=False) -> AlbertOutput:
        enc = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                           output_hidden_states, output_attentions)
        logits = self.head_logits(enc)
        loss = None if labels is None else self.loss(logits, labels)
        return AlbertOutput(loss=loss, logits=logits, hidden_states=enc.hidden_states, attentions=enc.attentions)


class AlbertForMaskedLM(_LabelsHead):
    add_pooling_layer = False

    def __init__(self, config: AlbertConfig):
        super().__init__(config)
        self.predictions = AlbertMLMHead(config)
        self.init_weights(self.predictions)
        self.predictions.tie(self.albert.embeddings.word_embeddings)

    def head_logits(self, enc):
        return self.predictions(enc.last_hidden_state)                   # (B, T, V)

    def loss(self, logits, labels):                                       # labels (B, T), -100 = ignore
        return F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), ignore_index=-100)


class AlbertForSequenceClassification(_LabelsHead):
    def __init__(self, config: AlbertConfig):
        super().__init__(config)
        self.dropout = nn.Dropout(config.classifier_dropout_prob or 0.0)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights(self.classifier)

    def head_logits(self, enc):
        return self.classifier(self.dropout(enc.pooler_output))           # (B, num_labels)

    def problem_type(self, labels) -> str:
        """config.problem_type, else decided like HF from num_labels and the labels' dtype
        (without writing it into the config)."""
        if self.config.problem_type is not None:
            return self.config.problem_type
        if self.config.num_labels == 1:
            return "regression"
        if labels.dtype in (torch.long, torch.int):
            return "single_label_classification"
        return "multi_label_classification"

    def loss(self, logits, labels):
        kind = self.problem_type(labels)
        if kind == "regression":
            if self.config.num_labels == 1:
                return F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
            return F.mse_loss(logits, labels.to(logits.dtype))
        if kind == "single_label_classification":
            return F.cross_entropy(logits.view(-1, self.config.num_labels), labels.view(-1))
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


class AlbertForTokenClassification(_LabelsHead):
    add_pooling_layer = False

    def __init__(self, config: AlbertConfig):
        super().__init__(config)
        p = config.classifier_dropout_prob
        self.dropout = nn.Dropout(config.hidden_dropout_prob if p is None else p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights(self.classifier)

    def head_logits(self, enc):
        return self.classifier(self.dropout(enc.last_hidden_state))      # (B, T, num_labels)

    def loss(self, logits, labels):                                       # labels (B, T), -100 = ignore
        return F.cross_entropy(logits.view(-1, self.config.num_labels), labels.view(-1))


class AlbertForMultipleChoice(_LabelsHead):
    """Each (B, C, T) input is scored as B*C sequences; logits are one score per choice."""

    def __init__(self, config: AlbertConfig):
        super().__init__(config)
        self.dropout = nn.Dropout(config.classifier_dropout_prob or 0.0)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.init_weights(self.classifier)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_hidden_states=False, output_attentions=False) -> AlbertOutput:
        B, C, T = input_ids.shape
        flat = [None if t is None else t.reshape(B * C, T)                # (B, C, T) -> (B*C, T)
                for t in (input_ids, attention_mask, token_type_ids, position_ids)]
        out = super().forward(*flat, labels=None, output_hidden_states=output_hidden_states,
                              output_attentions=output_attentions)
        out.logits = out.logits.view(B, C)                                # (B*C, 1) -> (B, C)
        if labels is not None:                                            # labels (B,) choice index
            out.loss = F.cross_entropy(out.logits, labels)
        return out

    def head_logits(self, enc):
        return self.classifier(self.dropout(enc.pooler_output))          # (B*C, 1)


class AlbertForQuestionAnswering(AlbertPreTrainedModel):
    def __init__(self, config: AlbertConfig):
        super().__init__(config)
        self.albert = AlbertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)               # start, end
        self.init_weights(self.qa_outputs)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                start_positions=None, end_positions=None,
                output_hidden_states=False, output_attentions=False) -> AlbertOutput:
        enc = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                           output_hidden_states, output_attentions)
        start, end = self.qa_outputs(enc.last_hidden_state).unbind(-1)   # (B, T) each
        loss = None
        if start_positions is not None and end_positions is not None:
            # Like HF: positions outside the input are clamped to T and then ignored.
            T = start.size(1)
            s = start_positions.view(-1).clamp(0, T)
            e = end_positions.view(-1).clamp(0, T)
            loss = (F.cross_entropy(start, s, ignore_index=T) + F.cross_entropy(end, e, ignore_index=T)) / 2
        return AlbertOutput(loss=loss, start_logits=start.contiguous(), end_logits=end.contiguous(),
                            hidden_states=enc.hidden_states, attentions=enc.attentions)


class AlbertForPreTraining(AlbertPreTrainedModel):
    """MLM + sentence-order prediction; loss = MLM CE (ignore -100) + SOP CE."""

    def __init__(self, config: AlbertConfig):
        super().__init__(config)
        self.albert = AlbertModel(config)
        self.predictions = AlbertMLMHead(config)
        self.sop_classifier = AlbertSOPHead(config)
        self.init_weights(self.predictions)
        self.init_weights(self.sop_classifier)
        self.predictions.tie(self.albert.embeddings.word_embeddings)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                labels=None, sentence_order_label=None,
                output_hidden_states=False, output_attentions=False) -> AlbertOutput:
        enc = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                           output_hidden_states, output_attentions)
        mlm = self.predictions(enc.last_hidden_state)                    # (B, T, V)
        sop = self.sop_classifier(enc.pooler_output)                     # (B, 2)
        loss = None
        if labels is not None and sentence_order_label is not None:
            loss = (F.cross_entropy(mlm.view(-1, mlm.size(-1)), labels.view(-1), ignore_index=-100)
                    + F.cross_entropy(sop.view(-1, 2), sentence_order_label.view(-1)))
        return AlbertOutput(loss=loss, prediction_logits=mlm, sop_logits=sop,
                            hidden_states=enc.hidden_states, attentions=enc.attentions)


HEAD_CLASSES = {cls.__name__: cls for cls in (
    AlbertModel, AlbertForPreTraining, AlbertForMaskedLM, AlbertForSequenceClassification,
    AlbertForTokenClassification, AlbertForQuestionAnswering, AlbertForMultipleChoice)}
