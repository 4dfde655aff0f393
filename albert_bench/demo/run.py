"""The offline demo, the whole story on 2 CPU cores in minutes: pretrain, fine-tune with seeds, report.

    albert-bench demo                          # full: about 8 minutes on 2 cores, into reports/demo
    albert-bench demo --size ci                # reduced: what the test suite runs

Steps:
  1. write small learnable sets in every official format (albert_bench.demo.data) and train a
     SentencePiece model on the shipped corpus plus the demo's training text;
  2. pretrain a small ALBERT on that text (albert_bench.pretraining.pretrain: n-gram MLM + SOP, LAMB) and print
     its masked-token accuracy on held-out text beside the unigram baseline;
  3. fine-tune every demo set from the pretrained model through the suite (albert_bench.suite.runner),
     several seeds each, writing checkpoints and run records;
  4. build what a user publishes, from the records alone: the model-card table (where its tasks
     apply), the GLUE-style table, the run list, plots, the bias probe of the pretrained model, a
     model card and the HTML report, all under OUTPUT_DIR, and print their paths.

The task registry is passed in (`get_task`) because core modules never import `tasks`.
"""
from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from albert_bench.modeling.config import AlbertConfig
from albert_bench.io import atomic_write_text


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
    DemoSet("sst2", "accuracy", 0.5, 200, 64),
    DemoSet("cola", "matthews_correlation", 0.0, 200, 64),
    DemoSet("mrpc", "accuracy", 0.5, 600, 64),   # pairs need more steps
    DemoSet("rte", "accuracy", 0.5, 400, 64),
    DemoSet("stsb", "pearson", 0.0, 200, 96),
    DemoSet("squad_v2", "f1", 50.0, 250, 96),   # chance: F1 of answering nothing = unanswerable share
    DemoSet("race", "accuracy", 0.25, 300, 64),    # short inputs: it learns far faster
)
SEEDS = 2  # seeds per set (tables show the median)

# A small ALBERT that learns these sets in a few hundred CPU steps.
DEMO_MODEL = dict(embedding_size=64, hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                  intermediate_size=256, max_position_embeddings=256, hidden_act="gelu_new",
                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
DEMO_VOCAB = 3000
DEMO_EVAL_EVERY = 100  # warmup: 10% of each run
PRETRAIN = dict(steps=1200, seq_len=64, batch_size=32, lr=2e-3, heldout_fraction=0.05)


def _training_texts(data_dirs: dict[str, Path]) -> list[str]:
    """Text of the demo's train files, so the tokenizer and the pretraining know the demo's words."""
    texts = []
    for folder in sorted(set(data_dirs.values())):
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "train" in str(path.relative_to(folder)):
                texts.extend(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return texts


def pretrain_demo_model(output_dir: Path, seed: int, demo_texts: list[str], size: str = "full") -> tuple[Path, dict]:
    """Tokenizer on the shipped corpus + demo text, then a short pretraining of the small ALBERT."""
    from albert_bench.pretraining.pretrain import pretrain
    from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece

    shipped = Path(__file__).with_name("corpus.txt").read_text(encoding="utf-8")
    corpus = output_dir / "corpus.txt"   # documents are separated by blank lines
    atomic_write_text(corpus, shipped.rstrip("\n") + "\n\n" + "\n".join(demo_texts) + "\n")
    spiece = train_sentencepiece(corpus, output_dir / "tokenizer", vocab_size=DEMO_VOCAB)
    config = AlbertConfig(vocab_size=AlbertTokenizer(str(spiece)).vocab_size, **DEMO_MODEL)
    settings = dict(PRETRAIN, steps=PRETRAIN["steps"] if size == "full" else 20)
    summary = pretrain(corpus=[corpus], config=config, tokenizer=spiece.parent, output_dir=output_dir / "pretrained",
                       seed=seed, **settings)
    return output_dir / "pretrained", summary


def run_demo(get_task: Callable, output_dir: str | Path = "reports/demo", size: str = "full", seed: int = 0,
             results_dir: str | Path | None = None, sets: tuple[DemoSet, ...] = DEMO_SETS, seeds: int = SEEDS) -> dict:
    """Run the demo; returns {"sets": one summary row per set, "artefacts": {name: path}, "pretraining": ...}."""
    from albert_bench.suite import runner as suite
    from albert_bench.demo.data import write_demo_data

    output_dir = Path(output_dir)
    results_dir = Path(results_dir) if results_dir else output_dir / "results"
    started = time.time()
    data_dirs = write_demo_data(output_dir / "data", seed=seed, size=size)
    model_dir, pretraining = pretrain_demo_model(output_dir, seed, _training_texts(data_dirs), size)
    print(format_pretraining(pretraining))

    task_overrides = {}
    for demo in sets:
        steps = demo.steps if size == "full" else max(10, demo.steps // 20)
        task_overrides[demo.task] = dict(lr=demo.lr, batch_size=demo.batch_size, max_seq_length=demo.max_seq_length,
                                         train_steps=steps, warmup_steps=max(1, steps // 10),
                                         eval_every=min(DEMO_EVAL_EVERY, steps))
    jobs = suite.plan(models=[str(model_dir)], tasks=[d.task for d in sets], seeds=[seed + k for k in range(seeds)],
                      data_root=output_dir / "data", output_root=output_dir / "runs", results_dir=results_dir,
                      get_task=get_task, recipe="quick", task_overrides=task_overrides)
    done = suite.run_suite(jobs, get_task=get_task)
    if done.failed:
        raise RuntimeError(f"{len(done.failed)} demo fine-tuning run(s) failed: "
                           + "; ".join(f"{job.label}: {error}" for job, error in done.failed))

    rows = summary_rows(sets, [record for _, record in done.done + done.skipped])
    from albert_bench.demo.report import build_reports
    artefacts = build_reports(model_dir, results_dir, output_dir, tasks={d.task: get_task(d.task) for d in sets},
                              bootstrap=1000 if size == "full" else 100)
    print(format_summary(rows, time.time() - started, artefacts))
    return {"sets": rows, "artefacts": artefacts, "pretraining": pretraining}


def summary_rows(sets: tuple[DemoSet, ...], records: list[dict]) -> list[dict]:
    """Per set: the median over seeds of its best dev score, with each seed's score."""
    rows = []
    for demo in sets:
        scores, chance = [], demo.chance
        for record in records:
            if record["task"] == demo.task:
                metrics = next(iter(record["metrics"]["best"].values()))
                scores.append(metrics[demo.metric])
                # the trivial baseline computed from this dev set's labels (the record's health)
                chance = (((record.get("health") or {}).get("baseline") or {}).get("values") or {}).get(
                    demo.metric, chance)
        rows.append({"task": demo.task, "metric": demo.metric, "score": statistics.median(scores),
                     "seeds": scores, "chance": chance})
    return rows


def format_pretraining(summary: dict) -> str:
    held = summary.get("heldout") or {}
    if not held:
        return f"pretraining: {summary.get('steps')} steps (no held-out text)"
    return (f"pretraining: {summary.get('steps')} steps; masked-token accuracy on held-out text "
            f"{held['masked_token_accuracy']:.3f} vs {held['unigram_baseline_accuracy']:.3f} for the unigram baseline "
            f"(predict the commonest token), over {held['masked_tokens']} masked tokens")


def format_summary(rows: list[dict], seconds: float, artefacts: dict) -> str:
    lines = [f"{'task':<10} {'metric':<22} {'median':>8} {'seeds':>16} {'chance':>8}"]
    for r in rows:
        seeds = " ".join(f"{s:.3f}" for s in r["seeds"])
        lines.append(f"{r['task']:<10} {r['metric']:<22} {r['score']:>8.3f} {seeds:>16} {r['chance']:>8.2f}")
    lines.append(f"demo finished in {seconds / 60:.1f} min; what it wrote:")
    lines += [f"  {name:<18} {path}" for name, path in artefacts.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps([d.__dict__ for d in DEMO_SETS], indent=2))
