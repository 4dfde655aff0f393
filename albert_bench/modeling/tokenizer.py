"""ALBERT's SentencePiece tokenizer: ids identical to the original ALBERT tokenization (the
google-research preprocessing, SentencePiece, the digit-comma rule), which the released checkpoints
were trained on, and so to transformers 4.x's SentencePiece AlbertTokenizer.

    from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece
    spiece = train_sentencepiece(["some text", ...], "out/tokenizer", vocab_size=3000)
    tok = AlbertTokenizer.from_pretrained("out/tokenizer")
    tok("The man worked as a [MASK].", return_offsets_mapping=True)

The rule itself (preprocessing, SentencePiece, digit-comma, offsets) is preprocessing.py's
`SentencePieceRule`; this module is the call API on it: [CLS]/[SEP], pairs, truncation, padding,
tensors, the tokenizer files, and train_sentencepiece.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Iterable, Sequence

import sentencepiece as spm

from albert_bench.io import atomic_write, atomic_write_json
from albert_bench.modeling.preprocessing import (SPECIAL_TOKENS, SPECIAL_TOKENS_BY_ID, UNDERLINE,  # noqa: F401
                                                 SentencePieceRule, _check_texts, normalize_text)

_TRUNCATION = {True: "longest_first", "longest_first": "longest_first", "only_first": "only_first",
               "only_second": "only_second", False: None, "do_not_truncate": None, None: None}
_PADDING = {True: "longest", "longest": "longest", "max_length": "max_length", False: None,
            "do_not_pad": None, None: None}


class AlbertTokenizer(SentencePieceRule):
    """See the module docstring. Special ids: pad 0, unk 1, [CLS] 2, [SEP] 3, [MASK] 4."""

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return (f"AlbertTokenizer({str(self.spiece_path)!r}, vocab_size={self.vocab_size}, "
                f"do_lower_case={self.do_lower_case}, keep_accents={self.keep_accents})")

    # ------------------------------------------------------------------ files

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, **overrides) -> "AlbertTokenizer":
        """Load spiece.model (+ tokenizer_config.json flags) from a checkpoint directory."""
        directory = Path(directory)
        if directory.is_file() and directory.suffix == ".model":
            return cls(directory, **overrides)
        spiece = directory / "spiece.model"
        if not spiece.is_file():
            what = "is not a directory" if not directory.is_dir() else "has no spiece.model"
            raise FileNotFoundError(f"{directory} {what}: an ALBERT tokenizer directory holds spiece.model "
                                    f"(and tokenizer_config.json); build one with train_sentencepiece()")
        kwargs = {}
        config = directory / "tokenizer_config.json"
        if config.is_file():
            try:
                data = json.loads(config.read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise ValueError(f"{config}: not valid JSON ({err})") from err
            kwargs = {k: bool(data[k]) for k in ("do_lower_case", "keep_accents", "remove_space") if k in data}
        kwargs.update(overrides)
        return cls(spiece, **kwargs)

    def save_pretrained(self, directory: str | os.PathLike) -> list[Path]:
        """Write spiece.model, tokenizer_config.json and special_tokens_map.json (transformers reads them)."""
        directory = Path(directory)
        model_bytes = self._model_bytes

        def write_model(tmp: str) -> None:
            with open(tmp, "wb") as f:
                f.write(model_bytes)
        specials = {"bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "<unk>", "sep_token": "[SEP]",
                    "pad_token": "<pad>", "cls_token": "[CLS]", "mask_token": "[MASK]"}
        config = {"tokenizer_class": "AlbertTokenizer", "do_lower_case": self.do_lower_case,
                  "keep_accents": self.keep_accents, "remove_space": self.remove_space, **specials}
        return [atomic_write(directory / "spiece.model", write_model),
                atomic_write_json(directory / "tokenizer_config.json", config),
                atomic_write_json(directory / "special_tokens_map.json", specials)]

    # ------------------------------------------------------------------ model inputs

    def build_inputs(self, ids_a: Sequence[int], ids_b: Sequence[int] | None = None) -> tuple[list[int], list[int]]:
        """[CLS] A [SEP] (types 0) or [CLS] A [SEP] B [SEP] (types 0 for CLS+A+SEP, 1 for B+SEP)."""
        input_ids = [self.cls_token_id, *ids_a, self.sep_token_id]
        token_type_ids = [0] * len(input_ids)
        if ids_b is not None:
            input_ids += [*ids_b, self.sep_token_id]
            token_type_ids += [1] * (len(ids_b) + 1)
        return input_ids, token_type_ids

    def truncate_pair(self, ids_a: Sequence[int], ids_b: Sequence[int] | None, max_tokens: int,
                      strategy: str | bool = "longest_first") -> tuple[list[int], list[int] | None]:
        """Cut A (and B) to at most `max_tokens` content tokens in all (special tokens NOT counted),
        with transformers' (Rust tokenizers') rules; the end of a sequence is dropped."""
        n_a, n_b = truncated_lengths(len(ids_a), None if ids_b is None else len(ids_b), max_tokens, strategy)
        return list(ids_a[:n_a]), None if ids_b is None else list(ids_b[:n_b])

    def __call__(self, text: str | Sequence[str] | Sequence[tuple[str, str]],
                 text_pair: str | Sequence[str] | None = None, truncation: bool | str | None = None,
                 max_length: int | None = None, padding: bool | str = False, return_tensors: str | None = None,
                 return_offsets_mapping: bool = False) -> dict:
        """Model inputs for a text, a pair, or batches (a list of texts, with a list of pairs as text_pair,
        or a list of (text, pair) tuples). Returns dict(input_ids, token_type_ids, attention_mask
        [, offset_mapping]); lists of lists for batches, flat lists for one text, tensors with a batch
        dimension for return_tensors="pt" (or numpy arrays for "np")."""
        batched = isinstance(text, (list, tuple))
        texts_a, texts_b = _as_batch(text, text_pair, batched)
        if truncation not in _TRUNCATION or padding not in _PADDING:
            raise ValueError(f"truncation must be one of {list(_TRUNCATION)} (got {truncation!r}) and padding one "
                             f"of {list(_PADDING)} (got {padding!r})")
        # transformers: max_length without truncation or padding means longest_first truncation
        if truncation is None and max_length is not None and _PADDING[padding] is None:
            truncation = "longest_first"
        strategy, pad = _TRUNCATION[truncation], _PADDING[padding]
        if (strategy or pad == "max_length") and max_length is None:
            raise ValueError(f"truncation={truncation!r} / padding={padding!r} needs max_length=...")
        n_special = 2 if texts_b is None else 3
        if strategy and max_length < n_special:
            raise ValueError(f"max_length={max_length} leaves no room: {'a pair' if texts_b else 'a text'} needs "
                             f"{n_special} special tokens; use max_length >= {n_special + 1}")

        def encode_all(texts: list[str]) -> tuple[list[list[int]], list[list[tuple[int, int]]] | None]:
            if not return_offsets_mapping:
                return self.encode_batch(texts), None
            pairs = [self.encode_with_offsets(t) for t in texts]
            return [p[0] for p in pairs], [p[1] for p in pairs]

        ids_a, offs_a = encode_all(texts_a)
        ids_b, offs_b = encode_all(texts_b) if texts_b is not None else (None, None)
        rows = []
        for r in range(len(texts_a)):
            # An empty second text is no pair: [CLS] A [SEP], as the original classifier code
            # (`if example.text_b:`) and transformers' single calls do.
            a, b = ids_a[r], None if ids_b is None or texts_b[r] == "" else ids_b[r]
            n_a, n_b = len(a), None if b is None else len(b)
            if strategy:
                try:
                    n_a, n_b = truncated_lengths(n_a, n_b, max_length - (2 if b is None else 3), strategy)
                except ValueError as err:
                    raise ValueError(f"text {r}: {err}") from None
            input_ids, types = self.build_inputs(a[:n_a], None if b is None else b[:n_b])
            row = {"input_ids": input_ids, "token_type_ids": types, "attention_mask": [1] * len(input_ids)}
            if return_offsets_mapping:
                offsets = [(0, 0), *offs_a[r][:n_a], (0, 0)]
                if b is not None:
                    offsets += [*offs_b[r][:n_b], (0, 0)]
                row["offset_mapping"] = offsets
            rows.append(row)
        if pad:
            target = max_length if pad == "max_length" else max(len(row["input_ids"]) for row in rows)
            for row in rows:
                extra = target - len(row["input_ids"])
                if extra > 0:
                    row["input_ids"] += [self.pad_token_id] * extra
                    row["token_type_ids"] += [0] * extra
                    row["attention_mask"] += [0] * extra
                    if "offset_mapping" in row:
                        row["offset_mapping"] += [(0, 0)] * extra
        out = {key: [row[key] for row in rows] for key in rows[0]} if rows else \
            {"input_ids": [], "token_type_ids": [], "attention_mask": []}
        if return_tensors is not None:
            return _to_tensors(out, return_tensors)
        return out if batched else {key: value[0] for key, value in out.items()}


def truncated_lengths(n_a: int, n_b: int | None, budget: int, strategy: str | bool = "longest_first"
                      ) -> tuple[int, int | None]:
    """Lengths A and B keep so that n_a + n_b <= budget. longest_first is the original BERT/ALBERT
    `_truncate_seq_pair`: drop the last token of the longer sequence, of B on a tie, until it fits
    (so when both are cut, A keeps the odd token; transformers 5's Rust rule gives it to the
    originally longer one, to B on a tie). only_first / only_second cut one sequence and fail if it
    would have to vanish entirely."""
    strategy = _TRUNCATION.get(strategy, strategy)
    if strategy not in ("longest_first", "only_first", "only_second"):
        raise ValueError(f"unknown truncation strategy {strategy!r}; use longest_first, only_first or only_second")
    if budget < 0:
        raise ValueError(f"a truncation budget of {budget} tokens is negative")
    if budget == 0:                                    # cut everything, whatever the strategy
        return 0, None if n_b is None else 0
    if n_a + (n_b or 0) <= budget:
        return n_a, n_b
    if n_b is None:
        if strategy == "only_second":
            raise ValueError("truncation='only_second' needs a text pair")
        return budget, None
    if strategy == "longest_first":
        # The pop loop in closed form: first the longer one down to the shorter, then turns, B first.
        excess = n_a + n_b - budget
        cut = min(abs(n_a - n_b), excess)
        n_a, n_b = (n_a - cut, n_b) if n_a > n_b else (n_a, n_b - cut)
        excess -= cut
        return n_a - excess // 2, n_b - (excess + 1) // 2
    to_remove = n_a + n_b - budget
    target = n_a if strategy == "only_first" else n_b
    if target <= to_remove:
        which = "first" if strategy == "only_first" else "second"
        raise ValueError(f"{strategy}: the {which} sequence has {target} tokens but {to_remove} must go "
                         f"(budget {budget} for {n_a} + {n_b}); use longest_first or a larger max_length")
    return (n_a - to_remove, n_b) if strategy == "only_first" else (n_a, n_b - to_remove)


def _as_batch(text, text_pair, batched: bool) -> tuple[list[str], list[str] | None]:
    if not batched:
        if not isinstance(text, str) or not (text_pair is None or isinstance(text_pair, str)):
            raise TypeError("pass a str, a list of str, or a list of (text, pair) tuples "
                            f"(got text {type(text).__name__}, text_pair {type(text_pair).__name__})")
        return [text], None if text_pair is None else [text_pair]
    texts = list(text)
    if text_pair is None and texts and all(isinstance(t, (list, tuple)) and len(t) == 2 for t in texts):
        return _check_texts([t[0] for t in texts]), _check_texts([t[1] for t in texts])
    if text_pair is None:
        return _check_texts(texts), None
    if isinstance(text_pair, str) or len(text_pair) != len(texts):
        raise ValueError(f"text_pair must be a list as long as text ({len(texts)} texts)")
    return _check_texts(texts), _check_texts(text_pair)


def _to_tensors(out: dict, kind: str) -> dict:
    lengths = {len(row) for row in out["input_ids"]}
    if len(lengths) > 1:
        raise ValueError(f"cannot stack rows of lengths {sorted(lengths)} into one tensor; "
                         f"pass padding=True (and truncation=True, max_length=...)")
    if kind == "pt":
        import torch
        return {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}
    if kind == "np":
        import numpy as np
        return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}
    raise ValueError(f"return_tensors must be None, 'pt' or 'np', not {kind!r}")


def train_sentencepiece(texts_or_file: str | os.PathLike | Iterable[str], out_dir: str | os.PathLike,
                        vocab_size: int = 3000, seed: int = 0, do_lower_case: bool = True,
                        keep_accents: bool = False, split_digits: bool = True,
                        character_coverage: float = 0.9995) -> Path:
    """Train a unigram SentencePiece model with ALBERT's id layout; writes out_dir/spiece.model and the
    tokenizer files, returns the spiece.model path.

    Text is normalized exactly as the tokenizer will see it (lowercase, no accents), so no piece is
    wasted on forms that never occur. `vocab_size` is an upper bound: a small corpus yields fewer
    pieces instead of failing. split_digits=True makes every digit its own piece, so no piece can end
    in digit + "," and the digit-comma re-split never applies (the one place transformers 5 and the
    original ALBERT tokenizer disagree). Deterministic for a given corpus and seed.
    """
    if isinstance(texts_or_file, (str, os.PathLike)):
        path = Path(texts_or_file)
        if not path.is_file():
            raise FileNotFoundError(f"training text {path} does not exist (pass a text file or a list of strings)")
        lines = path.read_text(encoding="utf-8").splitlines()
    else:
        lines = list(texts_or_file)
        if any(not isinstance(t, str) for t in lines):
            raise TypeError("train_sentencepiece takes a path or a list of strings")
    lines = [normalize_text(t, do_lower_case, keep_accents).strip() for t in lines]
    lines = [t for t in lines if t]
    if not lines:
        raise ValueError("train_sentencepiece got no non-empty text to learn from")
    if vocab_size < 10:
        raise ValueError(f"vocab_size {vocab_size} is too small (5 ids are special tokens)")
    model = io.BytesIO()
    spm.set_random_generator_seed(seed)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, model_type="unigram", vocab_size=vocab_size,
        hard_vocab_limit=False, pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],         # ids 2, 3, 4 right after <pad> and <unk>
        character_coverage=character_coverage, split_digits=split_digits,
        input_sentence_size=0, shuffle_input_sentence=False, num_threads=1,   # one thread: same model every run
        minloglevel=2)
    out_dir = Path(out_dir)
    data = model.getvalue()

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
    spiece = atomic_write(out_dir / "spiece.model", write)
    AlbertTokenizer(spiece, do_lower_case=do_lower_case, keep_accents=keep_accents).save_pretrained(out_dir)
    return spiece
