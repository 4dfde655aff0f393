"""The tokenized pretraining corpus on disk: one flat token array, memory-mapped.

    from albert_bench.pretraining.token_cache import build_token_cache
    corpus = build_token_cache(["wiki.txt"], tokenizer, "cache/")
    corpus.tokens[corpus.sentence_offsets[i]:corpus.sentence_offsets[i + 1]]   # sentence i
    corpus.document_offsets                                                      # (D+1,) into sentences

Corpus format (the original create_pretraining_data.py): one sentence per line, blank lines
between documents; here every file also starts a new document. The corpus is tokenized once in
batches of lines with the tokenizer's C++ batch encoder and written as one flat token array
(tokens.bin, uint16 or int32) plus sentence and document offsets, in a folder named by a hash
of the corpus bytes and the tokenizer, so a corpus of hundreds of MB is never held as Python
objects and a second run reuses the cache.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from albert_bench.io import atomic_write_json

CACHE_VERSION = 1


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
    h.update(repr((tokenizer.do_lower_case, tokenizer.keep_accents, tokenizer.remove_space,
                   tokenizer.split_digit_comma)).encode())
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
        bar = tqdm(desc="tokenize", unit="line", total=None, file=sys.stderr)
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
