"""Pretraining data for ALBERT: a token cache on disk, sentence-order pairs and n-gram masking.

    from albert_bench.pretrain_data import InstanceStream, build_token_cache, layout_chunks
    corpus = build_token_cache(["wiki.txt"], tokenizer, "cache/")   # flat token array, memory-mapped
    chunks = layout_chunks(corpus, corpus.document_ranges(), max_num_tokens=125, seed=0)
    stream = InstanceStream(corpus, chunks, seed=0, max_seq_len=128, vocab_size=30000, max_predictions=19)
    stream[k]      # the k-th training instance of the run: a dict of numpy arrays and the SOP label

Corpus format (the original create_pretraining_data.py): one sentence per line, blank lines
between documents; here every file also starts a new document. The corpus is tokenized once in
batches of lines with the tokenizer's C++ batch encoder and written as one flat token array
(tokens.bin, uint16 or int32) plus sentence and document offsets, in a folder named by a hash
of the corpus bytes and the tokenizer, so a corpus of hundreds of MB is never held as Python
objects and a second run reuses the cache.

Instances follow the original ALBERT code, with the deviations marked (*):
- A document is cut into chunks of whole sentences that fill a target length (max_seq_len - 3;
  with probability short_seq_prob, once per document as in the original, a random length in
  [2, max]). (*) Lines longer than the target are first cut into pieces of the target length,
  so no text is thrown away by truncation.
- A chunk is split at a random sentence boundary into segments A and B (consecutive text);
  half the time they are swapped: sentence_order_label 0 = original order, 1 = swapped.
  (*) A one-sentence chunk is split inside the sentence; the original took B from a random
  document then (a next-sentence-prediction leftover), which makes SOP partly NSP.
- The pair is truncated to the budget, longest first, each cut token taken from the front or
  the back of its segment at random (counts drawn as a binomial: the same distribution).
- Masking: num_to_predict = min(max_predictions, max(1, round(len(tokens) * 0.15))), tokens
  counting [CLS] and [SEP]. Candidate start positions are visited in random order; each draws
  n in {1, 2, 3} with p(n) proportional to 1/n (6/11, 3/11, 2/11), shortened to fit the
  remaining budget, and is skipped if it overlaps an earlier span. [CLS]/[SEP]/padding are
  never masked. (*) A span never crosses [SEP] (the original's could, since it skipped the
  special tokens when listing candidates); it is cut at the segment end instead.
- 80/10/10: as in the original code, the [MASK] / keep / random choice is drawn for EACH TOKEN
  of a span (the `for index in index_set` loop holds the coin flips), not once per span.
  (*) Random replacements are drawn from the non-special ids 5..V-1 (the original drew from
  the whole vocabulary, specials included).
- Every instance draws its randomness from its own generator seeded by (seed, epoch, chunk), so
  a batch is a pure function of the seed and the step: a resumed run sees the same batches.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from albert_bench.io import atomic_write_json
from albert_bench.tokenizer import truncated_lengths

CACHE_VERSION = 1
CLS_ID, SEP_ID, MASK_ID, FIRST_NORMAL_ID = 2, 3, 4, 5   # ALBERT's id layout (pad 0, unk 1)
IGNORE = -100                                            # label of positions not predicted


@dataclass
class TokenCorpus:
    """A tokenized corpus: tokens (N,), sentence_offsets (S+1,) into tokens, document_offsets
    (D+1,) into sentences. Arrays may be memory-mapped (the cache) or in memory (held-out text)."""
    tokens: np.ndarray
    sentence_offsets: np.ndarray
    document_offsets: np.ndarray
    directory: Path | None = None

    @property
    def num_sentences(self) -> int:
        return len(self.sentence_offsets) - 1

    @property
    def num_documents(self) -> int:
        return len(self.document_offsets) - 1

    def document_ranges(self) -> np.ndarray:
        """(D, 2) sentence ranges [start, end) of the documents."""
        return np.stack([self.document_offsets[:-1], self.document_offsets[1:]], axis=1)

    @classmethod
    def from_documents(cls, documents: Sequence[Sequence[Sequence[int]]]) -> "TokenCorpus":
        """In memory, from documents -> sentences -> token ids (empty ones dropped)."""
        docs = [[s for s in d if len(s)] for d in documents]
        docs = [d for d in docs if d]
        sentences = [s for d in docs for s in d]
        lengths = np.array([len(s) for s in sentences], dtype=np.int64)
        tokens = np.fromiter(chain.from_iterable(sentences), dtype=np.int32, count=int(lengths.sum()))
        return cls(tokens, np.concatenate([[0], np.cumsum(lengths)]),
                   np.concatenate([[0], np.cumsum([len(d) for d in docs])]).astype(np.int64))


# ---- the cache ---------------------------------------------------------------------------

def corpus_key(paths: Sequence[Path], tokenizer) -> str:
    """Hash of the corpus files' bytes (in order) and the tokenizer (model bytes and flags)."""
    h = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    for path in paths:
        h.update(str(os.path.getsize(path)).encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    h.update(tokenizer._model_bytes)
    h.update(repr((tokenizer.do_lower_case, tokenizer.keep_accents, tokenizer.remove_space)).encode())
    return h.hexdigest()[:20]


def check_corpus_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("--corpus: no corpus file given; pass one or more text files "
                         "(one sentence per line, blank lines between documents)")
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"--corpus: {path} does not exist or is not a file; pass text files "
                                    "with one sentence per line and blank lines between documents")
    return paths


def read_lines(paths: Sequence[Path]) -> Iterable[tuple[bool, str]]:
    """(starts_new_document, line) for every non-blank line; blank lines and new files end documents."""
    for path in paths:
        new_doc = True
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line:
                    new_doc = True
                    continue
                yield new_doc, line
                new_doc = False


def build_token_cache(paths: Sequence[str | os.PathLike], tokenizer, cache_dir: str | os.PathLike,
                      lines_per_batch: int = 20000, progress: bool = False) -> TokenCorpus:
    """Tokenize the corpus into cache_dir/<key>/ unless it is there already; return it memory-mapped."""
    paths = check_corpus_files(paths)
    folder = Path(cache_dir) / corpus_key(paths, tokenizer)
    if (folder / "meta.json").is_file():
        return load_token_cache(folder)
    tmp = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    dtype = np.uint16 if tokenizer.vocab_size <= np.iinfo(np.uint16).max + 1 else np.int32
    sentence_lengths: list[np.ndarray] = []
    doc_starts: list[int] = []          # sentence index where each document starts
    num_sentences = 0
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(desc="tokenize", unit="line", total=None)
    with open(tmp / "tokens.bin", "wb") as out:
        batch: list[tuple[bool, str]] = []

        def flush():
            nonlocal num_sentences
            ids = tokenizer.encode_batch([line for _, line in batch])
            lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
            for (new_doc, _), n in zip(batch, lengths):
                if new_doc or not doc_starts:
                    doc_starts.append(-1)           # open a document; its start is its first kept sentence
                if n and doc_starts[-1] == -1:
                    doc_starts[-1] = num_sentences
                num_sentences += bool(n)
            kept = lengths[lengths > 0]
            sentence_lengths.append(kept)
            flat = np.fromiter(chain.from_iterable(ids), dtype=dtype, count=int(kept.sum()))
            out.write(flat.tobytes())
            if bar is not None:
                bar.update(len(batch))
            batch.clear()

        for item in read_lines(paths):
            batch.append(item)
            if len(batch) >= lines_per_batch:
                flush()
        if batch:
            flush()
    if bar is not None:
        bar.close()
    lengths = np.concatenate(sentence_lengths) if sentence_lengths else np.zeros(0, np.int64)
    starts = [s for s in doc_starts if s != -1]        # documents whose lines all encoded empty vanish
    if not len(lengths):
        shutil.rmtree(tmp, ignore_errors=True)
        raise ValueError(f"--corpus: {', '.join(map(str, paths))} holds no text the tokenizer encodes")
    np.save(tmp / "sentence_offsets.npy", np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
    np.save(tmp / "document_offsets.npy", np.array(starts + [len(lengths)], dtype=np.int64))
    atomic_write_json(tmp / "meta.json", {
        "version": CACHE_VERSION, "dtype": np.dtype(dtype).name, "num_tokens": int(lengths.sum()),
        "num_sentences": int(len(lengths)), "num_documents": len(starts),
        "files": [str(p) for p in paths], "tokenizer": str(tokenizer.spiece_path)})
    if folder.exists():                                 # another process won the race: keep its copy
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.replace(tmp, folder)
    return load_token_cache(folder)


def load_token_cache(folder: str | os.PathLike) -> TokenCorpus:
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if meta.get("version") != CACHE_VERSION:
        raise ValueError(f"{folder} is a token cache of version {meta.get('version')}, not {CACHE_VERSION}; "
                         "delete the folder and it is rebuilt")
    tokens = np.memmap(folder / "tokens.bin", dtype=meta["dtype"], mode="r", shape=(meta["num_tokens"],))
    return TokenCorpus(tokens, np.load(folder / "sentence_offsets.npy"), np.load(folder / "document_offsets.npy"),
                       folder)


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
    longer one); spans: (C, 2) piece ranges [first, end) of the chunks, each one instance's text."""
    piece_offsets: np.ndarray
    spans: np.ndarray

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
    for doc_start, doc_end in documents.tolist():
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
                first, length = p + 1, 0
    return Chunks(piece_offsets, np.array(spans, dtype=np.int64).reshape(-1, 2))


# ---- one instance --------------------------------------------------------------------------

def make_instance(corpus: TokenCorpus, chunks: Chunks, index: int, rng: np.random.Generator, max_seq_len: int,
                  vocab_size: int, max_predictions: int, masked_lm_prob: float = 0.15, max_ngram: int = 3) -> dict:
    """input_ids, token_type_ids, labels (IGNORE where not predicted), sentence_order_label and
    the masked spans [(start, n)] of chunk `index`."""
    first, end = (int(x) for x in chunks.spans[index])
    bounds = chunks.piece_offsets[first:end + 1]
    start, stop = int(bounds[0]), int(bounds[-1])
    if len(bounds) > 2:                                  # cut at a random piece boundary
        cut = int(bounds[rng.integers(1, len(bounds) - 1)])
    else:                                                # one piece: cut inside it
        cut = int(rng.integers(start + 1, stop))
    tokens = np.asarray(corpus.tokens[start:stop], dtype=np.int64)
    a, b = tokens[:cut - start], tokens[cut - start:]
    swapped = bool(rng.random() < 0.5)
    if swapped:
        a, b = b, a
    a, b = _truncate_pair(a, b, max_seq_len - 3, rng)
    ids = np.concatenate([[CLS_ID], a, [SEP_ID], b, [SEP_ID]])
    types = np.concatenate([np.zeros(len(a) + 2, np.int64), np.ones(len(b) + 1, np.int64)])
    special = np.zeros(len(ids), bool)
    special[[0, len(a) + 1, len(ids) - 1]] = True
    input_ids, labels, spans = mask_ngrams(ids, special, rng, vocab_size, max_predictions, masked_lm_prob, max_ngram)
    return {"input_ids": input_ids, "token_type_ids": types, "labels": labels,
            "sentence_order_label": int(swapped), "spans": spans}


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


def mask_ngrams(ids: np.ndarray, special: np.ndarray, rng: np.random.Generator, vocab_size: int,
                max_predictions: int, masked_lm_prob: float = 0.15, max_ngram: int = 3):
    """ALBERT's n-gram masking of one sequence (see the module docstring).
    Returns (input_ids, labels, spans): labels hold the original id at predicted positions and
    IGNORE elsewhere; spans are (start, length) in the order they were chosen."""
    n_tokens = len(ids)
    num_to_predict = min(max_predictions, max(1, int(round(n_tokens * masked_lm_prob))))
    candidates = np.flatnonzero(~special)
    # run[j]: how many consecutive non-special tokens start at candidates[j] (spans stop at [SEP]).
    stops = np.append(np.flatnonzero(special), n_tokens)                  # next special (or the end)
    run = stops[np.searchsorted(stops, np.arange(n_tokens))] - np.arange(n_tokens)
    order = rng.permutation(len(candidates))
    drawn = rng.choice(np.arange(1, max_ngram + 1), size=len(candidates), p=ngram_probabilities(max_ngram))
    covered = np.zeros(n_tokens, bool)
    spans: list[tuple[int, int]] = []
    count = 0
    for j in order:
        if count >= num_to_predict:
            break
        begin = int(candidates[j])
        n = min(int(drawn[j]), int(run[begin]), num_to_predict - count)  # shorter n-grams when over budget
        if covered[begin:begin + n].any():
            continue
        covered[begin:begin + n] = True
        spans.append((begin, n))
        count += n
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
                 max_predictions: int, masked_lm_prob: float = 0.15, max_ngram: int = 3):
        if not len(chunks):
            raise ValueError("the corpus yields no training instance (every document is shorter than 2 tokens)")
        self.corpus, self.chunks, self.seed = corpus, chunks, seed
        self.options = dict(max_seq_len=max_seq_len, vocab_size=vocab_size, max_predictions=max_predictions,
                            masked_lm_prob=masked_lm_prob, max_ngram=max_ngram)
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
