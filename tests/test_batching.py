"""Dynamic padding, length-grouped training batches, evaluation order."""
import random

import numpy as np
import pytest
import torch

from albert_bench.engine import batching
from albert_bench.engine.batching import LengthGroupedBatches, collate, eval_batches, split_batch
from albert_bench.engine.evaluation import collect_outputs
from albert_bench.modeling.model import AlbertForQuestionAnswering, AlbertForSequenceClassification
from albert_bench.tasks import common
from toy_task import tiny_config


def test_keys_match_task_protocol():
    assert batching.MODEL_INPUT_KEYS == common.MODEL_INPUT_KEYS
    assert batching.LABEL_KEYS == common.LABEL_KEYS


def test_collate_pads_to_batch_max_and_drops_metadata():
    feats = [{"input_ids": [2, 7, 3], "token_type_ids": [0, 0, 0], "labels": 1, "example_index": 0, "offsets": [1]},
             {"input_ids": [2, 7, 8, 9, 3], "token_type_ids": [0, 0, 1, 1, 1], "labels": 0, "example_index": 1}]
    b = collate(feats, pad_id=0)
    assert set(b) == {"input_ids", "token_type_ids", "attention_mask", "labels"}
    assert b["input_ids"].tolist() == [[2, 7, 3, 0, 0], [2, 7, 8, 9, 3]]
    assert b["token_type_ids"].tolist() == [[0, 0, 0, 0, 0], [0, 0, 1, 1, 1]]
    assert b["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert b["labels"].dtype == torch.long and b["labels"].tolist() == [1, 0]


def test_collate_custom_pad_and_regression_labels():
    feats = [{"input_ids": [2, 3], "labels": 3.5}, {"input_ids": [2, 5, 3], "labels": 1}]
    b = collate(feats, pad_id=9)
    assert b["input_ids"].tolist() == [[2, 3, 9], [2, 5, 3]]
    assert b["token_type_ids"].tolist() == [[0, 0, 0], [0, 0, 0]]
    assert b["labels"].dtype == torch.float32 and b["labels"].tolist() == [3.5, 1.0]


def test_collate_qa_labels():
    feats = [{"input_ids": [2, 3, 4], "start_positions": 1, "end_positions": 2, "is_impossible": 0.0},
             {"input_ids": [2, 3], "start_positions": 0, "end_positions": 0, "is_impossible": 1.0}]
    b = collate(feats)
    assert b["start_positions"].dtype == torch.long and b["end_positions"].tolist() == [2, 0]
    assert b["is_impossible"].dtype == torch.float32 and b["is_impossible"].tolist() == [0.0, 1.0]


def test_collate_multiple_choice_shapes():
    feats = [{"input_ids": [[2, 5, 3], [2, 5, 6, 3]], "token_type_ids": [[0, 0, 0], [0, 0, 1, 1]], "labels": 1},
             {"input_ids": [[2, 3], [2, 7, 7, 7, 3]], "token_type_ids": [[0, 0], [0, 0, 1, 1, 1]], "labels": 0}]
    b = collate(feats)
    assert b["input_ids"].shape == (2, 2, 5)
    assert b["attention_mask"][0].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 0]]
    assert b["input_ids"][1, 0].tolist() == [2, 3, 0, 0, 0]
    assert b["token_type_ids"][0, 1].tolist() == [0, 0, 1, 1, 0]
    assert b["labels"].tolist() == [1, 0]


def test_collate_rejects_partly_labelled_batch():
    with pytest.raises(ValueError, match="labels"):
        collate([{"input_ids": [2, 3], "labels": 1}, {"input_ids": [2, 3]}])


def _padding_cost(batches, lengths):
    return sum(max(lengths[i] for i in b) * len(b) for b in batches)


def test_length_grouping_is_deterministic_and_covers_each_epoch():
    rng = random.Random(0)
    lengths = [rng.randrange(5, 200) for _ in range(403)]
    s = LengthGroupedBatches(lengths, batch_size=8, seed=3)
    e0, e0_again, e1 = s.epoch(0), LengthGroupedBatches(lengths, 8, seed=3).epoch(0), s.epoch(1)
    assert e0 == e0_again
    assert e0 != e1
    assert e0 != LengthGroupedBatches(lengths, 8, seed=4).epoch(0)
    assert len(e0) == len(s) == 403 // 8 and all(len(b) == 8 for b in e0)
    flat = [i for b in e0 for i in b]
    assert len(set(flat)) == len(flat) == 50 * 8          # incomplete last batch dropped
    # grouped by length: far less padding than the same sizes drawn at random
    shuffled = list(range(403))
    random.Random(1).shuffle(shuffled)
    random_batches = [shuffled[i:i + 8] for i in range(0, 400, 8)]
    assert _padding_cost(e0, lengths) < 0.8 * _padding_cost(random_batches, lengths)


def test_small_set_gives_one_batch():
    s = LengthGroupedBatches([3, 4, 5], batch_size=8, seed=0)
    assert len(s) == 1 and sorted(s.epoch(0)[0]) == [0, 1, 2]


def test_iterate_resumes_mid_epoch():
    s = LengthGroupedBatches(list(range(40)), batch_size=4, seed=1)
    full = [b for _, (_, _, b) in zip(range(25), s.iterate())]
    resumed = [b for _, (_, _, b) in zip(range(22), s.iterate(start_epoch=0, skip=3))]
    assert full[3:] == resumed
    later = [(e, i) for _, (e, i, _) in zip(range(3), s.iterate(start_epoch=1, skip=9))]
    assert later == [(1, 9), (2, 0), (2, 1)]


def test_split_batch_sizes():
    assert split_batch(list(range(8)), 3) == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert split_batch([1, 2], 2) == [[1], [2]]


def test_eval_batches_sorted_and_token_budget():
    feats = [{"input_ids": [0] * n} for n in (3, 9, 5, 9, 1, 7)]
    batches = eval_batches(feats, batch_size=4)
    assert batches == [[1, 3, 5, 2], [0, 4]]
    budget = eval_batches(feats, batch_size=4, max_tokens=18)
    assert all(len(b) * max(len(feats[i]["input_ids"]) for i in b) <= 18 for b in budget)
    assert sorted(i for b in budget for i in b) == list(range(6))


def test_collect_outputs_restores_order_and_trims():
    torch.manual_seed(0)
    model = AlbertForQuestionAnswering(tiny_config()).eval()
    rng = random.Random(0)
    feats = [{"input_ids": [2] + [rng.randrange(5, 60) for _ in range(n)] + [3],
              "token_type_ids": [0] * (n + 2)} for n in (4, 11, 2, 7, 11, 1)]
    batched = collect_outputs(model, feats, batch_size=4)
    assert set(batched) == {"start_logits", "end_logits"}
    for i, f in enumerate(feats):
        alone = collect_outputs(model, [f], batch_size=1)
        assert batched["start_logits"][i].shape == (len(f["input_ids"]),)
        np.testing.assert_allclose(batched["start_logits"][i], alone["start_logits"][0], atol=1e-5)
        np.testing.assert_allclose(batched["end_logits"][i], alone["end_logits"][0], atol=1e-5)


def test_collect_outputs_classification_shape():
    model = AlbertForSequenceClassification(tiny_config(id2label={0: "a", 1: "b", 2: "c"}))
    feats = [{"input_ids": [2, 5, 3]}, {"input_ids": [2, 3]}]
    out = collect_outputs(model, feats, batch_size=8)
    assert list(out) == ["logits"] and out["logits"][0].shape == (3,)
    assert model.training  # left in the mode it was in
