"""Pretraining instances for ALBERT: sentence-order pairs and n-gram masking, from the token cache.

    from albert_bench.pretraining.token_cache import build_token_cache
    from albert_bench.pretraining.data import InstanceStream, layout_chunks, word_start_table
    corpus = build_token_cache(["wiki.txt"], tokenizer, "cache/")   # flat token array, memory-mapped
    chunks = layout_chunks(corpus, corpus.document_ranges(), max_num_tokens=125, seed=0)
    stream = InstanceStream(corpus, chunks, seed=0, max_seq_len=128, vocab_size=30000, max_predictions=19,
                            word_starts=word_start_table(tokenizer))
    stream[k]      # the k-th training instance of the run: a dict of numpy arrays and the SOP label

Instances follow the original ALBERT code, with the deviations marked (*):
- A document is cut into chunks of whole sentences that fill a target length (max_seq_len - 3;
  with probability short_seq_prob, once per document as in the original, a random length in
  [2, max]). (*) Lines longer than the target are first cut into pieces of the target length,
  so no text is thrown away by truncation.
- A chunk is split at a random sentence boundary into segments A and B (consecutive text);
  half the time they are swapped: sentence_order_label 0 = original order, 1 = swapped.
  With objective="nsp" (BERT's next sentence prediction) B is instead replaced half the time
  by text of ANOTHER document (label 1 = random; 0 = is next): a document drawn uniformly from
  the others, a random piece to start at, whole pieces up to about the true B's length (BERT's
  target_b_length; see _random_b: B ends at a sentence end, as the true B does). (*) BERT also
  put the unused rest of the chunk back; chunks here are fixed.
  (*) A one-sentence chunk is split inside the sentence; the original took B from a random
  document then (a next-sentence-prediction leftover), which makes SOP partly NSP.
- The pair is truncated to the budget, longest first, each cut token taken from the front or
  the back of its segment at random (counts drawn as a binomial: the same distribution).
- Masking: num_to_predict = min(max_predictions, max(1, round(len(tokens) * 0.15))), tokens
  counting [CLS] and [SEP]; max_predictions defaults to round(0.15 * seq_len) in pretrain.py
  (the original's flag default was 20 whatever the length). Candidates are whole words
  (do_whole_word_mask=True, the original default: a piece continues a word unless it starts
  with "▁", see word_start_table), visited in random order; each draws n in {1, 2, 3} with
  p(n) proportional to 1/n (6/11, 3/11, 2/11): the paper's "up to a 3-gram of complete words".
  n shrinks while the n-gram's tokens overflow the budget; a candidate that still overflows or
  overlaps an earlier span is skipped. [CLS]/[SEP]/padding are never masked. (*) An n-gram
  never crosses [SEP] (the original's could, since it skipped the special tokens when listing
  candidates); it is cut at the segment end instead.
- 80/10/10: as in the original code, the [MASK] / keep / random choice is drawn for EACH TOKEN
  of a span (the `for index in index_set` loop holds the coin flips), not once per span.
  (*) Random replacements are drawn from the non-special ids 5..V-1 (the original drew from
  the whole vocabulary, specials included).
- Every instance draws its randomness from its own generator seeded by (seed, epoch, chunk), so
  a batch is a pure function of the seed and the step: a resumed run sees the same batches.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from albert_bench.pretraining.token_cache import TokenCorpus
from albert_bench.modeling.tokenizer import truncated_lengths

CLS_ID, SEP_ID, MASK_ID, FIRST_NORMAL_ID = 2, 3, 4, 5   # ALBERT's id layout (pad 0, unk 1)
IGNORE = -100                                            # label of positions not predicted


def split_heldout(corpus: TokenCorpus, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Document ranges (in sentences) for training and held-out evaluation: the held-out text is
    the last `fraction` of the corpus' sentences, cutting the document it starts in (so a corpus
    of a single document can still hold text out)."""
    docs = corpus.document_ranges()
    if not fraction:
        return docs, docs[:0]
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"heldout_fraction must be in [0, 1), got {fraction}")
    cut = corpus.num_sentences - max(1, int(round(fraction * corpus.num_sentences)))
    if cut < 2:
        raise ValueError(f"heldout_fraction {fraction} leaves {cut} training sentences of "
                         f"{corpus.num_sentences}; use a larger corpus or a smaller fraction")
    train = np.stack([docs[:, 0], np.minimum(docs[:, 1], cut)], axis=1)
    heldout = np.stack([np.maximum(docs[:, 0], cut), docs[:, 1]], axis=1)
    return train[train[:, 1] > train[:, 0]], heldout[heldout[:, 1] > heldout[:, 0]]


# ---- chunks: which text goes into one instance ---------------------------------------------

@dataclass
class Chunks:
    """piece_offsets: token offsets of every piece (a sentence, or a slice of max_num_tokens of a
    longer one); spans: (C, 2) piece ranges [first, end) of the chunks, each one instance's text;
    documents: (C,) the document of each chunk (a row of document_pieces); document_pieces: (D, 2)
    piece ranges [first, end) of the documents laid out (NSP draws its random B from another one)."""
    piece_offsets: np.ndarray
    spans: np.ndarray
    documents: np.ndarray
    document_pieces: np.ndarray

    def __len__(self) -> int:
        return len(self.spans)


def layout_chunks(corpus: TokenCorpus, documents: np.ndarray, max_num_tokens: int, seed: int,
                  short_seq_prob: float = 0.1) -> Chunks:
    """Cut the documents (sentence ranges) into chunks of whole pieces that reach a target length;
    deterministic in (corpus, documents, seed)."""
    offsets = corpus.sentence_offsets
    lengths = np.diff(offsets)
    n_pieces = -(-lengths // max_num_tokens)                             # ceil: long lines -> pieces
    first_piece = np.concatenate([[0], np.cumsum(n_pieces)])            # sentence -> its first piece
    k = np.arange(int(first_piece[-1])) - np.repeat(first_piece[:-1], n_pieces)
    piece_offsets = np.concatenate([np.repeat(offsets[:-1], n_pieces) + k * max_num_tokens, offsets[-1:]])
    piece_lengths = np.diff(piece_offsets).tolist()
    rng = np.random.default_rng([seed, 1])
    spans: list[tuple[int, int]] = []
    owner: list[int] = []                              # the document of each chunk
    for d, (doc_start, doc_end) in enumerate(documents.tolist()):
        target = max_num_tokens                        # once per document, as the original
        if rng.random() < short_seq_prob:
            target = int(rng.integers(2, max_num_tokens + 1))
        first, length = int(first_piece[doc_start]), 0
        end = int(first_piece[doc_end])
        for p in range(first, end):
            length += piece_lengths[p]
            if length >= target or p == end - 1:
                if length >= 2:                        # A and B need a token each
                    spans.append((first, p + 1))
                    owner.append(d)
                first, length = p + 1, 0
    document_pieces = first_piece[np.asarray(documents, dtype=np.int64).reshape(-1, 2)]
    return Chunks(piece_offsets, np.array(spans, dtype=np.int64).reshape(-1, 2), np.array(owner, dtype=np.int64),
                  document_pieces.astype(np.int64))


OBJECTIVES = ("sop", "nsp", "none")   # the sentence-level objective (the paper's Table 5 rows)


def check_objective(objective: str, chunks: Chunks | None = None) -> None:
    """A known objective; NSP also needs a second document to draw its random B from."""
    if objective not in OBJECTIVES:
        raise ValueError(f"--objective {objective!r} is not one of {', '.join(OBJECTIVES)}")
    if objective == "nsp" and chunks is not None and len(chunks.document_pieces) < 2:
        raise ValueError("--objective nsp needs at least two documents (its random B comes from another "
                         f"document), but the text has {len(chunks.document_pieces)}; separate documents with "
                         "blank lines in the corpus, or use --objective sop")


# ---- one instance --------------------------------------------------------------------------

def make_instance(corpus: TokenCorpus, chunks: Chunks, index: int, rng: np.random.Generator, max_seq_len: int,
                  vocab_size: int, max_predictions: int, masked_lm_prob: float = 0.15, max_ngram: int = 3,
                  word_starts: np.ndarray | None = None, objective: str = "sop") -> dict:
    """input_ids, token_type_ids, labels (IGNORE where not predicted), sentence_order_label and
    the masked spans [(start, tokens, words)] of chunk `index`. word_starts: word_start_table of
    the tokenizer (whole-word n-grams, the original's default) or None (n-grams of tokens).
    objective: "sop" (and "none", whose label goes unused) swaps A and B half the time (label 1);
    "nsp" replaces B half the time by text of another document (label 1, "b_document" says which).
    Either way label 0 = B follows A in the text."""
    first, end = (int(x) for x in chunks.spans[index])
    bounds = chunks.piece_offsets[first:end + 1]
    start, stop = int(bounds[0]), int(bounds[-1])
    if len(bounds) > 2:                                  # cut at a random piece boundary
        cut = int(bounds[rng.integers(1, len(bounds) - 1)])
    else:                                                # one piece: cut inside it
        cut = int(rng.integers(start + 1, stop))
    tokens = np.asarray(corpus.tokens[start:stop], dtype=np.int64)
    a, b = tokens[:cut - start], tokens[cut - start:]
    document = b_document = int(chunks.documents[index])
    swapped = bool(rng.random() < 0.5)                   # sop: swapped; nsp: B from another document
    if swapped and objective == "nsp":
        b_document, b = _random_b(corpus, chunks, document, len(b), rng)
    elif swapped:
        a, b = b, a
    a, b = _truncate_pair(a, b, max_seq_len - 3, rng)
    ids = np.concatenate([[CLS_ID], a, [SEP_ID], b, [SEP_ID]])
    types = np.concatenate([np.zeros(len(a) + 2, np.int64), np.ones(len(b) + 1, np.int64)])
    special = np.zeros(len(ids), bool)
    special[[0, len(a) + 1, len(ids) - 1]] = True
    word_start = None if word_starts is None else word_starts[ids]
    input_ids, labels, spans = mask_ngrams(ids, special, rng, vocab_size, max_predictions, masked_lm_prob, max_ngram,
                                           word_start)
    return {"input_ids": input_ids, "token_type_ids": types, "labels": labels,
            "sentence_order_label": int(swapped), "spans": spans, "document": document, "b_document": b_document}


def _random_b(corpus: TokenCorpus, chunks: Chunks, document: int, length: int, rng: np.random.Generator):
    """NSP's random B, as BERT's create_pretraining_data.py: another document (never this one),
    a random piece of it to start at, WHOLE pieces (sentences) up to about the true B's length
    (its target_b_length; the document's end may cut it shorter). (*) BERT adds sentences until
    the length is reached; here the piece boundary nearest to it ends B, so B's length matches
    on average. Either way B ends where a sentence ends, as the true B does: cut at exactly the
    true B's length, it ended mid-sentence almost always, and "B ends with a period" alone
    told NSP's labels apart about 72% of the time on the demo corpora. Returns (that document, its tokens)."""
    n_docs = len(chunks.document_pieces)
    assert n_docs >= 2, "NSP needs two documents (check_objective says so before any instance is drawn)"
    other = int(rng.integers(0, n_docs - 1))
    other += other >= document                           # uniform over the other documents
    first, end = (int(x) for x in chunks.document_pieces[other])
    p = int(rng.integers(first, end))
    bounds = chunks.piece_offsets[p:end + 1]
    begin = int(bounds[0])
    k = 1 + int(np.argmin(np.abs(bounds[1:] - (begin + length))))   # nearest sentence end, one piece at least
    return other, np.asarray(corpus.tokens[begin:int(bounds[k])], dtype=np.int64)


def _truncate_pair(a: np.ndarray, b: np.ndarray, budget: int, rng: np.random.Generator):
    keep_a, keep_b = truncated_lengths(len(a), len(b), budget)
    out = []
    for seg, keep in ((a, keep_a), (b, keep_b)):
        cut = len(seg) - keep
        front = int(rng.binomial(cut, 0.5)) if cut else 0
        out.append(seg[front:len(seg) - (cut - front)])
    return out


def ngram_probabilities(max_ngram: int = 3) -> np.ndarray:
    """p(n) proportional to 1/n for n = 1..max_ngram (the paper: 6/11, 3/11, 2/11 for 3)."""
    p = 1.0 / np.arange(1, max_ngram + 1)
    return p / p.sum()


def word_start_table(tokenizer) -> np.ndarray:
    """(V,) bool: does piece i begin a word? The original's rule for SentencePiece (_is_start_piece_sp):
    a piece starting with "▁" or "<", a lone punctuation mark, or a piece with any character that is
    neither an ASCII letter nor punctuation (digits, other scripts) starts a word; other pieces
    continue the word before them. Its punctuation set has no apostrophe, and neither has this one."""
    punctuation = set('!"#$%&()*+,-./:;?@[\\]^_`{|}~')
    letters = set("abcdefghijklmnopqrstuvwxyz")
    table = np.zeros(tokenizer.vocab_size, bool)
    for i in range(tokenizer.vocab_size):
        piece = tokenizer.sp.id_to_piece(i)
        table[i] = (piece.startswith(("▁", "<")) or piece in punctuation
                    or not all(c.lower() in letters or c in punctuation for c in piece))
    return table


def mask_ngrams(ids: np.ndarray, special: np.ndarray, rng: np.random.Generator, vocab_size: int,
                max_predictions: int, masked_lm_prob: float = 0.15, max_ngram: int = 3,
                word_start: np.ndarray | None = None):
    """ALBERT's n-gram masking of one sequence (see the module docstring): n-grams of whole words
    (word_start[i]: token i begins a word; None: every token is a word).
    Returns (input_ids, labels, spans): labels hold the original id at predicted positions and
    IGNORE elsewhere; spans are (start, tokens, words) in the order they were chosen."""
    n_tokens = len(ids)
    num_to_predict = min(max_predictions, max(1, int(round(n_tokens * masked_lm_prob))))
    if word_start is None:
        begins = ~special
    else:                                                                 # a segment's first token starts a word
        begins = ~special & (word_start | np.concatenate([[True], special[:-1]]))
    word_begin = np.flatnonzero(begins)                                   # (W,) first token of each word
    edges = np.append(np.flatnonzero(begins | special), n_tokens)
    word_end = edges[np.searchsorted(edges, word_begin, side="right")]    # (W,) one past its last token
    # Words left in the segment from word j on: n-grams never cross [SEP].
    segment = np.searchsorted(np.flatnonzero(special), word_begin, side="right")
    words_left = np.searchsorted(segment, segment, side="right") - np.arange(len(word_begin))
    order = rng.permutation(len(word_begin))
    drawn = rng.choice(np.arange(1, max_ngram + 1), size=len(word_begin), p=ngram_probabilities(max_ngram))
    covered = np.zeros(n_tokens, bool)
    spans: list[tuple[int, int, int]] = []
    count = 0
    for j in order:
        if count >= num_to_predict:
            break
        begin, n = int(word_begin[j]), min(int(drawn[j]), int(words_left[j]))
        while n > 1 and word_end[j + n - 1] - begin > num_to_predict - count:
            n -= 1                                        # shorter n-grams when over budget, as the original
        end = int(word_end[j + n - 1])
        if end - begin > num_to_predict - count or covered[begin:end].any():
            continue                                      # a word too long for the budget, or overlap
        covered[begin:end] = True
        spans.append((begin, end - begin, n))
        count += end - begin
    positions = np.flatnonzero(covered)
    labels = np.full(n_tokens, IGNORE, np.int64)
    labels[positions] = ids[positions]
    out = ids.copy()
    choice = rng.random(len(positions))                   # per token, as the original: 80% [MASK],
    keep_or_random = rng.random(len(positions))           # then 10% keep, 10% random
    random_ids = rng.integers(FIRST_NORMAL_ID, max(vocab_size, FIRST_NORMAL_ID + 1), len(positions))
    replacement = np.where(choice < 0.8, MASK_ID, np.where(keep_or_random < 0.5, ids[positions], random_ids))
    out[positions] = replacement
    return out, labels, spans


class InstanceStream:
    """The run's instances as one endless sequence: instance k is chunk order_e[k mod C] of epoch
    e = k // C, where order_e is a permutation seeded by (seed, e); each epoch re-draws the
    segment cut, the swap and the masks (dynamic masking) from (seed, e, chunk)."""

    def __init__(self, corpus: TokenCorpus, chunks: Chunks, seed: int, max_seq_len: int, vocab_size: int,
                 max_predictions: int, masked_lm_prob: float = 0.15, max_ngram: int = 3,
                 word_starts: np.ndarray | None = None, objective: str = "sop"):
        if not len(chunks):
            raise ValueError("the corpus yields no training instance (every document is shorter than 2 tokens)")
        check_objective(objective, chunks)
        self.corpus, self.chunks, self.seed = corpus, chunks, seed
        self.options = dict(max_seq_len=max_seq_len, vocab_size=vocab_size, max_predictions=max_predictions,
                            masked_lm_prob=masked_lm_prob, max_ngram=max_ngram, word_starts=word_starts,
                            objective=objective)
        self._order: tuple[int, np.ndarray] | None = None

    def order(self, epoch: int) -> np.ndarray:
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, np.random.default_rng([self.seed, 2, epoch]).permutation(len(self.chunks)))
        return self._order[1]

    def __getitem__(self, k: int) -> dict:
        epoch, position = divmod(int(k), len(self.chunks))
        index = int(self.order(epoch)[position])
        rng = np.random.default_rng([self.seed, 3, epoch, index])
        return make_instance(self.corpus, self.chunks, index, rng, **self.options)


def collate_pretraining(instances: Sequence[dict], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Pad to the longest instance: input_ids, token_type_ids, attention_mask, labels (B, T) and
    sentence_order_label (B,)."""
    T = max(len(x["input_ids"]) for x in instances)
    B = len(instances)
    batch = {"input_ids": torch.full((B, T), pad_id, dtype=torch.long),
             "token_type_ids": torch.zeros((B, T), dtype=torch.long),
             "attention_mask": torch.zeros((B, T), dtype=torch.long),
             "labels": torch.full((B, T), IGNORE, dtype=torch.long)}
    for i, x in enumerate(instances):
        n = len(x["input_ids"])
        batch["input_ids"][i, :n] = torch.from_numpy(x["input_ids"])
        batch["token_type_ids"][i, :n] = torch.from_numpy(x["token_type_ids"])
        batch["attention_mask"][i, :n] = 1
        batch["labels"][i, :n] = torch.from_numpy(x["labels"])
    batch["sentence_order_label"] = torch.tensor([x["sentence_order_label"] for x in instances], dtype=torch.long)
    return batch
