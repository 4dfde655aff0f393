"""Pretraining data: n-gram masking statistics, sentence-order pairs, the token cache."""
from collections import Counter

import numpy as np
import pytest

from albert_bench.pretraining.data import (CLS_ID, IGNORE, MASK_ID, SEP_ID, InstanceStream, layout_chunks, mask_ngrams,
                                        ngram_probabilities, split_heldout, word_start_table)
from albert_bench.pretraining.token_cache import TokenCorpus, build_token_cache, corpus_key, load_token_cache
from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece

V = 1000


def _masked_sample(n_seq=4000, length=128, seed=0):
    """Sequences [CLS] A [SEP] B [SEP] of random ids, masked; with their special-position masks.
    No word table: every token is a word, so n-grams are counted in tokens."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_seq):
        ids = rng.integers(5, V, length)
        cut = int(rng.integers(10, length - 10))
        ids[[0, cut, length - 1]] = [CLS_ID, SEP_ID, SEP_ID]
        special = np.isin(ids, [CLS_ID, SEP_ID])
        masked, labels, spans = mask_ngrams(ids, special, rng, V, max_predictions=round(0.15 * length))
        out.append((ids, special, masked, labels, spans))
    return out


def test_masking_statistics_match_albert():
    sample = _masked_sample()
    total = sum(len(ids) for ids, *_ in sample)
    predicted = np.concatenate([labels != IGNORE for *_, labels, _ in sample])
    assert predicted.sum() / total == pytest.approx(0.15, abs=0.005)     # 19 of 128 per sequence
    for ids, special, masked, labels, spans in sample:
        assert not (labels[special] != IGNORE).any() and (masked[special] == ids[special]).all()
        assert (labels[labels != IGNORE] == ids[labels != IGNORE]).all()
        assert sum(n for _, n, _ in spans) == (labels != IGNORE).sum() == 19
        for start, n, words in spans:                            # spans: 1..3 tokens, never across [SEP]
            assert 1 <= n <= 3 and n == words and not special[start:start + n].any()
    at = np.concatenate([m[l != IGNORE] for _, _, m, l, _ in sample])
    orig = np.concatenate([i[l != IGNORE] for i, _, _, l, _ in sample])
    as_mask, kept = (at == MASK_ID).mean(), (at == orig).mean()
    assert as_mask == pytest.approx(0.8, abs=0.01)
    assert kept == pytest.approx(0.1 + 0.1 / V, abs=0.01)          # a random id rarely equals the original
    assert 1 - as_mask - kept == pytest.approx(0.1, abs=0.01)
    assert ((at >= 5) | (at == MASK_ID)).all()                       # random ids are never special tokens


def test_ngram_lengths_follow_one_over_n():
    """The first span of a sequence is drawn before any overlap or budget constraint, so its
    length follows p(n) = (1/n) / (1 + 1/2 + 1/3) = 6/11, 3/11, 2/11 exactly."""
    assert ngram_probabilities(3) == pytest.approx([6 / 11, 3 / 11, 2 / 11])
    sample = _masked_sample(n_seq=6000, seed=1)
    first = Counter(spans[0][1] for *_, spans in sample)
    shares = [first[n] / len(sample) for n in (1, 2, 3)]
    assert shares == pytest.approx([6 / 11, 3 / 11, 2 / 11], abs=0.02)
    # All spans: overlaps and the budget shorten some, but the mix stays close to p(n).
    every = Counter(n for *_, spans in sample for _, n, _ in spans)
    all_shares = np.array([every[n] for n in (1, 2, 3)]) / sum(every.values())
    assert all_shares == pytest.approx([6 / 11, 3 / 11, 2 / 11], abs=0.05)


def test_replacement_is_drawn_per_token_as_the_original():
    """The original's 80/10/10 coin flips sit inside the loop over a span's tokens: a 3-gram is
    all-[MASK] with probability 0.8^3, mixed with probability 1 - 0.8^3 - 2 * 0.1^3 = 0.486."""
    sample = _masked_sample(n_seq=3000, seed=2)
    kinds = []
    for ids, _, masked, _, spans in sample:
        for start, n, _ in spans:
            if n == 3:
                kind = ["mask" if m == MASK_ID else "keep" if m == i else "random"
                        for m, i in zip(masked[start:start + 3], ids[start:start + 3])]
                kinds.append(len(set(kind)) > 1)
    assert np.mean(kinds) == pytest.approx(0.486, abs=0.04)


def test_whole_word_ngrams():
    """With a word table, an n-gram is 1-3 complete words: a word is masked whole or not at all."""
    rng = np.random.default_rng(5)
    words_per_n, total, masked_total = Counter(), 0, 0
    for _ in range(2000):
        ids = rng.integers(5, V, 128)
        ids[[0, 60, 127]] = [CLS_ID, SEP_ID, SEP_ID]
        special = np.isin(ids, [CLS_ID, SEP_ID])
        word_start = rng.random(128) < 0.6                 # words of 1.7 tokens on average
        _, labels, spans = mask_ngrams(ids, special, rng, V, 19, word_start=word_start)
        starts = ~special & (word_start | np.concatenate([[True], special[:-1]]))
        for start, n, words in spans:
            assert starts[start] and 1 <= words <= 3 and not special[start:start + n].any()
            assert int(starts[start:start + n].sum()) == words          # exactly `words` word starts inside
            assert start + n == 128 or starts[start + n] or special[start + n]   # ends at a word end
            words_per_n[words] += 1
        assert sum(n for _, n, _ in spans) == (labels != IGNORE).sum() <= 19
        total, masked_total = total + 128, masked_total + (labels != IGNORE).sum()
    assert masked_total / total == pytest.approx(0.15, abs=0.01)         # whole words fill the budget nearly
    first = np.array([words_per_n[n] for n in (1, 2, 3)]) / sum(words_per_n.values())
    assert first[0] > first[1] > first[2] > 0.08


def test_word_start_table_follows_the_original_rule(tokenizer):
    table = word_start_table(tokenizer)
    for i in range(tokenizer.vocab_size):
        piece = tokenizer.sp.id_to_piece(i)
        if piece.startswith("▁") or piece in ("<pad>", "<unk>", ".") or piece.isdigit():
            assert table[i], piece
        elif piece.isalpha() and piece.isascii():
            assert not table[i], piece                     # continues the word before it
    assert table.any() and not table.all()


def _numbered_corpus(n_docs=40, seed=0):
    """Token id = 5 + position in the corpus, so any slice shows where it came from."""
    rng = np.random.default_rng(seed)
    docs, pos = [], 0
    for _ in range(n_docs):
        doc = []
        for _ in range(int(rng.integers(3, 30))):
            n = int(rng.integers(2, 12))
            doc.append(list(range(5 + pos, 5 + pos + n)))
            pos += n
        docs.append(doc)
    return TokenCorpus.from_documents(docs), pos


def _original_tokens(x):
    return np.where(x["labels"] != IGNORE, x["labels"], x["input_ids"])


def test_sentence_order_pairs_are_consecutive_and_balanced():
    corpus, n = _numbered_corpus()
    chunks = layout_chunks(corpus, corpus.document_ranges(), 61, seed=0)
    stream = InstanceStream(corpus, chunks, seed=3, max_seq_len=64, vocab_size=n + 5, max_predictions=10)
    starts = set((corpus.sentence_offsets[:-1] + 5).tolist())
    doc_of = np.repeat(np.arange(corpus.num_documents), np.diff(corpus.sentence_offsets[corpus.document_offsets]))
    labels, whole = [], 0
    for k in range(3 * len(chunks)):                      # three epochs
        x = stream[k]
        ids, types = _original_tokens(x), x["token_type_ids"]
        seps = np.flatnonzero(ids == SEP_ID)
        assert ids[0] == CLS_ID and len(seps) == 2 and seps[1] == len(ids) - 1 and len(ids) <= 64
        first, second = ids[1:seps[0]], ids[seps[0] + 1:-1]
        assert (types[:seps[0] + 1] == 0).all() and (types[seps[0] + 1:] == 1).all()
        for seg in (first, second):                        # each segment: contiguous corpus text
            assert len(seg) >= 1 and (np.diff(seg) == 1).all()
        assert doc_of[first[0] - 5] == doc_of[second[0] - 5]   # both from one document
        a, b = (first, second) if x["sentence_order_label"] == 0 else (second, first)
        assert a[-1] < b[0]                                # label 0: A before B; 1: swapped
        if len(first) + len(second) < 61:                  # nothing truncated: B follows A directly,
            assert b[0] == a[-1] + 1                       # cut at a sentence start when there is one
            assert b[0] in starts or not any(s in starts for s in range(a[0] + 1, b[-1] + 1))
            whole += 1
        labels.append(x["sentence_order_label"])
    assert np.mean(labels) == pytest.approx(0.5, abs=0.04)
    assert whole > len(labels) / 3                         # the exact-adjacency check ran often


def test_stream_is_a_function_of_seed_and_index():
    corpus, n = _numbered_corpus()
    chunks = layout_chunks(corpus, corpus.document_ranges(), 61, seed=0)
    a = InstanceStream(corpus, chunks, seed=3, max_seq_len=64, vocab_size=n + 5, max_predictions=10)
    b = InstanceStream(corpus, chunks, seed=3, max_seq_len=64, vocab_size=n + 5, max_predictions=10)
    c = InstanceStream(corpus, chunks, seed=4, max_seq_len=64, vocab_size=n + 5, max_predictions=10)
    for k in (57, 3, len(chunks) + 3):                    # any order, across an epoch boundary
        assert all(np.array_equal(a[k][key], b[k][key]) for key in ("input_ids", "labels"))
    assert not all(np.array_equal(a[k]["input_ids"], c[k]["input_ids"]) for k in range(5))
    # each epoch visits every chunk once, with fresh masks
    first_epoch = {tuple(_original_tokens(a[k])[1:4]) for k in range(len(chunks))}
    assert len(first_epoch) > 0.9 * len(chunks)
    assert not np.array_equal(a[0]["labels"], a[len(chunks) + int(np.argmax(a.order(1) == a.order(0)[0]))]["labels"])


def test_long_lines_become_pieces_and_short_targets():
    corpus = TokenCorpus.from_documents([[list(range(5, 305))], [list(range(5, 15)), list(range(15, 25))]])
    chunks = layout_chunks(corpus, corpus.document_ranges(), 61, seed=0, short_seq_prob=0.0)
    lengths = [int(chunks.piece_offsets[e] - chunks.piece_offsets[f]) for f, e in chunks.spans]
    assert lengths == [61, 61, 61, 61, 56, 20]              # the 300-token line: 5 chunks, no text lost
    short = layout_chunks(_numbered_corpus()[0], _numbered_corpus()[0].document_ranges(), 61, seed=0,
                          short_seq_prob=1.0)
    assert len(short) > len(chunks) and all(e - f >= 1 for f, e in short.spans)


def test_heldout_split_is_the_corpus_tail():
    corpus, _ = _numbered_corpus()
    train, held = split_heldout(corpus, 0.1)
    cut = corpus.num_sentences - round(0.1 * corpus.num_sentences)
    assert train[:, 1].max() == cut == held[:, 0].min() and held[:, 1].max() == corpus.num_sentences
    assert (train[:, 1] - train[:, 0]).sum() + (held[:, 1] - held[:, 0]).sum() == corpus.num_sentences
    with pytest.raises(ValueError, match="heldout_fraction"):
        split_heldout(corpus, 1.5)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    words = "the a cat dog sat ran on under mat tree big small red blue quickly slowly".split()
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(words, 8)) + "." for _ in range(300)]
    folder = tmp_path_factory.mktemp("tok")
    train_sentencepiece(lines, folder, vocab_size=60)
    return AlbertTokenizer.from_pretrained(folder)


def test_token_cache_streams_documents_and_is_reused(tmp_path, tokenizer):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("The cat sat.\nThe dog ran.\n\n\nA red tree.\n", encoding="utf-8")
    b.write_text("Big blue mat.\n   \nSmall cat.\nQuickly.\n", encoding="utf-8")
    corpus = build_token_cache([a, b], tokenizer, tmp_path / "cache", lines_per_batch=2)
    assert corpus.num_documents == 4 and corpus.num_sentences == 6   # blank lines and each file end a document
    lines = ["The cat sat.", "The dog ran.", "A red tree.", "Big blue mat.", "Small cat.", "Quickly."]
    expected = tokenizer.encode_batch(lines)
    assert [corpus.tokens[s:e].tolist() for s, e in zip(corpus.sentence_offsets[:-1], corpus.sentence_offsets[1:])] \
        == expected
    assert corpus.document_offsets.tolist() == [0, 2, 3, 4, 6]
    assert isinstance(corpus.tokens, np.memmap) and corpus.tokens.dtype == np.uint16
    again = build_token_cache([a, b], tokenizer, tmp_path / "cache")
    assert again.directory == corpus.directory and len(list((tmp_path / "cache").iterdir())) == 1
    assert np.array_equal(load_token_cache(corpus.directory).tokens, corpus.tokens)
    b.write_text("Big blue mat.\n", encoding="utf-8")             # other bytes: another cache entry
    assert build_token_cache([a, b], tokenizer, tmp_path / "cache").directory != corpus.directory
    # a tokenizer flag that changes the ids (the digit-comma rule) is another cache entry too
    plain = AlbertTokenizer(tokenizer.spiece_path, split_digit_comma=False)
    assert corpus_key([a, b], plain) != corpus_key([a, b], tokenizer)
    with pytest.raises(FileNotFoundError, match="--corpus: .*missing.txt does not exist"):
        build_token_cache([tmp_path / "missing.txt"], tokenizer, tmp_path / "cache")
