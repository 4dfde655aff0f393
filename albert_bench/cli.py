"""The `albert-bench` command line: a thin layer over keyword-argument functions.

    albert-bench demo                       # offline: trains, fine-tunes and scores small sets
    albert-bench tasks                      # every task with its metrics and data sources
    albert-bench finetune --model albert-base-v2 --task rte --data-dir glue/RTE
    albert-bench evaluate --model runs/rte/best --task rte --data-dir glue/RTE
    albert-bench predict --model runs/rte/best --task rte --data-dir glue/RTE --output-dir submission
    albert-bench score squad_v2 --data dev-v2.0.json --predictions predictions.json --na-probs null_odds.json
    albert-bench fill-mask --model albert-base-v2 "The man worked as a [MASK]." --top-k 5
    albert-bench bench model

This is the only core module that imports `tasks` (the registry); everything below it
takes task objects as arguments.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EPILOG = __doc__.split("\n\n")[1]


def _parse_overrides(pairs: list[str] | None) -> dict:
    """`--set lr=2e-5 --set train_steps=100` -> {"lr": 2e-05, "train_steps": 100}."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SystemExit(f"error: --set expects KEY=VALUE, got {pair!r} (e.g. --set lr=2e-5)")
        key, value = pair.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _parse_label_map(text: str | None) -> dict | None:
    """`--label-map LABEL_0=entailment,LABEL_1=not_entailment` -> dict."""
    if not text:
        return None
    out = {}
    for item in text.split(","):
        if "=" not in item:
            raise SystemExit(f"error: --label-map expects NAME=LABEL pairs separated by commas, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def cmd_tasks(args) -> int:
    from tasks import REGISTRY
    rows = []
    for task in REGISTRY.values():
        arrows = {True: " ↑", False: " ↓", None: ""}  # counts and thresholds have no direction
        metrics = ", ".join(f"{m.name}{arrows[m.higher_is_better]}" for m in task.metrics)
        hf = task.source.hf_path + (f" ({task.source.hf_config})" if task.source.hf_config else "") \
            if task.source.hf_path else "-"
        files = ", ".join(sorted(set(task.source.files.values())))
        rows.append((task.name, task.head, metrics, hf, files))
    headers = ("task", "head", "metrics", "hugging face id", "official files")
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0


def cmd_finetune(args) -> int:
    from albert_bench import runs
    from tasks import get_task
    record = runs.finetune(
        task=get_task(args.task), model=args.model, tokenizer=args.tokenizer, data_dir=args.data_dir,
        output_dir=args.output_dir, results_dir=args.results_dir, recipe=args.recipe,
        version=args.version, max_steps=args.max_steps, seed=args.seed, overrides=_parse_overrides(args.set),
        micro_batch_size=args.micro_batch_size, precision=args.precision,
        gradient_checkpointing=args.gradient_checkpointing, qa_head=args.qa_head, resume=args.resume,
        max_train_examples=args.max_train_examples, max_eval_examples=args.max_eval_examples)
    print(json.dumps(record["metrics"], indent=2))
    return 0


# Input settings `evaluate` / `predict` take as flags: the same names as finetune's --set keys.
INPUT_FLAGS = {"max_seq_length": int, "doc_stride": int, "max_query_length": int, "max_answer_length": int,
               "n_best": int, "null_threshold": float, "max_qa_length": int}


def _input_flags(args) -> dict:
    return {name: getattr(args, name) for name in INPUT_FLAGS if getattr(args, name) is not None}


def cmd_evaluate(args) -> int:
    from albert_bench import runs
    from tasks import get_task
    record = runs.evaluate(
        task=get_task(args.task), model=args.model, tokenizer=args.tokenizer, data_dir=args.data_dir,
        split=args.split, label_map=_parse_label_map(args.label_map), results_dir=args.results_dir,
        max_eval_examples=args.max_eval_examples, input_settings=_input_flags(args))
    print(json.dumps(record["metrics"], indent=2))
    return 0


def cmd_predict(args) -> int:
    from albert_bench import runs
    from tasks import get_task
    paths = runs.predict(task=get_task(args.task), model=args.model, tokenizer=args.tokenizer,
                         data_dir=args.data_dir, output_dir=args.output_dir, results_dir=args.results_dir,
                         splits=[args.split] if args.split else None, label_map=_parse_label_map(args.label_map),
                         input_settings=_input_flags(args))
    for path in paths:
        print(path)
    return 0


def cmd_score(args) -> int:
    from tasks import get_task
    metrics = get_task(args.task).score_file(args.data, args.predictions, na_probs=args.na_probs)
    print(json.dumps(metrics, indent=2))
    return 0


def cmd_fill_mask(args) -> int:
    from albert_bench import AlbertForMaskedLM, AlbertTokenizer
    from albert_bench.fill_mask import fill_mask, format_fill_mask
    model = AlbertForMaskedLM.from_pretrained(args.model).eval()
    tokenizer = AlbertTokenizer.from_pretrained(args.tokenizer or args.model)
    for text in args.text:
        results = fill_mask(model, tokenizer, text, top_k=args.top_k)
        if args.json:
            print(json.dumps(results, ensure_ascii=False))
            continue
        print(format_fill_mask(text, results))
    return 0


def cmd_demo(args) -> int:
    from albert_bench.demo import run_demo
    from tasks import get_task
    run_demo(get_task=get_task, output_dir=args.output_dir, size=args.size, seed=args.seed,
             results_dir=args.results_dir)
    return 0


def cmd_bench(args) -> int:
    from albert_bench import bench
    fn = {"model": bench.bench_model, "scoring": bench.bench_scoring}[args.what]
    rows = fn(size=args.size, device=args.device, quick=args.quick)
    print(bench.format_table(rows))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="albert-bench", description="Fine-tune and score ALBERT on GLUE, SQuAD and RACE.",
        epilog="examples:\n" + EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, fn, help, example):
        p = sub.add_parser(name, help=help, description=help, epilog=f"example:\n  {example}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(fn=fn)
        return p

    p = add("demo", cmd_demo, "offline demo: train a tokenizer and a small ALBERT, fine-tune and score every task format",
            "albert-bench demo")
    p.add_argument("--output-dir", default="demo_out", help="where data, models and runs go (default: demo_out)")
    p.add_argument("--results-dir", default=None, help="run records (default: OUTPUT_DIR/results)")
    p.add_argument("--size", choices=["full", "ci"], default="full", help="ci: a reduced run for tests")
    p.add_argument("--seed", type=int, default=0)

    add("tasks", cmd_tasks, "list every task with its metrics and data sources", "albert-bench tasks")

    def model_args(p, need_data=False):
        p.add_argument("--model", required=True, help="checkpoint directory or Hugging Face id")
        p.add_argument("--task", required=True, help="task name (see `albert-bench tasks`)")
        p.add_argument("--tokenizer", default=None, help="directory with spiece.model (default: the model's)")
        p.add_argument("--data-dir", required=need_data, default=None,
                       help="official download folder (default: the Hugging Face dataset, online only)")

    def input_args(p):
        g = p.add_argument_group("input settings", "each defaults to the checkpoint's saved value "
                                 f"(albert_bench_inputs.json), else the task's paper recipe")
        for name, kind in INPUT_FLAGS.items():
            g.add_argument("--" + name.replace("_", "-"), type=kind, default=None, dest=name,
                           help="SQuAD v2: null odds above it answer \"\" (default: tuned on the split)"
                           if name == "null_threshold" else None)

    p = add("finetune", cmd_finetune, "fine-tune a model on a task with the paper's recipe",
            "albert-bench finetune --model albert-base-v2 --task mrpc --data-dir glue/MRPC --recipe paper")
    model_args(p)
    p.add_argument("--output-dir", default=None, help="checkpoints go here (default: runs/TASK)")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--recipe", choices=["paper", "quick"], default="paper")
    p.add_argument("--version", choices=["v1", "v2"], default=None, help="recipe variant (default: from the model name)")
    p.add_argument("--max-steps", type=int, default=None, help="override the recipe's train steps")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a recipe field, e.g. --set lr=2e-5 --set batch_size=16")
    p.add_argument("--micro-batch-size", type=int, default=None, help="per-device batch; accumulation reaches the recipe batch")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--qa-head", choices=["hf", "albert"], default="hf",
                   help="SQuAD head: hf (span head, [CLS] null score) or albert (the original v2 head)")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT_DIR/checkpoint")
    p.add_argument("--max-train-examples", type=int, default=None)
    p.add_argument("--max-eval-examples", type=int, default=None)

    p = add("evaluate", cmd_evaluate, "score a fine-tuned checkpoint on dev without training",
            "albert-bench evaluate --model runs/mnli/best --task mnli --data-dir glue/MNLI")
    model_args(p)
    p.add_argument("--split", default=None, help="split to score (default: the task's dev splits)")
    p.add_argument("--label-map", default=None, help="checkpoint label names to task labels, e.g. LABEL_0=0,LABEL_1=1")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--max-eval-examples", type=int, default=None)
    input_args(p)

    p = add("predict", cmd_predict, "write test-set predictions (GLUE submission files, SQuAD predictions json)",
            "albert-bench predict --model runs/rte/best --task rte --data-dir glue/RTE --output-dir submission")
    model_args(p, need_data=False)
    p.add_argument("--output-dir", required=True)
    p.add_argument("--split", default=None, help="split to predict (default: the task's test splits)")
    p.add_argument("--label-map", default=None, help="checkpoint label names to task labels")
    p.add_argument("--results-dir", default=None, help="where the run record goes (default: OUTPUT_DIR)")
    input_args(p)

    p = add("score", cmd_score, "score a predictions file against gold like the official scripts",
            "albert-bench score squad_v2 --data dev-v2.0.json --predictions predictions.json --na-probs null_odds.json")
    p.add_argument("task")
    p.add_argument("--data", required=True, help="gold file or task folder")
    p.add_argument("--predictions", required=True, help="SQuAD: json id -> text; GLUE: index<TAB>prediction tsv")
    p.add_argument("--na-probs", default=None, help="SQuAD v2.0 null-odds json (id -> float)")

    p = add("fill-mask", cmd_fill_mask, "top-k fillers for [MASK], like the Hugging Face fill-mask pipeline",
            'albert-bench fill-mask --model albert-base-v2 "The man worked as a [MASK]." --top-k 5')
    p.add_argument("text", nargs="+")
    p.add_argument("--model", required=True)
    p.add_argument("--tokenizer", default=None)
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print the pipeline structure as JSON")

    p = add("bench", cmd_bench, "throughput and memory against transformers, measured in one run",
            "albert-bench bench model --size base")
    p.add_argument("what", choices=["model", "scoring"])
    p.add_argument("--size", default="base")
    p.add_argument("--device", default="auto")
    p.add_argument("--quick", action="store_true")
    return parser


COMMANDS = ("demo", "tasks", "finetune", "evaluate", "predict", "score", "fill-mask", "bench")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except (ValueError, FileNotFoundError, KeyError) as err:
        # Errors a user can cause come as one message, not a traceback (set ALBERT_BENCH_DEBUG=1 for it).
        import os
        if os.environ.get("ALBERT_BENCH_DEBUG"):
            raise
        print(f"albert-bench {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
