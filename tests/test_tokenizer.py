"""AlbertTokenizer against transformers' AlbertTokenizer (5.x) on SentencePiece models trained here
from the shipped corpus plus hard strings. transformers 5.x is a SECOND comparison, not the judge:
the judge is the original ALBERT rule (tests/test_tokenizer_reference.py). Where transformers 5.x
departs from that rule (HF5_DIFFERS below, pinned by test_tokenizer_reference.py), texts with those
characters are left out of the comparisons here. Offline; a few seconds."""
import json
import random
import unicodedata
from pathlib import Path

import pytest
import sentencepiece as spm
import torch

from albert_bench.modeling.tokenizer import AlbertTokenizer, normalize_text, train_sentencepiece, truncated_lengths

transformers = pytest.importorskip("transformers")
pytest.importorskip("google.protobuf")  # transformers needs protobuf to read a bare spiece.model
HFTokenizer = transformers.AlbertTokenizer

CORPUS = Path(__file__).resolve().parents[1] / "albert_bench" / "demo" / "corpus.txt"
EXTRA_LINES = [  # so the vocabulary has pieces for the test strings' scripts (some stay unknown)
    "Ångström met the naïve café owner in Zürich.", "Привет, как дела? Это Москва.",
    "Καλημέρα, η θάλασσα είναι ήρεμη.", "我们在北京学习中文。", "It cost 1,250.50 dollars and 2,000, and more.",
]
STRINGS = [
    "The man worked as a [MASK].", "Hello [MASK] world", "Hello[MASK]world", "x  [MASK]  y", "[MASK]",
    "[MASK][MASK] two masks", "a [CLS] b [SEP] <pad> <unk> [mask] c",
    "café naïve Ångström résumé", "cafe\u0301 decomposed accent", "``quoted'' and \"straight\" '''odd'''",
    "It cost 1,250.50 dollars", "2,000, and 3,000,000, or 12,5", "  runs   of\tspaces\tand\n\nnewlines  ",
    "我们在北京学习中文。", "Привет, как дела?", "Η θάλασσα ΟΔΟΣ", "İstanbul straße ﬁnal ① ½", "",
    "   ", "\t\n", "ｆｕｌｌ\u3000ｗｉｄｔｈ", "zero\u200bwidth and\u00a0nbsp\u2028line", "a\u0903b\u20ddc",
    "한국어 text", "emoji 🙂 ok", "ALL CAPS WORDS", "end with space ",
]
# Characters on which transformers 5.x (built from a bare spiece.model) departs from the original rule:
# capital sigma (no final-sigma rule), marks that are not combining characters (it drops all of
# category M), \x1c-\x1f (not whitespace to it; deleted instead of splitting words).
HF5_DIFFERS = "\u03a3\u0903\u20dd\x1c\x1d\x1e\x1f"
SAME_AS_HF5 = [t for t in STRINGS if not any(c in t for c in HF5_DIFFERS)]
PAIRS = [("The man worked as a [MASK].", "He drove a car."), ("", "only second"), ("only first", ""),
         ("café ``x''", "2,000, and Привет")]


@pytest.fixture(scope="session")
def spiece_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("tok")
    corpus = root / "corpus.txt"
    corpus.write_text(CORPUS.read_text(encoding="utf-8") + "\n".join(EXTRA_LINES * 20) + "\n", encoding="utf-8")
    path = train_sentencepiece(corpus, root / "model", vocab_size=2000)
    assert path == root / "model" / "spiece.model"
    return path.parent


@pytest.fixture(scope="session")
def tok(spiece_dir):
    return AlbertTokenizer.from_pretrained(spiece_dir)


@pytest.fixture(scope="session")
def hf(spiece_dir):
    return HFTokenizer.from_pretrained(spiece_dir)


def hf_call(hf, *args, **kwargs):
    """transformers' output as plain lists. A single pair goes through the batch path (the same ids,
    except that a single call treats text_pair="" as no pair, as we do, and a batch as an empty pair)."""
    single_pair = len(args) == 2 and isinstance(args[0], str)
    if single_pair:
        args = ([args[0]], [args[1]])
    out = hf(*args, return_token_type_ids=True, **kwargs)
    out = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in out.items()}
    return {k: v[0] for k, v in out.items()} if single_pair else out


def test_special_ids_and_vocab(tok, hf):
    assert (tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id) == (0, 1, 2, 3, 4)
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    assert tok.vocab_size == len(hf) and 500 < tok.vocab_size <= 2000
    assert [hf.pad_token_id, hf.unk_token_id, hf.cls_token_id, hf.sep_token_id, hf.mask_token_id] == [0, 1, 2, 3, 4]
    ids = list(range(tok.vocab_size))
    assert tok.convert_ids_to_tokens(ids) == hf.convert_ids_to_tokens(ids)
    pieces = tok.convert_ids_to_tokens(ids) + ["not-a-piece"]
    assert tok.convert_tokens_to_ids(pieces) == hf.convert_tokens_to_ids(pieces)


@pytest.mark.parametrize("text", SAME_AS_HF5)
def test_single_text_matches_transformers(tok, hf, text):
    ours, ref = tok(text), hf_call(hf, text)
    assert ours == ref
    assert tok.encode(text) == hf(text, add_special_tokens=False)["input_ids"]
    if "한" not in text:  # unknown Hangul: transformers shows the NFKD-recomposed surface, we the decomposed one
        assert tok.tokenize(text) == hf.tokenize(text)


def test_random_strings_match_transformers(tok, hf):
    """Fuzz over the characters where normalizers usually disagree (the reference test fuzzes
    HF5_DIFFERS too)."""
    rng = random.Random(0)
    alphabet = ["abc", "XYZ", "é", "É", "ñ", "ü", "1", "2,", ",", ".", "'", "`", '"', " ", "  ", "\t", "\n",
                "ς", "İ", "ß", "ﬁ", "①", "我", "Э", "\u0301", "\u200b", "\x85", "[MASK]", "<unk>", "[SEP]"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(400)]
    assert tok(texts)["input_ids"] == hf(texts)["input_ids"]
    assert tok.encode_batch(texts) == hf(texts, add_special_tokens=False)["input_ids"]
    for t in texts:
        assert tok.decode(tok.encode(t)) == hf.decode(hf(t)["input_ids"], skip_special_tokens=True)


@pytest.mark.parametrize("flags", [dict(keep_accents=True), dict(do_lower_case=False),
                                   dict(keep_accents=True, do_lower_case=False)])
def test_flags_round_trip_and_match_transformers(tok, tmp_path, flags):
    ours = AlbertTokenizer(tok.spiece_path, **flags)
    ours.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert {k: saved[k] for k in flags} == flags
    reloaded = AlbertTokenizer.from_pretrained(tmp_path)
    assert (reloaded.do_lower_case, reloaded.keep_accents) == (ours.do_lower_case, ours.keep_accents)
    ref = HFTokenizer.from_pretrained(tmp_path)
    texts = [t for t in SAME_AS_HF5 if "ｆ" not in t]  # see test_known_difference_control_piece_from_normalization
    assert reloaded(texts) == hf_call(ref, texts)


def test_save_pretrained_round_trip(tok, tmp_path):
    written = tok.save_pretrained(tmp_path / "saved")
    assert sorted(p.name for p in written) == ["special_tokens_map.json", "spiece.model", "tokenizer_config.json"]
    ref = HFTokenizer.from_pretrained(tmp_path / "saved")
    seconds = [SAME_AS_HF5[(k * 7) % len(SAME_AS_HF5)] or "x" for k in range(len(SAME_AS_HF5))]
    assert tok(SAME_AS_HF5, seconds) == hf_call(ref, SAME_AS_HF5, seconds)
    assert ref.mask_token == "[MASK]" and ref.cls_token == "[CLS]"
    assert not list((tmp_path / "saved").glob("*.tmp")), "atomic writes leave no temporary files"


def test_pairs_and_batches_match_transformers(tok, hf):
    for a, b in PAIRS:
        # an empty second text is no pair ([CLS] A [SEP]), as in transformers' single call
        single = hf(a, b, return_token_type_ids=True)
        assert tok(a, b) == {k: single[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
        assert tok(a, b) == (tok(a) if b == "" else hf_call(hf, a, b))
        ids, types = tok.build_inputs(tok.encode(a), tok.encode(b))
        assert (ids, types) == (hf_call(hf, a, b)["input_ids"], hf_call(hf, a, b)["token_type_ids"])
    a, b = [p[0] for p in PAIRS], [p[1] for p in PAIRS]
    # in a batch too (transformers' batch path would give [CLS] A [SEP] [SEP] for the empty one)
    assert tok(a, b) == {k: [tok(x, y)[k] for x, y in PAIRS] for k in ("input_ids", "token_type_ids", "attention_mask")}
    assert tok(list(PAIRS)) == tok(a, b)          # list of (text, pair) tuples
    assert tok(SAME_AS_HF5) == hf_call(hf, SAME_AS_HF5)


@pytest.mark.parametrize("strategy", ["longest_first", "only_first", "only_second", True])
def test_truncation_matches_transformers(tok, hf, strategy):
    texts = ["one two three four five six seven eight nine ten eleven", "a b c d e", "x", ""]
    for a in texts:
        for b in [None] + texts:
            for max_length in range(2 if b is None else 3, 20):
                args = (a,) if b is None else (a, b)
                try:  # an empty second text is no pair (the reference is then the single text)
                    ref = hf_call(hf, *args[:1 if b == "" else 2], truncation=strategy, max_length=max_length)
                except Exception:   # transformers' Rust error: the sequence to cut is too short
                    with pytest.raises(ValueError):
                        tok(*args, truncation=strategy, max_length=max_length)
                    continue
                ours = tok(*args, truncation=strategy, max_length=max_length)
                if ours != ref:  # the one known difference: which side keeps the odd token (see below)
                    assert strategy in ("longest_first", True) and _odd_token_swap(ours, ref), (a, b, max_length)
                    continue
                assert ours == ref, (a, b, max_length)


def _odd_token_swap(ours, ref) -> bool:
    """Both sides cut, and A and B lengths are swapped between us (original rule) and transformers 5."""
    def lengths(out):
        return out["token_type_ids"].count(0) - 2, out["token_type_ids"].count(1) - 1
    (oa, ob), (ra, rb) = lengths(ours), lengths(ref)
    return (oa, ob) == (rb, ra) and oa == ob + 1


def test_truncated_lengths_grid_matches_transformers(hf):
    """Every length combination through transformers, one token per word ("▁the" is one piece)."""
    swaps = 0
    for n_a in range(0, 7):
        for n_b in range(0, 7):
            a, b = " ".join(["the"] * n_a), " ".join(["the"] * n_b)
            for budget in range(0, 13):
                out = hf_call(hf, a, b, truncation="longest_first", max_length=budget + 3)
                ref = (out["token_type_ids"].count(0) - 2, out["token_type_ids"].count(1) - 1)
                ours = truncated_lengths(n_a, n_b, budget, "longest_first")
                if ours != ref:
                    # Known difference: when both are cut to an odd budget, the original rule leaves A the
                    # odd token, transformers 5 the originally longer one (B on a tie).
                    assert ours == (ref[1], ref[0]) and ours[0] == ours[1] + 1 and n_b >= n_a, (n_a, n_b, budget)
                    swaps += 1
    assert swaps > 0


def test_truncate_pair_and_max_length_default(tok, hf):
    a, b = tok.encode("one two three four five six"), tok.encode("a b c")
    assert tok.truncate_pair(a, b, 4) == (a[:2], b[:2])
    assert tok.truncate_pair(a, None, 4) == (a[:4], None)
    assert tok.truncate_pair(a, b, 5, "only_first") == (a[:5 - len(b)], b)
    with pytest.raises(ValueError, match="only_second"):
        tok.truncate_pair(a, None, 3, "only_second")
    # transformers: max_length without truncation= truncates longest_first, unless padding is asked for
    assert tok("one two three four five six", max_length=5) == hf_call(hf, "one two three four five six", max_length=5)
    assert tok("one two three", max_length=3, padding="max_length") == \
        hf_call(hf, "one two three", max_length=3, padding="max_length")


@pytest.mark.parametrize("padding", [True, "longest", "max_length"])
def test_padding_and_tensors_match_transformers(tok, hf, padding):
    texts = ["The man worked as a [MASK].", "short", "", "a much longer sentence with many more words in it"]
    kwargs = dict(padding=padding, truncation=True, max_length=12, return_tensors="pt")
    ours, ref = tok(texts, **kwargs), hf(texts, return_token_type_ids=True, **kwargs)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert isinstance(ours[key], torch.Tensor) and ours[key].dtype == torch.long
        assert torch.equal(ours[key], ref[key]), key
    single = tok("short", padding="max_length", max_length=6, return_tensors="pt")
    assert single["input_ids"].shape == (1, 6) and single["attention_mask"].tolist() == [[1, 1, 1, 0, 0, 0]]
    seconds = [t or "x" for t in texts[::-1]]  # no empty second text: transformers' batch makes it a pair
    # an even budget (13 - 3 special tokens): no odd token whose side the two rules choose differently
    pairs = tok(texts, seconds, padding=padding, truncation=True, max_length=13, return_offsets_mapping=True)
    assert pairs["input_ids"] == hf_call(hf, texts, seconds, padding=padding, truncation=True,
                                         max_length=13)["input_ids"]
    assert all(len(o) == len(i) for o, i in zip(pairs["offset_mapping"], pairs["input_ids"]))


def test_decode_matches_transformers(tok, hf):
    for text in STRINGS:
        ids = hf(text)["input_ids"]
        assert tok.decode(ids) == hf.decode(ids, skip_special_tokens=True)
        assert tok.decode(ids, skip_special_tokens=False) == hf.decode(ids, skip_special_tokens=False)
    assert tok.decode(torch.tensor([2, 5, 3]), skip_special_tokens=False) == hf.decode([2, 5, 3])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([tok.vocab_size])


def _strip(piece):
    return piece.lstrip("\u2581")


@pytest.mark.parametrize("text", STRINGS)
def test_offsets_point_at_the_original_text(tok, hf, text):
    ids, offsets = tok.encode_with_offsets(text)
    assert ids == tok.encode(text) and len(offsets) == len(ids)
    pieces = tok.convert_ids_to_tokens(ids)
    prev = (0, 0)
    for piece, i, (s, e) in zip(pieces, ids, offsets):
        assert 0 <= s < e <= len(text), (piece, s, e)
        assert s >= prev[0] and e >= prev[1], "offsets must be monotone"
        prev = (s, e)
        # a final sigma lowercases to "ς" only in context, so a piece cut out of the text shows "σ"
        original = normalize_text(text[s:e]).strip().replace("σ", "ς" if _strip(piece).endswith("ς") else "σ")
        if i in tok.all_special_ids and i != tok.unk_token_id:
            assert text[s:e] == piece                         # [MASK] written in the text
        elif i == tok.unk_token_id or _strip(piece) == "":
            assert original                                   # unknown span / a lone "▁" borrows a char
        else:                                                 # NFKC may expand (ﬁ -> f i, ½ -> 1⁄2)
            assert _strip(piece) == original or _strip(piece) in unicodedata.normalize("NFKC", original), \
                (piece, text[s:e])
    # __call__ adds (0, 0) for [CLS]/[SEP]
    call = tok(text, return_offsets_mapping=True)
    assert call["offset_mapping"] == [(0, 0), *offsets, (0, 0)]
    # transformers' offsets agree except where we are deliberately different (see the next tests)
    ref = hf(text, return_offsets_mapping=True)["offset_mapping"]
    if "``" not in text and "''" not in text and text in SAME_AS_HF5:
        assert call["offset_mapping"] == [tuple(o) for o in ref]


def test_offsets_by_hand(tok):
    text = "  Café ``naïve''\tZÜRICH"
    ids, offsets = tok.encode_with_offsets(text)
    spans = {(text[s:e]) for s, e in offsets}
    # every original word, quote pair and accented letter is covered by the tokens of its span
    assert "``" in spans and "''" in spans, "a `` or '' that became one \" spans both characters"
    covered = set()
    for s, e in offsets:
        covered.update(range(s, e))
    assert covered == {i for i, c in enumerate(text) if not c.isspace()}
    words = tok.tokenize(text)
    assert words[0].startswith("\u2581") and offsets[0][0] == 2 and offsets[-1][1] == len(text)


def test_quote_offsets_differ_from_transformers_on_purpose(tok, hf):
    """transformers' Replace normalizer aligns the '"' made from `` to ONE backtick; we keep both, so
    text[start:end] normalizes to the token. Everything else in this string matches."""
    text = "say ``hi''"
    ours = tok(text, return_offsets_mapping=True)["offset_mapping"]
    ref = [tuple(o) for o in hf(text, return_offsets_mapping=True)["offset_mapping"]]
    quote_tokens = [k for k, t in enumerate(tok.convert_ids_to_tokens(tok(text)["input_ids"])) if '"' in t]
    assert [ours[k] for k in quote_tokens] == [(4, 6), (8, 10)]
    assert [ref[k] for k in quote_tokens] == [(5, 6), (9, 10)]
    assert [o for k, o in enumerate(ours) if k not in quote_tokens] == \
        [o for k, o in enumerate(ref) if k not in quote_tokens]


def test_deleted_control_characters_keep_offsets_right(tok, hf):
    """SentencePiece's normalizer deletes \\x1c; transformers' offsets then shift left by one (a
    tokenizers alignment bug); ours still point at the right characters. Ids are identical."""
    text = "\x1cüber alles"
    ids, offsets = tok.encode_with_offsets(text)
    assert ids == hf(text, add_special_tokens=False)["input_ids"]
    pieces = tok.convert_ids_to_tokens(ids)
    assert offsets[0][0] == 1 and all(s >= 1 for s, _ in offsets)
    assert [text[s:e] for p, (s, e) in zip(pieces, offsets) if _strip(p)][-1] == "alles"[-len(_strip(pieces[-1])):]
    assert hf(text, return_offsets_mapping=True)["offset_mapping"][1][0] == 0  # transformers: points at \x1c


def test_known_difference_control_piece_from_normalization(tok, hf):
    """A fullwidth "＜pad＞" NFKD-normalizes to "<pad>"; transformers' Unigram then matches the control
    piece (id 0) inside the text, SentencePiece never emits control pieces from text. We follow
    SentencePiece here (the id would be a padding token in the middle of the input)."""
    text = "a ＜pad＞ b"
    assert 0 in hf(text)["input_ids"]
    assert 0 not in tok(text)["input_ids"]


def test_encode_batch_is_the_batched_encode(tok, hf):
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:2000] + SAME_AS_HF5
    batch = tok.encode_batch(lines)
    assert batch[:50] == [tok.encode(t) for t in lines[:50]]
    assert batch == hf(lines, add_special_tokens=False)["input_ids"]


def test_digit_comma_rule(tmp_path):
    """The original ALBERT rule re-splits pieces like "▁22," into "▁22" + ",". transformers 5 built from a
    bare spiece.model does not (its hub tokenizer.json files emulate the rule with -100 scores), so on a
    model that HAS such pieces the two differ; train_sentencepiece's split_digits=True avoids them."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    path = train_sentencepiece(lines, tmp_path, vocab_size=2000, split_digits=False)
    sp = spm.SentencePieceProcessor(model_file=str(path))
    ours = AlbertTokenizer(path)
    found = [p for p in (sp.id_to_piece(i) for i in range(sp.get_piece_size())) if p[-1:] == "," and p[-2:-1].isdigit()]
    text = "they paid " + " then ".join(_strip(p) for p in found[:4]) + " and 1,250.50"
    pieces = sp.encode(normalize_text(text), out_type=str)
    assert any(len(p) > 1 and p[-1] == "," and p[-2].isdigit() for p in pieces), "model needs digit-comma pieces"
    # reference: the rule written out on the raw SentencePiece output
    expected = []
    for p in pieces:
        if len(p) > 1 and p[-1] == "," and p[-2].isdigit():
            sub = sp.encode(p[:-1].replace("\u2581", ""), out_type=str)
            if p[0] != "\u2581" and sub[0][0] == "\u2581":
                sub = sub[1:] if len(sub[0]) == 1 else [sub[0][1:]] + sub[1:]
            expected += sub + [","]
        else:
            expected.append(p)
    assert ours.tokenize(text) == expected
    assert ours.convert_ids_to_tokens(ours.encode(text)) == expected
    ids, offsets = ours.encode_with_offsets(text)
    assert len(offsets) == len(ids) and all(0 <= s < e <= len(text) for s, e in offsets)
    assert [text[s:e] for i, (s, e) in zip(ids, offsets) if i == ours.convert_tokens_to_ids(",")][:2] == [",", ","]
    ref = HFTokenizer.from_pretrained(tmp_path)
    assert ref(text, add_special_tokens=False)["input_ids"] != ours.encode(text)
    assert AlbertTokenizer(path, split_digit_comma=False).encode(text) == ref(text, add_special_tokens=False)["input_ids"]


def test_train_sentencepiece_is_deterministic_and_has_albert_layout(tmp_path):
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:1500]
    a = train_sentencepiece(lines, tmp_path / "a", vocab_size=800, seed=3)
    (tmp_path / "b.txt").write_text("\n".join(lines), encoding="utf-8")
    b = train_sentencepiece(tmp_path / "b.txt", tmp_path / "b", vocab_size=800, seed=3)
    assert a.read_bytes() == b.read_bytes()
    sp = spm.SentencePieceProcessor(model_file=str(a))
    assert [sp.id_to_piece(i) for i in range(5)] == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    assert sp.is_control(0) and sp.is_unknown(1) and all(sp.is_control(i) for i in (2, 3, 4))
    assert sp.get_piece_size() <= 800
    assert not any(c.isupper() for i in range(sp.get_piece_size()) for c in sp.id_to_piece(i)[1:] if i > 4)
    assert (tmp_path / "a" / "tokenizer_config.json").is_file()


def test_clear_errors(tok, tmp_path):
    with pytest.raises(FileNotFoundError, match="has no spiece.model"):
        AlbertTokenizer.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        AlbertTokenizer.from_pretrained(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        AlbertTokenizer(tmp_path / "nope.model")
    (tmp_path / "junk.model").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a SentencePiece model"):
        AlbertTokenizer(tmp_path / "junk.model")
    spm.SentencePieceTrainer.train(sentence_iterator=iter(CORPUS.read_text().splitlines()[:500]),
                                   model_prefix=str(tmp_path / "plain"), vocab_size=300, minloglevel=2)
    with pytest.raises(ValueError, match="special-token ids"):
        AlbertTokenizer(tmp_path / "plain.model")
    with pytest.raises(ValueError, match="only_second"):
        tok("just one text that is much too long to fit", truncation="only_second", max_length=5)
    with pytest.raises(ValueError, match="text 0: only_first"):
        tok("a", "one two three four five six", truncation="only_first", max_length=5)
    with pytest.raises(ValueError, match="needs max_length"):
        tok(["a", "b"], padding="max_length")
    with pytest.raises(ValueError, match="leaves no room"):
        tok("a", "b", truncation=True, max_length=2)   # transformers silently skips truncation here
    with pytest.raises(ValueError, match="padding=True"):
        tok(["a", "a longer text"], return_tensors="pt")
    with pytest.raises(TypeError, match="text 1 is int"):
        tok.encode_batch(["ok", 3])
    with pytest.raises(ValueError, match="as long as text"):
        tok(["a", "b"], ["c"])
    with pytest.raises(ValueError, match="no non-empty text"):
        train_sentencepiece(["", "  "], tmp_path / "empty")
