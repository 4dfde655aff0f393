"""ALBERT's SentencePiece tokenizer: ids identical to the original ALBERT tokenization (the
google-research preprocessing, SentencePiece, the digit-comma rule), which the released checkpoints
were trained on, and so to transformers 4.x's SentencePiece AlbertTokenizer.

    from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece
    spiece = train_sentencepiece(["some text", ...], "out/tokenizer", vocab_size=3000)
    tok = AlbertTokenizer.from_pretrained("out/tokenizer")
    tok("The man worked as a [MASK].", return_offsets_mapping=True)

transformers 5.x's AlbertTokenizer (built on the `tokenizers` library) is NOT this rule: with the
Hub's tokenizer.json it re-adds "▁" after "-" and "(" ("well-made": ▁well - ▁made instead of
▁well - made), adds a "▁" before [SEP] when a text ends with a space and keeps "2000," as one piece;
even built from a bare spiece.model it drops every Unicode mark (not only combining marks) and
lowercases without Python's final-sigma rule. A model fine-tuned with transformers 5.x's tokenizer
and scored with this one (or the other way round) sees different inputs on such text.
tests/test_tokenizer.py writes the original rule out as the reference and lists those differences.

Pipeline for one text:
  1. split out special tokens written in the text (<pad> <unk> [CLS] [SEP] [MASK], exact case),
     as transformers 4.x did; each remaining segment starts a new word, so "a[MASK]b" encodes b as "▁b";
  2. per segment, the original `preprocess_text`: whitespace (Python's str.split) -> " ", `` and
     '' -> ", NFKD + drop combining characters (unicodedata.combining), Python's str.lower();
  3. SentencePiece (C++) applies the model's own normalizer (nmt_nfkc), splits on spaces and runs the
     unigram Viterbi search; consecutive unknown characters become one <unk>;
  4. the original ALBERT rule: a piece ending in "," after a digit is re-split (see `split_digit_comma`).
Character offsets into the original text are tracked through steps 1-2 and mapped through
SentencePiece's own offsets in step 3.
"""
from __future__ import annotations

import io
import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

import sentencepiece as spm

from albert_bench.io import atomic_write, atomic_write_json

UNDERLINE = "\u2581"  # "▁": SentencePiece's word-start marker
# ALBERT's id layout; train_sentencepiece produces it and the constructor checks it.
SPECIAL_TOKENS = {"<pad>": 0, "<unk>": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
_SPECIAL_RE = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")
# Python's str.isspace, which the original " ".join(text.strip().split()) splits on (it counts
# \x1c-\x1f, which Rust's char::is_whitespace and so transformers 5 do not).
_WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + \
    "\u2028\u2029\u202f\u205f\u3000"
_WS_TABLE = str.maketrans({c: " " for c in _WHITESPACE})
_TRUNCATION = {True: "longest_first", "longest_first": "longest_first", "only_first": "only_first",
               "only_second": "only_second", False: None, "do_not_truncate": None, None: None}
_PADDING = {True: "longest", "longest": "longest", "max_length": "max_length", False: None,
            "do_not_pad": None, None: None}


def normalize_text(text: str, do_lower_case: bool = True, keep_accents: bool = False,
                   remove_space: bool = True) -> str:
    """Step 2 of the module docstring for text without special tokens (fast, no offsets). Every
    whitespace character becomes " " (SentencePiece then collapses runs and strips the ends, as the
    original " ".join(text.strip().split()) does)."""
    if remove_space:
        text = text.translate(_WS_TABLE)
    text = text.replace("``", '"').replace("''", '"')
    if not keep_accents and not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    if do_lower_case:
        text = text.lower()  # with Python's final-sigma rule ("ΟΔΟΣ" -> "οδος"), as the original
    return text


class AlbertTokenizer:
    """See the module docstring. Special ids: pad 0, unk 1, [CLS] 2, [SEP] 3, [MASK] 4."""

    pad_token, unk_token, cls_token, sep_token, mask_token = "<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"
    pad_token_id, unk_token_id, cls_token_id, sep_token_id, mask_token_id = 0, 1, 2, 3, 4
    all_special_ids = (0, 1, 2, 3, 4)

    def __init__(self, spiece_path: str | os.PathLike, do_lower_case: bool = True, keep_accents: bool = False,
                 remove_space: bool = True, split_digit_comma: bool = True, num_threads: int | None = None):
        path = Path(spiece_path)
        if not path.is_file():
            raise FileNotFoundError(f"SentencePiece model {path} does not exist; pass the spiece.model of an "
                                    f"ALBERT checkpoint or build one with train_sentencepiece()")
        self.spiece_path = path
        self.do_lower_case = do_lower_case
        self.keep_accents = keep_accents
        self.remove_space = remove_space     # False: keep Unicode whitespace as is (SentencePiece still
        # collapses runs of plain spaces, as the original tokenizer did)
        # The original ALBERT (and XLNet) tokenizer re-splits "▁12," into "▁12" + ","; transformers 5 built
        # from a bare spiece.model does not (its hub tokenizer.json files emulate it with -100 scores).
        # Models from train_sentencepiece() have no such pieces, so the choice only matters for foreign ones.
        self.split_digit_comma = split_digit_comma
        self.num_threads = num_threads or min(os.cpu_count() or 1, 8)
        self._model_bytes = path.read_bytes()
        self.sp = spm.SentencePieceProcessor()
        try:
            self.sp.LoadFromSerializedProto(self._model_bytes)
        except (RuntimeError, OSError) as err:
            raise ValueError(f"{path} is not a SentencePiece model ({err})") from err
        for token, expected in SPECIAL_TOKENS.items():
            if self.sp.piece_to_id(token) != expected or self.sp.id_to_piece(expected) != token:
                raise ValueError(f"{path} does not have ALBERT's special-token ids (<pad>=0 <unk>=1 [CLS]=2 [SEP]=3 "
                                 f"[MASK]=4; {token} is id {self.sp.piece_to_id(token)}); train it with "
                                 f"albert_bench.modeling.tokenizer.train_sentencepiece()")
        self.vocab_size = self.sp.get_piece_size()
        self._digit_comma_ids = frozenset(
            i for i in range(self.vocab_size)
            if _ends_digit_comma(self.sp.id_to_piece(i))) if split_digit_comma else frozenset()
        self._removed_cache: dict[str, bool] = {}
        self._char_map: dict[str, str] = {}

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

    # ------------------------------------------------------------------ encoding

    def _normalize(self, segment: str) -> str:
        return normalize_text(segment, self.do_lower_case, self.keep_accents, self.remove_space)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Ids without [CLS]/[SEP] for many texts; SentencePiece encodes all segments in one C++ call."""
        texts = _check_texts(texts)
        parts = [_split_special(t) for t in texts]            # per text: [str segment | int special id]
        plain = [self._normalize(p) for ps in parts for p in ps if isinstance(p, str)]
        encoded = iter(self.sp.encode(plain, num_threads=self.num_threads) if plain else [])
        out = []
        for ps in parts:
            ids: list[int] = []
            for p in ps:
                ids.extend([p] if isinstance(p, int) else self._fix_digit_comma(next(encoded)))
            out.append(ids)
        return out

    def encode(self, text: str) -> list[int]:
        """Ids of one text without [CLS]/[SEP]."""
        return self.encode_batch([text])[0]

    def tokenize(self, text: str) -> list[str]:
        """Pieces of one text; unknown characters show as themselves (like transformers' tokenize)."""
        pieces = []
        for p in _split_special(_check_texts([text])[0]):
            if isinstance(p, int):
                pieces.append(self.sp.id_to_piece(p))
                continue
            norm = self._normalize(p)
            ids = self.sp.encode(norm)
            if self._digit_comma_ids and any(i in self._digit_comma_ids for i in ids):
                pieces.extend(self.sp.id_to_piece(i) for i in self._fix_digit_comma(ids))
            else:
                pieces.extend(self.sp.encode(norm, out_type=str))
        return pieces

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids (no [CLS]/[SEP]) and, per id, the (start, end) character span in the ORIGINAL text.

        A token's span covers the original characters its normalized characters came from (so a `` that
        became " spans both backticks, an accented letter spans its one original character), without the
        space its "▁" stands for. A lone "▁" piece gets the span of the character after it, as in
        transformers, so that (0, 0) stays reserved for special tokens.
        """
        text = _check_texts([text])[0]
        ids: list[int] = []
        offsets: list[tuple[int, int]] = []
        pos = 0
        for p in _split_special(text):
            if isinstance(p, int):
                width = len(SPECIAL_TOKENS_BY_ID[p])
                ids.append(p)
                offsets.append((pos, pos + width))
                pos += width
                continue
            norm, starts, ends = self._normalize_with_spans(p, pos)
            pos += len(p)
            enc = self.sp.encode(norm, out_type="offset_mapping")
            dropped = self._is_dropped
            pieces: list[tuple[int, int, int]] = []      # (id, first, last + 1) in norm; first == last: none
            for i, (b, e) in zip(enc["ids"], enc["offsets"]):
                while b < e and dropped(norm[b]):        # the space a "▁" stands for, deleted characters
                    b += 1
                while e > b and dropped(norm[e - 1]):
                    e -= 1
                if i in self._digit_comma_ids:
                    chars = [k for k in range(b, e) if not dropped(norm[k])]
                    pieces.extend((sub, c[0], c[-1] + 1) if c else (sub, 0, 0)
                                  for sub, c in self._split_digit_comma_piece(i, chars))
                else:
                    pieces.append((i, b, e))
            # norm positions -> original spans (starts / ends are non-decreasing); a lone "▁" borrows the
            # first character of the token after it
            resolved: list[tuple[int, int]] = []
            next_first = (pos, pos)
            for i, b, e in reversed(pieces):
                if b < e:
                    resolved.append((starts[b], ends[e - 1]))
                    next_first = (starts[b], ends[b])
                else:
                    resolved.append(next_first)
            ids.extend(i for i, _, _ in pieces)
            offsets.extend(reversed(resolved))
        return ids, offsets

    def _normalize_with_spans(self, segment: str, base: int) -> tuple[str, Sequence[int], Sequence[int]]:
        """`normalize_text` keeping, for every output character, the span [starts[k], ends[k]) of the
        original characters it came from (base = the segment's start in the full text)."""
        n = len(segment)
        if "``" in segment or "''" in segment:
            units, widths = [], []                      # `` and '' become one '"' of width 2
            i = 0
            while i < n:
                if segment[i] in "`'" and i + 1 < n and segment[i + 1] == segment[i]:
                    units.append('"')
                    widths.append(2)
                    i += 2
                else:
                    units.append(segment[i])
                    widths.append(1)
                    i += 1
        else:
            units, widths = segment, None
        if widths is None and segment.isascii():       # one character in, one character out
            return self._normalize(segment), range(base, base + n), range(base + 1, base + n + 1)
        table = self._char_map
        mapped = [table[c] if c in table else self._map_char(c) for c in units]
        norm = "".join(mapped)
        if self.do_lower_case and "\u03a3" in segment:
            # Capital sigma lowercases by context (final "ς"); the rest is char by char, 1:1 with it.
            whole = self._normalize(segment)
            norm = whole if len(whole) == len(norm) else norm
        if widths is None and len(norm) == n and all(len(m) == 1 for m in mapped):
            return norm, range(base, base + n), range(base + 1, base + n + 1)
        starts: list[int] = []
        ends: list[int] = []
        pos = base
        for k, m in enumerate(mapped):
            width = 1 if widths is None else widths[k]
            if m:
                starts.extend([pos] * len(m))
                ends.extend([pos + width] * len(m))
            pos += width
        return norm, starts, ends

    def _map_char(self, c: str) -> str:
        """One character through `normalize_text` (cached): spaces, NFKD without combining marks, lowercase."""
        m = c.translate(_WS_TABLE) if self.remove_space else c
        if not self.keep_accents and not m.isascii():
            m = "".join(d for d in unicodedata.normalize("NFKD", m) if not unicodedata.combining(d))
        if self.do_lower_case:
            m = "".join(d.lower() for d in m)
        self._char_map[c] = m
        return m

    def _is_dropped(self, char: str) -> bool:
        """Spaces and characters SentencePiece's normalizer deletes (e.g. \\x1c) belong to no token."""
        if char == " ":
            return True
        hit = self._removed_cache.get(char)
        if hit is None:
            hit = self._removed_cache[char] = self.sp.normalize(char) == ""
        return hit

    def _fix_digit_comma(self, ids: list[int]) -> list[int]:
        if not self._digit_comma_ids or not any(i in self._digit_comma_ids for i in ids):
            return ids
        out = []
        for i in ids:
            if i in self._digit_comma_ids:
                out.extend(sub for sub, _ in self._split_digit_comma_piece(i, []))
            else:
                out.append(i)
        return out

    def _split_digit_comma_piece(self, piece_id: int, chars: list[int]) -> list[tuple[int, list[int]]]:
        """The original rule: encode the piece without its comma again, then add the comma.
        `chars` (normalized char indices of the piece) are shared out in order among the new pieces."""
        piece = self.sp.id_to_piece(piece_id)
        subs = self.sp.encode(piece[:-1].replace(UNDERLINE, ""), out_type=str)
        if piece[0] != UNDERLINE and subs and subs[0][0] == UNDERLINE:
            subs = subs[1:] if len(subs[0]) == 1 else [subs[0][1:]] + subs[1:]
        subs.append(piece[-1])
        out, k = [], 0
        for sub in subs:
            width = len(sub.lstrip(UNDERLINE))
            out.append((self.sp.piece_to_id(sub), chars[k: k + width]))
            k += width
        return out

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

    # ------------------------------------------------------------------ ids <-> text

    def convert_ids_to_tokens(self, ids: int | Sequence[int]) -> str | list[str]:
        if isinstance(ids, int):
            return self._id_to_piece(ids)
        return [self._id_to_piece(int(i)) for i in ids]

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        """Unknown tokens map to <unk> (1), as in transformers."""
        if isinstance(tokens, str):
            return self.sp.piece_to_id(tokens)
        return [self.sp.piece_to_id(t) for t in tokens]

    def _id_to_piece(self, i: int) -> str:
        if not 0 <= i < self.vocab_size:
            raise ValueError(f"token id {i} is outside the vocabulary (0..{self.vocab_size - 1}) of {self.spiece_path}")
        return self.sp.id_to_piece(i)

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        """Text of ids as transformers decodes it: pieces joined, "▁" -> " ", and the first token's
        leading space dropped (so "[CLS] the man ...[SEP]" without skipping specials)."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        if isinstance(ids, int):
            ids = [ids]
        special = set(self.all_special_ids)
        pieces = [self._id_to_piece(int(i)) for i in ids if not (skip_special_tokens and int(i) in special)]
        text = "".join(pieces).replace(UNDERLINE, " ")
        if pieces and pieces[0].startswith(UNDERLINE):
            text = text[1:]
        return text


SPECIAL_TOKENS_BY_ID = {i: t for t, i in SPECIAL_TOKENS.items()}


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


def _ends_digit_comma(piece: str) -> bool:
    return len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit()


def _split_special(text: str) -> list[str | int]:
    """Text -> segments (str) and special-token ids (int) written in it, e.g. "a [MASK] b" -> ["a ", 4, " b"]."""
    if "<" not in text and "[" not in text:
        return [text]
    out: list[str | int] = []
    for k, part in enumerate(_SPECIAL_RE.split(text)):
        if k % 2:
            out.append(SPECIAL_TOKENS[part])
        elif part:
            out.append(part)
    return out


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("encode_batch takes a list of texts, not one string")
    texts = list(texts)
    for k, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"text {k} is {type(t).__name__}, not str")
    return texts


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
