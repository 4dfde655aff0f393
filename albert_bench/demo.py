"""The offline demo: everything a real run does, on small sets, on 2 CPU cores in minutes.

    albert-bench demo                 # full: about 5-8 minutes on 2 cores
    albert-bench demo --size ci       # reduced: what the test suite runs

Steps: write small learnable sets in every official format (albert_bench.demo_data), train a
SentencePiece model on the shipped corpus plus the demo's training text, build a small
randomly initialised ALBERT, then fine-tune and score each set through the same code path as
`albert-bench finetune` (runs.finetune), writing checkpoints and run records, and print a
table of dev scores beside chance level.

The task registry is passed in (`get_task`) because core modules never import `tasks`.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from albert_bench.config import AlbertConfig
from albert_bench.model import AlbertModel


@dataclass(frozen=True)
class DemoSet:
    task: str             # registry name; demo_data writes its folder
    metric: str           # the number shown in the summary
    chance: float         # what guessing scores on that metric
    steps: int            # fine-tuning steps (full size)
    max_seq_length: int
    lr: float = 5e-4
    batch_size: int = 32


DEMO_SETS = (
    DemoSet("sst2", "accuracy", 0.5, 300, 64),
    DemoSet("cola", "matthews_correlation", 0.0, 300, 64),
    DemoSet("mrpc", "accuracy", 0.5, 1000, 64),   # pairs need more steps from scratch
    DemoSet("rte", "accuracy", 0.5, 600, 64),
    DemoSet("stsb", "pearson", 0.0, 300, 96),
    DemoSet("squad_v2", "f1", 50.0, 300, 96),   # chance: F1 of answering nothing = unanswerable share
    DemoSet("race", "accuracy", 0.25, 400, 64),    # short inputs: from scratch it learns far faster
)

# A small ALBERT that learns these sets from scratch in a few hundred CPU steps.
DEMO_MODEL = dict(embedding_size=64, hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                  intermediate_size=256, max_position_embeddings=256, hidden_act="gelu_new",
                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
DEMO_VOCAB = 3000
DEMO_EVAL_EVERY = 100  # warmup: 10% of each run


def _training_texts(data_dirs: dict[str, Path]) -> list[str]:
    """Text of the demo's train files, so the tokenizer knows the demo's words."""
    texts = []
    for folder in data_dirs.values():
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "train" in str(path.relative_to(folder)):
                texts.extend(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return texts


def build_demo_model(output_dir: Path, seed: int, demo_texts: list[str]) -> Path:
    """Train the tokenizer, build the random small ALBERT, save both as one checkpoint dir."""
    import torch

    from albert_bench.tokenizer import AlbertTokenizer, train_sentencepiece

    corpus = Path(__file__).with_name("data") / "corpus.txt"
    texts = corpus.read_text(encoding="utf-8").splitlines() + demo_texts
    spiece = train_sentencepiece(texts, output_dir / "tokenizer", vocab_size=DEMO_VOCAB)
    tokenizer = AlbertTokenizer(str(spiece))
    torch.manual_seed(seed)
    config = AlbertConfig(vocab_size=tokenizer.vocab_size, **DEMO_MODEL)
    model_dir = output_dir / "model"
    AlbertModel(config).save_pretrained(model_dir, tokenizer=tokenizer)
    return model_dir


def run_demo(get_task: Callable, output_dir: str | Path = "demo_out", size: str = "full", seed: int = 0,
             results_dir: str | Path | None = None, sets: tuple[DemoSet, ...] = DEMO_SETS) -> list[dict]:
    """Run the demo; returns one summary row per set (and prints the table)."""
    from albert_bench import runs
    from albert_bench.demo_data import write_demo_data

    output_dir = Path(output_dir)
    results_dir = Path(results_dir) if results_dir else output_dir / "results"
    started = time.time()
    data_dirs = write_demo_data(output_dir / "data", seed=seed, size=size)
    model_dir = build_demo_model(output_dir, seed, _training_texts(data_dirs))
    rows = []
    for demo in sets:
        steps = demo.steps if size == "full" else max(10, demo.steps // 10)
        record = runs.finetune(
            task=get_task(demo.task), model=str(model_dir), data_dir=str(data_dirs[demo.task]),
            output_dir=str(output_dir / "runs" / demo.task), results_dir=str(results_dir),
            recipe="quick", max_steps=steps, seed=seed,
            overrides=dict(lr=demo.lr, batch_size=demo.batch_size, max_seq_length=demo.max_seq_length,
                           warmup_steps=max(1, steps // 10), eval_every=min(DEMO_EVAL_EVERY, steps)))
        split, metrics = next(iter(record["metrics"]["best"].items()))
        rows.append({"task": demo.task, "metric": demo.metric, "score": metrics[demo.metric],
                     "chance": demo.chance, "steps": steps, "split": split,
                     "record": record.get("path", "")})
    print(format_summary(rows, time.time() - started))
    return rows


def format_summary(rows: list[dict], seconds: float) -> str:
    lines = [f"{'task':<10} {'metric':<22} {'dev score':>10} {'chance':>8} {'steps':>6}"]
    for r in rows:
        lines.append(f"{r['task']:<10} {r['metric']:<22} {r['score']:>10.3f} {r['chance']:>8.2f} {r['steps']:>6}")
    lines.append(f"demo finished in {seconds / 60:.1f} min; run records in {Path(rows[0]['record']).parent if rows and rows[0]['record'] else 'the results folder'}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps([d.__dict__ for d in DEMO_SETS], indent=2))
