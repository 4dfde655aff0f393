"""The original ALBERT tokenization rule: the google-research preprocessing, SentencePiece and the
digit-comma re-split, which the released checkpoints were trained on (and so transformers 4.x's
SentencePiece AlbertTokenizer). `AlbertTokenizer` (tokenizer.py) adds the Hugging Face-style call
API (pairs, truncation, padding, tensors, files) on top of `SentencePieceRule`.

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

import os
import re
import unicodedata
from pathlib import Path
from typing import Sequence

import sentencepiece as spm

UNDERLINE = "\u2581"  # "▁": SentencePiece's word-start marker
# ALBERT's id layout; train_sentencepiece produces it and the constructor checks it.
SPECIAL_TOKENS = {"<pad>": 0, "<unk>": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
_SPECIAL_RE = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")
# Python's str.isspace, which the original " ".join(text.strip().split()) splits on (it counts
# \x1c-\x1f, which Rust's char::is_whitespace and so transformers 5 do not).
_WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + \
    "\u2028\u2029\u202f\u205f\u3000"
_WS_TABLE = str.maketrans({c: " " for c in _WHITESPACE})


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


class SentencePieceRule:
    """Ids, pieces and character offsets of text by the original rule (module docstring).
    Special ids: pad 0, unk 1, [CLS] 2, [SEP] 3, [MASK] 4."""


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
