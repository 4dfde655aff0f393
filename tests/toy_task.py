"""A tiny synthetic task for the engine tests: features built straight from token ids, so the
training loop is tested without a tokenizer or data files (the engine is task-agnostic).

Sentences are random ids in [5, 40); a positive one contains token 40, a negative one token 41,
at a random position. A model learns this within tens of steps.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from albert_bench.modeling.config import AlbertConfig
from albert_bench.tasks.common import Examples, Metric, TaskBase

POS, NEG = 40, 41


class ToyTokenizer:
    """Just what the engine asks of a tokenizer (vocab size, pad id)."""
    vocab_size = 64
    pad_token_id = 0


class ToyTask(TaskBase):
    name = "toy"
    head = "classification"
    labels = ("neg", "pos")
    metrics = (Metric("accuracy"), Metric("error", higher_is_better=False))
    main_metric = "accuracy"
    train_split = "train"
    eval_splits = ("dev",)
    test_splits = ("test",)
    recipe = "sst2"
    source = None

    def __init__(self, n: int = 16, seed: int = 0, dev_is_train: bool = True):
        self.n, self.seed, self.dev_is_train = n, seed, dev_is_train

    def load(self, split, data_dir=None):
        seed = self.seed if (split == "train" or self.dev_is_train) else self.seed + 1
        rng = random.Random(seed)
        items = []
        for i in range(self.n):
            ids = [rng.randrange(5, 40) for _ in range(rng.randrange(3, 12))]
            label = i % 2
            ids.insert(rng.randrange(len(ids) + 1), POS if label else NEG)
            items.append({"id": f"{split}-{i}", "ids": ids, "label": None if split == "test" else self.labels[label]})
        return Examples(items, skipped=[{"reason": "toy", "count": 1}])

    def featurize(self, examples, tokenizer, max_seq_length):
        feats = []
        for i, ex in enumerate(examples):
            ids = [2] + ex["ids"][:max_seq_length - 2] + [3]
            f = {"input_ids": ids, "token_type_ids": [0] * len(ids), "example_index": i}
            if ex["label"] is not None:
                f["labels"] = self.labels.index(ex["label"])
            feats.append(f)
        return feats

    def score(self, examples, features, outputs):
        preds = []
        for f, logits in zip(features, outputs["logits"]):
            ex = examples[f["example_index"]]
            preds.append({"id": ex["id"], "prediction": self.labels[int(np.argmax(logits))], "label": ex["label"]})
        gold = [p for p in preds if p["label"] is not None]
        if not gold:
            return {}, preds
        acc = float(np.mean([p["prediction"] == p["label"] for p in gold]))
        return {"accuracy": acc, "error": 1 - acc}, preds

    def write_predictions(self, split, predictions, output_dir):
        path = Path(output_dir) / f"TOY-{split}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("index\tprediction\n" + "".join(f"{i}\t{p['prediction']}\n" for i, p in enumerate(predictions)))
        return [path]


def tiny_config(**overrides) -> AlbertConfig:
    base = dict(vocab_size=ToyTokenizer.vocab_size, embedding_size=16, hidden_size=32, num_hidden_layers=2,
                num_attention_heads=4, intermediate_size=37, max_position_embeddings=64,
                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.0,
                id2label={0: "neg", 1: "pos"})
    return AlbertConfig(**{**base, **overrides})
