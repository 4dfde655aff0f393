"""The judge of AlbertTokenizer: the original ALBERT tokenization, written out here from its
published definition (google-research/albert tokenization.py and the BERT/ALBERT classifier code),
which is what the released checkpoints were trained on:

  preprocess_text: " ".join(text.strip().split()), `` and '' -> ", NFKD and drop characters with
  unicodedata.combining(c) (keep_accents=False), str.lower() (do_lower_case=True);
  encode_pieces: SentencePiece's encode_as_pieces, then a piece ending in "," after a digit is
  re-split (the piece without the comma encoded again, its leading "▁" dropped when the piece had
  none, then ",");
  inputs: [CLS] A [SEP] (B [SEP]) with `_truncate_seq_pair` (pop from the longer, from B on a tie);
  an empty B is no pair (`if example.text_b:`).

transformers 5.x departs from this rule on some text: those differences are pinned at the end."""
import random
import unicodedata
from pathlib import Path

import pytest
import sentencepiece as spm

from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece, truncated_lengths

CORPUS = Path(__file__).resolve().parents[1] / "albert_bench" / "demo" / "corpus.txt"
UNDERLINE = "\u2581"
TEXTS = [
    "a well-made, low-budget film", "(parenthesized) words (and more)", "f(x) = (a-b)", "trailing space ",
    "   leading and  inner   spaces", "It cost 2,000, then 1,250.50 and 3,000,000, in 1999,", "2000, and 12,5",
    "``Hello,'' she said; \"fine\" 'ok' '''odd'''", "Café naïve Ångström résumé Zürich façade",
    "Η θάλασσα ΟΔΟΣ ΣΟΦΟΣ Σ", "नमस्ते दुनिया", "a\u0903b\u20ddc", "a\x1cb\x1fc", "x\u00a0y\u3000z", "MNLI-m (matched) GLUE's",
    "Привет, как дела? Москва-река", "我们在北京学习中文。", "İstanbul straße ﬁnal ① ½", "", " ", "end.\n",
]
EXTRA_LINES = ["Ångström met the naïve café owner in Zürich.", "Привет, как дела? Это Москва.",
               "Καλημέρα, η θάλασσα είναι ήρεμη.", "Ο δρόμος της πόλης είναι ωραίος.", "नमस्ते दुनिया, यह एक परीक्षा है।", "It cost 1,250.50 dollars and 2,000, and more."]


def original_preprocess(text: str, lower: bool = True, keep_accents: bool = False) -> str:
    out = " ".join(text.strip().split())
    out = out.replace("``", '"').replace("''", '"')
    if not keep_accents:
        out = "".join(c for c in unicodedata.normalize("NFKD", out) if not unicodedata.combining(c))
    return out.lower() if lower else out


def original_pieces(sp, text: str) -> list[str]:
    pieces = []
    for piece in sp.encode_as_pieces(text):
        if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
            cur = sp.encode_as_pieces(piece[:-1].replace(UNDERLINE, ""))
            if piece[0] != UNDERLINE and cur[0][0] == UNDERLINE:
                cur = cur[1:] if len(cur[0]) == 1 else [cur[0][1:], *cur[1:]]
            pieces.extend([*cur, piece[-1]])
        else:
            pieces.append(piece)
    return pieces


def original_ids(sp, text: str, **flags) -> list[int]:
    return [sp.piece_to_id(p) for p in original_pieces(sp, original_preprocess(text, **flags))]


def original_inputs(sp, a: str, b: str | None, max_seq_length: int) -> list[int]:
    tokens_a, tokens_b = original_ids(sp, a), original_ids(sp, b) if b else None
    if tokens_b is not None:
        while len(tokens_a) + len(tokens_b) > max_seq_length - 3:
            (tokens_a if len(tokens_a) > len(tokens_b) else tokens_b).pop()
        return [2, *tokens_a, 3, *tokens_b, 3]
    return [2, *tokens_a[:max_seq_length - 2], 3]


@pytest.fixture(scope="module", params=["split_digits", "digit_comma_pieces"])
def models(request, tmp_path_factory):
    """Our usual vocabulary, and one that has pieces like "▁22," (so the re-split rule is exercised)."""
    root = tmp_path_factory.mktemp(request.param)
    lines = CORPUS.read_text(encoding="utf-8").splitlines() + EXTRA_LINES * 20
    path = train_sentencepiece(lines, root, vocab_size=2000, split_digits=request.param == "split_digits")
    return spm.SentencePieceProcessor(model_file=str(path)), AlbertTokenizer(path)


def test_vocabularies_are_as_intended(models, request):
    sp, _ = models
    found = any(p[-1:] == "," and p[-2:-1].isdigit() for p in (sp.id_to_piece(i) for i in range(sp.get_piece_size())))
    assert found == (request.node.callspec.params["models"] == "digit_comma_pieces")


@pytest.mark.parametrize("text", TEXTS)
def test_single_texts_equal_the_original_rule(models, text):
    sp, tok = models
    assert tok.encode(text) == original_ids(sp, text)
    assert tok(text)["input_ids"] == [2, *original_ids(sp, text), 3]
    assert tok.encode_with_offsets(text)[0] == original_ids(sp, text)


def test_flags_equal_the_original_rule(models):
    sp, tok = models
    for flags in (dict(lower=False), dict(keep_accents=True), dict(lower=False, keep_accents=True)):
        ours = AlbertTokenizer(tok.spiece_path, do_lower_case=flags.get("lower", True),
                               keep_accents=flags.get("keep_accents", False))
        assert ours.encode_batch(TEXTS) == [original_ids(sp, t, **flags) for t in TEXTS], flags


def test_corpus_and_fuzz_equal_the_original_rule(models):
    sp, tok = models
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:3000]
    rng = random.Random(0)
    alphabet = ["abc", "XYZ", "é", "É", "ñ", "1", "2,", "0,", ",", ".", "-", "(", ")", "'", "`", '"', " ", "  ", "\t",
                "\n", "Σ", "ς", "İ", "ß", "ﬁ", "①", "我", "Э", "\u0301", "\u0903", "\u20dd", "\u200b", "\x1c", "\x85", "\xa0"]
    fuzz = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(1000)]
    texts = lines + fuzz
    assert tok.encode_batch(texts) == [original_ids(sp, t) for t in texts]


def test_pairs_with_truncation_equal_the_original_rule(models):
    sp, tok = models
    pairs = [(a, b) for a in TEXTS[:12] for b in TEXTS[:12:3]] + [("only first", ""), ("", "only second")]
    for max_seq_length in (6, 9, 12, 17, 64):
        for a, b in pairs:
            ours = tok(a, b, truncation="longest_first", max_length=max_seq_length)["input_ids"]
            assert ours == original_inputs(sp, a, b, max_seq_length), (a, b, max_seq_length)
        ours = tok([a for a, _ in pairs], [b for _, b in pairs], truncation=True, max_length=max_seq_length)
        assert ours["input_ids"] == [original_inputs(sp, a, b, max_seq_length) for a, b in pairs]


def test_truncated_lengths_is_the_pop_loop():
    for n_a in range(0, 12):
        for n_b in range(0, 12):
            for budget in range(0, 25):
                a, b = list(range(n_a)), list(range(n_b))
                while len(a) + len(b) > budget:
                    (a if len(a) > len(b) else b).pop()
                assert truncated_lengths(n_a, n_b, budget) == (len(a), len(b)), (n_a, n_b, budget)


# ---- transformers 5.x: a second comparison, with its known differences --------------------

def test_known_differences_of_transformers_5(models, tmp_path):
    """Built from a bare spiece.model, transformers 5.x agrees with the rule on hyphens, parentheses,
    trailing spaces and (without digit-comma pieces) digits; it departs from it where listed here. (With
    the Hub's tokenizer.json it departs further: "▁" re-added after "-" and "(", "▁" before [SEP] after
    a trailing space, "2000," kept whole; those files cannot be fetched here.)"""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("google.protobuf")
    sp, tok = models
    tok.save_pretrained(tmp_path)
    hf = transformers.AlbertTokenizer.from_pretrained(tmp_path)
    def hf_ids(t):
        return hf(t, add_special_tokens=False)["input_ids"]
    for text in ("a well-made film (really) ", "f(x) = (a-b)", "Café naïve"):
        assert hf_ids(text) == original_ids(sp, text) == tok.encode(text)
    differs = {
        "ΟΔΟΣ": "final sigma: the rule lowercases with str.lower() (ς), transformers char by char (σ)",
        "a\u0903b": "a spacing mark (category Mc, combining class 0): the rule keeps it, transformers drops all marks",
        "a\x1cb": "\\x1c is whitespace to str.split(): the rule splits the word, transformers deletes the character",
    }
    for text, why in differs.items():
        assert tok.encode(text) == original_ids(sp, text), why
        assert hf_ids(text) != tok.encode(text), why
