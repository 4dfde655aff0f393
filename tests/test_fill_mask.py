"""fill_mask against transformers' pipeline("fill-mask") on a tiny random AlbertForMaskedLM: the HF model
is saved with our tokenizer, then loaded by both sides. Offline; a few seconds."""
from pathlib import Path

import pytest
import torch

from albert_bench import AlbertForMaskedLM
from albert_bench.engine.fill_mask import fill_mask, format_fill_mask
from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece

transformers = pytest.importorskip("transformers")
pytest.importorskip("google.protobuf")

CORPUS = Path(__file__).resolve().parents[1] / "albert_bench" / "demo" / "corpus.txt"
TEXTS = ["The man worked as a [MASK].", "[MASK] said that Paris was cold.", "Zürich is more [MASK] than Oslo",
         "a [MASK] word near the end of a much longer sentence about the old harbour"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("fill")
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:1500]
    tokenizer = AlbertTokenizer(train_sentencepiece(lines, root / "tok", vocab_size=600))
    config = transformers.AlbertConfig(vocab_size=tokenizer.vocab_size, embedding_size=16, hidden_size=32,
                                       num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                                       max_position_embeddings=64, hidden_act="gelu_new",
                                       hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    model = transformers.AlbertForMaskedLM(config)
    with torch.no_grad():   # spread the logits so the top-k order is not decided by rounding noise
        model.predictions.bias.copy_(torch.randn(config.vocab_size) * 3)
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    return root / "model"


@pytest.fixture(scope="module")
def ours(checkpoint):
    return AlbertForMaskedLM.from_pretrained(checkpoint), AlbertTokenizer.from_pretrained(checkpoint)


@pytest.fixture(scope="module")
def reference(checkpoint):
    return transformers.pipeline("fill-mask", model=str(checkpoint), tokenizer=str(checkpoint), device="cpu")


def assert_same(ours, ref):
    assert isinstance(ours, list) and len(ours) == len(ref)
    for a, b in zip(ours, ref):
        if isinstance(b, list):
            assert_same(a, b)
            continue
        assert set(a) == {"score", "token", "token_str", "sequence"} == set(b)
        assert (a["token"], a["token_str"], a["sequence"]) == (b["token"], b["token_str"], b["sequence"])
        assert a["score"] == pytest.approx(b["score"], rel=1e-4, abs=1e-7)


@pytest.mark.parametrize("text", TEXTS)
def test_one_mask_matches_pipeline(ours, reference, text):
    model, tok = ours
    result = fill_mask(model, tok, text, top_k=5)
    assert_same(result, reference(text, top_k=5))
    scores = [item["score"] for item in result]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1
    # one mask: the sequence is decoded without [CLS]/[SEP] (transformers 5; the model card shows them)
    assert "[CLS]" not in result[0]["sequence"] and result[0]["token_str"].strip() in result[0]["sequence"]


def test_several_masks_and_batches_match_pipeline(ours, reference):
    model, tok = ours
    text = "The [MASK] worked as a [MASK]."
    result = fill_mask(model, tok, text, top_k=3)
    assert len(result) == 2 and all(len(group) == 3 for group in result)
    assert_same(result, reference(text, top_k=3))
    assert result[0][0]["sequence"].startswith("[CLS]") and "[MASK]" in result[0][0]["sequence"]
    # a list of texts of different lengths runs as padded batches and gives each text's own result
    batch = fill_mask(model, tok, TEXTS + [text], top_k=4, batch_size=2)
    assert_same(batch, [reference(t, top_k=4) for t in TEXTS + [text]])


def test_top_k_and_model_mode(ours, reference):
    model, tok = ours
    model.train()
    result = fill_mask(model, tok, TEXTS[0], top_k=12)
    assert model.training, "fill_mask restores the model's mode"
    model.eval()
    assert len(result) == 12
    assert_same(result, reference(TEXTS[0], top_k=12))
    everything = fill_mask(model, tok, TEXTS[0], top_k=10**6)
    assert len(everything) == tok.vocab_size and sum(r["score"] for r in everything) == pytest.approx(1, abs=1e-4)
    text = format_fill_mask(TEXTS[0], result)
    assert text.splitlines()[0] == TEXTS[0] and len(text.splitlines()) == 13


def test_clear_errors(ours):
    model, tok = ours
    with pytest.raises(ValueError, match=r"no \[MASK\] in the text"):
        fill_mask(model, tok, "no mask here")
    with pytest.raises(ValueError, match="no .MASK. in text 1"):
        fill_mask(model, tok, ["a [MASK]", "lower case [mask] is not the mask token"])
    with pytest.raises(ValueError, match="top_k"):
        fill_mask(model, tok, "a [MASK]", top_k=0)
    assert fill_mask(model, tok, []) == []
