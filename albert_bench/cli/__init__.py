"""The `albert-bench` command line: a thin layer over keyword-argument functions.

    albert-bench demo                       # offline: pretrain, fine-tune with seeds, tables, bias, card, report
    albert-bench tasks                      # every task with its metrics and data sources
    albert-bench finetune --model albert-base-v2 --task rte --data-dir glue/RTE
    albert-bench evaluate --model runs/rte/best --task rte --data-dir glue/RTE
    albert-bench predict --model runs/rte/best --task rte --data-dir glue/RTE --output-dir submission
    albert-bench score squad_v2 --data dev-v2.0.json --predictions predictions.json --na-probs null_odds.json
    albert-bench fill-mask --model albert-base-v2 "The man worked as a [MASK]." --top-k 5
    albert-bench pretrain --corpus corpus.txt --config albert-base-v2 --vocab-size 30000 --output-dir runs/pretrain
    albert-bench suite --models albert-base-v2 --tasks model-card --seeds 1,2,3 --data-root data
    albert-bench bench model
    albert-bench bias --model albert-base-v2 --probe all --crows-pairs crows_pairs_anonymized.csv
    albert-bench card --model runs/albert-base-v2 --results results --out README.md
    albert-bench table --kind model-card --reference  # also glue, leaderboard, runs; md/csv/latex/html/json
    albert-bench compare RUN_A RUN_B --json           # paired bootstrap: B - A, 95% CI, p-value
    albert-bench report --results results --out reports   # one HTML page: tables, intervals, plots
    albert-bench paper --table 4 --results results    # the paper's Tables 1-8, ours beside the published numbers

Stopping: SIGTERM, SIGUSR1 (what SLURM sends before preemption or the time limit) or Ctrl-C stop
`finetune`, `suite` and `pretrain` after the current optimizer step with a resumable checkpoint and
no record; they print one line with the command that continues the run and exit with status 75
(EX_TEMPFAIL: stopped, resumable). Exit 2: a usage error, named in one line.

The cli layer is the only one that imports the task registry (albert_bench.tasks); every layer below
takes task objects (or get_task) as arguments. Command bodies: commands.py, reports.py.
"""
from __future__ import annotations

import argparse
import sys

from albert_bench.cli.commands import (INPUT_FLAGS, _parse_overrides, cmd_bench, cmd_bias,  # noqa: F401
                                       cmd_card, cmd_demo, cmd_evaluate, cmd_fill_mask, cmd_finetune, cmd_local_slurm,
                                       cmd_predict, cmd_pretrain, cmd_score, cmd_suite, cmd_tasks)
from albert_bench.cli.argparsing import HelpFormatter, Parser, _checked
from albert_bench.cli.reports import add_report_commands

EPILOG = __doc__.split("\n\n")[1] + "\n\n" + __doc__.split("\n\n")[2]


PRECISION = "auto: bf16 on a GPU that has it, else fp16 on a GPU, fp32 on the CPU"
GRADIENT_CHECKPOINTING = "recompute activations in the backward pass: less memory, more time"
MAX_TRAIN = "use only the first N training examples (default: all)"
MAX_EVAL = "score only the first N examples of each split (default: all)"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="albert-bench", description="Fine-tune and score ALBERT on GLUE, SQuAD and RACE.",
        epilog="examples:\n" + EPILOG, formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, fn, help, example):
        p = sub.add_parser(name, help=help, description=help, epilog=f"example:\n  {example}",
                           formatter_class=HelpFormatter)
        p.set_defaults(fn=fn)
        return p

    p = add("demo", cmd_demo, "offline demo: pretrain a small ALBERT, fine-tune it on every task format with seeds, "
            "then the tables, plots, bias probe, model card and HTML report",
            "albert-bench demo")
    p.add_argument("--output-dir", default="reports/demo",
                   help="where data, models, runs, tables, plots, bias report, model card and HTML report go "
                        "(default: reports/demo)")
    p.add_argument("--results-dir", default=None, help="run records (default: OUTPUT_DIR/results)")
    p.add_argument("--size", choices=["full", "ci"], default="full", help="ci: a reduced run for tests")
    p.add_argument("--seed", type=int, default=0, help="seed of the demo data, pretraining and fine-tuning")

    p = add("tasks", cmd_tasks, "list every task with its metrics and data sources", "albert-bench tasks")
    p.add_argument("--baselines", action="store_true", help="print each task's trivial baseline from its dev "
                   "labels (majority class, always no answer, ...): needs --data-dir")
    p.add_argument("--data-dir", default=None, help="with --baselines: the task's folder (with --task) or a data "
                   "root holding every task's folder, as `suite --data-root`")
    p.add_argument("--task", default=None, help="with --baselines: only this task")

    def log_every_arg(p):
        p.add_argument("--log-every", type=float, default=None, metavar="SECONDS",
                       help="when stderr is no terminal (SLURM logs, nohup): a progress line at least every "
                            "SECONDS, besides one every 5%% of training (default: every 5%% only)")

    def report_to_arg(p):
        from albert_bench.engine.tracking import parse
        g = p.add_argument_group("experiment tracking", "each backend is an extra: "
                                 "pip install 'albert-bench[tensorboard]' / '[mlflow]' / '[tracking]' (both)")
        g.add_argument("--report-to", type=_checked(parse), default=[], metavar="NAMES",
                       help="comma list of tensorboard, mlflow (or none): step loss / lr / grad_norm, every "
                            "evaluation, the config and the final metrics, under the run's id; MLflow logs to "
                            "MLFLOW_TRACKING_URI (else MLflow's default), experiment albert-bench")
        g.add_argument("--tracking-dir", default=None, metavar="DIR",
                       help="TensorBoard event files: DIR/RUN_ID (default: OUTPUT_DIR/tensorboard/RUN_ID)")

    def model_args(p, need_data=False):
        p.add_argument("--model", required=True, help="checkpoint directory or Hugging Face id")
        p.add_argument("--task", required=True, help="task name (see `albert-bench tasks`)")
        p.add_argument("--tokenizer", default=None, help="directory with spiece.model (default: the model's)")
        p.add_argument("--data-dir", required=need_data, default=None,
                       help="official download folder (default: the Hugging Face dataset, online only)")

    def claim_args(p):
        g = p.add_argument_group("claims", "a job trains in one process at a time: OUTPUT_DIR.claim beside its "
                                 "folder names the process; a live claim is waited for (suite) or refused (finetune)")
        g.add_argument("--claim-timeout", type=float, default=300.0, metavar="SECONDS",
                       help="another host's claim without a heartbeat for this long is stale and taken over "
                            "(same host: when its process is gone); default 300")
        g.add_argument("--heartbeat", type=float, default=30.0, metavar="SECONDS",
                       help="how often a claim's heartbeat is refreshed and a waiting suite polls; default 30")

    def name_arg(p, what):
        p.add_argument("--name", default=None, help=f"what tables and cards call the model {what} (default: the "
                       "base model's name; a checkpoint albert-bench fine-tuned: the model it was fine-tuned "
                       "from plus its task, e.g. 'albert-base-v2 (rte)')")

    INPUT_HELP = {"max_seq_length": "tokens per input (cut to the model's position table)",
                  "doc_stride": "SQuAD: tokens between the starts of a long context's windows",
                  "max_query_length": "SQuAD: question tokens kept", "max_answer_length": "SQuAD: longest answer, "
                  "in tokens", "n_best": "SQuAD: start and end candidates the decoder pairs",
                  "null_threshold": "SQuAD v2: null odds above it answer \"\"",
                  "max_qa_length": "RACE: question + option tokens kept"}

    def force_arg(p):
        p.add_argument("--force", action="store_true", help="score a checkpoint fine-tuned on another task "
                       "(its albert_bench_inputs.json names it) anyway; the record says so (\"forced\": true)")

    def input_args(p):
        g = p.add_argument_group("input settings", "each defaults to the checkpoint's saved value "
                                 "(albert_bench_inputs.json), else the task's paper recipe")
        for name, kind in INPUT_FLAGS.items():
            g.add_argument("--" + name.replace("_", "-"), type=kind, default=None, dest=name,
                           help=INPUT_HELP[name] + " (default: the checkpoint's saved value, else the recipe's"
                           + (", which tunes it on the split)" if name == "null_threshold" else ")"))

    p = add("finetune", cmd_finetune, "fine-tune a model on a task with the paper's recipe",
            "albert-bench finetune --model albert-base-v2 --task mrpc --data-dir glue/MRPC --recipe paper")
    model_args(p)
    p.add_argument("--output-dir", default=None, help="checkpoints go here (default: runs/TASK)")
    name_arg(p, "this run fine-tunes")
    p.add_argument("--results-dir", default="results", help="where the run record goes")
    p.add_argument("--recipe", choices=["paper", "quick"], default="paper", help="paper: the ALBERT paper's "
                   "hyperparameters for the task; quick: a short run (60 steps, 128 tokens)")
    p.add_argument("--version", choices=["v1", "v2"], default=None, help="recipe variant (default: from the model name)")
    p.add_argument("--max-steps", type=int, default=None, help="override the recipe's train steps (default: the recipe's)")
    p.add_argument("--seed", type=int, default=42, help="seed of the head's initialisation, dropout and data order")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a recipe field (or eval_batch_size, checkpoint_every, an input setting), e.g. "
                        "--set lr=2e-5 --set batch_size=16; checked against the field's type")
    p.add_argument("--micro-batch-size", type=int, default=None, help="per-device batch; accumulation reaches the recipe batch")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto", help=PRECISION)
    p.add_argument("--gradient-checkpointing", action="store_true", help=GRADIENT_CHECKPOINTING)
    p.add_argument("--qa-head", choices=["hf", "albert"], default="hf",
                   help="SQuAD head: hf (span head, [CLS] null score) or albert (the original v2 head)")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT_DIR/checkpoint (a finished run: "
                   "prints its record, trains nothing)")
    p.add_argument("--overwrite", action="store_true", help="OUTPUT_DIR holds another run's checkpoint: delete it "
                   "(checkpoint/, best/, last/, log.jsonl) and start over")
    p.add_argument("--max-train-examples", type=int, default=None, help=MAX_TRAIN)
    p.add_argument("--max-eval-examples", type=int, default=None, help=MAX_EVAL)
    claim_args(p)
    log_every_arg(p)
    report_to_arg(p)

    p = add("evaluate", cmd_evaluate, "score a fine-tuned checkpoint on dev without training",
            "albert-bench evaluate --model runs/mnli/best --task mnli --data-dir glue/MNLI")
    model_args(p)
    p.add_argument("--split", default=None, help="split to score (default: the task's dev splits)")
    p.add_argument("--label-map", default=None, help="checkpoint label names to task labels, e.g. LABEL_0=0,LABEL_1=1")
    force_arg(p)
    name_arg(p, "scored")
    p.add_argument("--results-dir", default="results", help="where the run record goes")
    p.add_argument("--max-eval-examples", type=int, default=None, help=MAX_EVAL)
    input_args(p)

    p = add("predict", cmd_predict, "write test-set predictions (GLUE submission files, SQuAD predictions json)",
            "albert-bench predict --model runs/rte/best --task rte --data-dir glue/RTE --output-dir submission")
    model_args(p, need_data=False)
    p.add_argument("--output-dir", required=True, help="the submission files go here")
    p.add_argument("--split", default=None, help="split to predict (default: the task's test splits)")
    p.add_argument("--label-map", default=None, help="checkpoint label names to task labels")
    force_arg(p)
    name_arg(p, "predicting")
    p.add_argument("--results-dir", default=None, help="where the run record goes (default: OUTPUT_DIR)")
    input_args(p)

    p = add("score", cmd_score, "score a predictions file against gold like the official scripts",
            "albert-bench score squad_v2 --data dev-v2.0.json --predictions predictions.json --na-probs null_odds.json")
    p.add_argument("task", help="task name (see `albert-bench tasks`)")
    p.add_argument("--data", required=True, help="gold file or task folder")
    p.add_argument("--predictions", required=True, help="SQuAD: json id -> text; GLUE: index<TAB>prediction tsv")
    p.add_argument("--na-probs", default=None, help="SQuAD v2.0 null-odds json (id -> float)")

    p = add("fill-mask", cmd_fill_mask, "top-k fillers for [MASK], like the Hugging Face fill-mask pipeline",
            'albert-bench fill-mask --model albert-base-v2 "The man worked as a [MASK]." --top-k 5')
    p.add_argument("text", nargs="+", help="sentences with [MASK]")
    p.add_argument("--model", required=True, help="checkpoint directory with MLM-head weights or Hugging Face id")
    p.add_argument("--tokenizer", default=None, help="directory with spiece.model (default: the model's)")
    p.add_argument("--top-k", type=int, default=5, help="fillers shown per [MASK]")
    p.add_argument("--json", action="store_true", help="print the pipeline structure as JSON")

    p = add("suite", cmd_suite, "the paper's grid: fine-tune every (model, task, seed), resumable, shardable",
            "albert-bench suite --models albert-base-v2 --tasks model-card --seeds 1,2,3 --data-root data")
    p.add_argument("--models", required=True, help="comma list: Hub ids, checkpoint folders or preset:NAME")
    p.add_argument("--tasks", required=True, help="model-card | glue | all | comma list of task names")
    p.add_argument("--seeds", required=True, help="comma list, e.g. 1,2,3 (tables show the median)")
    p.add_argument("--data-root", default=None, help="folder with the official downloads: GLUE task folders "
                   "(CoLA, SST-2, ...), SQuAD/ (or the SQuAD json files), RACE/ (default: Hugging Face datasets)")
    p.add_argument("--output-root", default="runs", help="checkpoints: OUTPUT_ROOT/MODEL/TASK/seedK (default: runs)")
    p.add_argument("--results-dir", default="results", help="where the run records go")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a recipe field for every task "
                   "(an input setting: for the tasks that have it), e.g. --set lr=2e-5")
    p.add_argument("--sweep", action="append", metavar="KEY=V1,V2", help="run every value of a recipe field (repeat "
                   "for a cartesian product), each as --set, in OUTPUT_ROOT/MODEL/TASK/KEY=V/seedK, e.g. "
                   "--sweep lr=1e-5,2e-5,3e-5; `table` picks each (model, task)'s best dev median")
    p.add_argument("--shard", default=None, metavar="K/N", help="run every N-th job from K (0-based); default: "
                   "SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT when set, else all")
    p.add_argument("--dry-run", action="store_true", help="print the plan and each job's finetune line; run nothing")
    p.add_argument("--restarts", type=int, default=0, metavar="K", help="run a degenerate or diverged job again "
                   "with a fresh seed (seed*1000+attempt, folder seedN-restartA), up to K times (default 0)")
    p.add_argument("--recipe", choices=["paper", "quick"], default="paper", help="paper: each task's ALBERT paper "
                   "hyperparameters; quick: a short run (60 steps, 128 tokens)")
    p.add_argument("--max-steps", type=int, default=None, help="override every recipe's train steps (default: the recipe's)")
    p.add_argument("--tokenizer", default=None, help="directory with spiece.model (default: each model's)")
    p.add_argument("--max-train-examples", type=int, default=None, help=MAX_TRAIN)
    p.add_argument("--max-eval-examples", type=int, default=None, help=MAX_EVAL)
    p.add_argument("--micro-batch-size", type=int, default=None, help="per-device batch; accumulation reaches the recipe batch")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto", help=PRECISION)
    p.add_argument("--gradient-checkpointing", action="store_true", help=GRADIENT_CHECKPOINTING)
    claim_args(p)
    log_every_arg(p)
    report_to_arg(p)

    p = add("pretrain", cmd_pretrain,
            "pretrain an ALBERT from scratch: n-gram masked LM + sentence order (or --objective nsp / none), LAMB",
            "albert-bench pretrain --corpus corpus.txt --config albert-base-v2 --vocab-size 30000 "
            "--output-dir runs/pretrain --steps 10000 --seq-len 128 --batch-size 256")
    p.add_argument("--corpus", nargs="+", required=True, metavar="FILE",
                   help="text files: one sentence per line, blank lines between documents")
    p.add_argument("--config", required=True, help="preset name (albert-base-v2, albert-tiny, ...) or config.json")
    tok = p.add_mutually_exclusive_group(required=True)
    tok.add_argument("--tokenizer", default=None, help="directory with spiece.model (required: this or --vocab-size)")
    tok.add_argument("--vocab-size", type=int, default=None, help="train a SentencePiece model of N pieces on the "
                     "corpus (required: this or --tokenizer)")
    p.add_argument("--output-dir", required=True, help="the Hugging Face model folder (+ checkpoint/, log.jsonl)")
    p.add_argument("--steps", type=int, default=125_000, help="optimizer steps (paper: 125000)")
    p.add_argument("--seq-len", type=int, default=512, help="tokens per sequence (paper: 512)")
    p.add_argument("--batch-size", type=int, default=4096, help="global batch, all devices (paper: 4096)")
    p.add_argument("--lr", type=float, default=0.00176, help="peak learning rate (paper: 0.00176 with LAMB)")
    p.add_argument("--optimizer", choices=["lamb", "adamw"], default="lamb", help="lamb: the paper's")
    p.add_argument("--warmup", type=int, default=None, help="warmup steps (default: 2.5%% of --steps, as 3125/125k)")
    p.add_argument("--seed", type=int, default=12345, help="seed of the masking, instances and initialisation")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT_DIR/checkpoint")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: the GPU if any)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto", help=PRECISION)
    p.add_argument("--micro-batch-size", type=int, default=None, help="per-device forward batch (accumulation fills the rest)")
    p.add_argument("--gradient-checkpointing", action="store_true", help=GRADIENT_CHECKPOINTING)
    p.add_argument("--objective", choices=["sop", "nsp", "none"], default="sop",
                   help="sentence-level task beside MLM: sop (ALBERT's sentence order), nsp (BERT's next sentence, "
                        "B from another document half the time) or none (MLM only); the paper's Table 5")
    p.add_argument("--heldout-fraction", type=float, default=0.0,
                   help="keep the corpus' last share of sentences out; report masked-token, SOP and NSP accuracy "
                        "on it (the sentence head's and a linear probe's)")
    p.add_argument("--results-dir", default=None,
                   help="also write a run record (kind pretrain) there, e.g. results/ (default: none)")
    p.add_argument("--cache-dir", default=None, help="tokenized-corpus cache (default: OUTPUT_DIR/token_cache)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config field, e.g. --set hidden_size=256 --set num_hidden_layers=4")
    p.add_argument("--sharing", choices=["all", "attention", "ffn", "none"], default=None,
                   help="cross-layer sharing (paper Table 4): all = ALBERT, none = every layer its own, attention / "
                        "ffn = only that sublayer shared (a folder only albert_bench loads); default: the config's")
    log_every_arg(p)
    report_to_arg(p)

    p = add("bias", cmd_bias, "bias probes on a masked-LM checkpoint: the card's fill-mask probe, "
            "template scores (Kurita et al. 2019), CrowS-Pairs (Nangia et al. 2020)",
            "albert-bench bias --model albert-base-v2 --probe all --crows-pairs crows_pairs_anonymized.csv")
    p.add_argument("--model", required=True, help="checkpoint directory with MLM-head weights (or Hugging Face id)")
    p.add_argument("--tokenizer", default=None, help="directory with spiece.model (default: the model's)")
    p.add_argument("--probe", choices=["card", "templates", "crows-pairs", "all"], default=None,
                   help="default: card and templates, plus crows-pairs when --crows-pairs FILE is given; "
                        "all / crows-pairs without a file read the Hugging Face dataset (online only)")
    p.add_argument("--top-k", type=int, default=5, help="fill-mask predictions shown by the card probe")
    p.add_argument("--templates", default=None, help="template file (default: the shipped set; format in "
                   "albert_bench/bias/templates.py)")
    p.add_argument("--crows-pairs", default=None, help="official crows_pairs_anonymized.csv "
                   "(default: the Hugging Face dataset nyu-mll/crows_pairs, online only)")
    p.add_argument("--out", default="reports/bias", help="markdown summary and plots (default: reports/bias)")
    p.add_argument("--results-dir", default="results", help="where the run record goes (default: results)")
    p.add_argument("--batch-size", type=int, default=64, help="masked sentences per forward pass")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto (the GPU if any)")

    p = add("card", cmd_card, "write a Hugging Face model card (model-index from the run records, bias section)",
            "albert-bench card --model runs/albert-base-v2 --results results --out README.md")
    p.add_argument("--model", required=True, help="checkpoint directory (its config.json)")
    p.add_argument("--results", default="results", help="run records to take scores from (default: results)")
    p.add_argument("--bias", default=None, help="a bias record (default: the newest one for this model, if any)")
    p.add_argument("--out", default=None, help="where the card goes (default: MODEL/README.md)")
    p.add_argument("--name", default=None, help="the card's title and model-index name (default: the model's "
                   "name; a fine-tuned checkpoint: its base model plus task, e.g. 'albert-base-v2 (rte)')")
    p.add_argument("--repo-id", default=None, help="the Hub repository the card's \"How to use\" loads from "
                   "(default: the model's Hub id, or the placeholder <your-hub-id> for a local folder)")
    p.add_argument("--license", default="apache-2.0", help="the card's license field")
    p.add_argument("--language", default="en", help="the card's language field")

    p = add("bench", cmd_bench, "throughput and memory against transformers, measured in one run",
            "albert-bench bench model --size base")
    p.add_argument("what", choices=["model", "scoring", "speedup"], help="model: inference and training-step "
                   "throughput and peak memory; scoring: dev-set scoring; speedup: the paper's Table 2 Speedup "
                   "(training throughput of the BERT-shaped and v1 ALBERT configs relative to BERT-large)")
    p.add_argument("--size", default=None, help="model / scoring: ALBERT v2 size: base (default), large, xlarge, xxlarge")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (the GPU if any; speedup: one device, the GPU "
                   "if any)")
    p.add_argument("--quick", action="store_true", help="the tiny preset (albert-tiny) and short inputs: seconds, a smoke test")
    g = p.add_argument_group("speedup")
    g.add_argument("--batch-size", type=int, default=None, help="sequences a step (default: 2 on CPU, 32 on GPU)")
    g.add_argument("--seq-len", type=int, default=None, help="tokens a sequence (default: 64 on CPU, 512 on GPU)")
    g.add_argument("--steps", type=int, default=2, help="timed steps a measurement, after one warmup (default 2)")
    g.add_argument("--rounds", type=int, default=1, help="ABBA rounds: each config measured 2x this (default 1)")
    g.add_argument("--results-dir", default=None, help="write the measurement as a record here, for "
                   "`albert-bench paper --table 2 --results DIR`")

    p = add("local-slurm", cmd_local_slurm, "a one-node SLURM cluster on this machine (root, Debian's slurm-wlm), "
            "to try the grid's SLURM workflow", 'eval "$(albert-bench local-slurm start /tmp/slurm)"')
    p.add_argument("action", choices=["start", "stop", "status"], help="start, stop or show the cluster")
    p.add_argument("dir", help="where its config, state, spool, pid and log files go")

    add_report_commands(add)
    return parser


COMMANDS = ("demo", "tasks", "finetune", "evaluate", "predict", "score", "fill-mask", "suite", "pretrain", "bench", "local-slurm", "bias", "card", "table", "paper",
            "compare", "plot", "report")


def continue_command(command: str, argv: list[str]) -> str:
    """The line that continues a stopped run: the same arguments, with --resume for finetune and
    pretrain (the suite resumes its interrupted job by itself)."""
    import shlex
    args = list(argv)
    if command in ("finetune", "pretrain") and "--resume" not in args:
        args.append("--resume")
    return shlex.join(["albert-bench", *args])


def main(argv: list[str] | None = None) -> int:
    from albert_bench.engine.health import TrainingDiverged
    from albert_bench.engine.signals import EXIT_STOPPED, TrainingStopped
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except TrainingStopped as stopped:
        # A stop signal is no error: one line that says how to go on, no traceback.
        import os
        if int(os.environ.get("RANK", "0")) == 0:
            print(f"albert-bench {args.command}: {stopped}; continue with: {continue_command(args.command, argv)}",
                  file=sys.stderr, flush=True)
        return EXIT_STOPPED
    except TrainingDiverged as err:
        # The record (marked diverged) is written; the run itself failed: one line, exit 1.
        where = f" (record {err.record['path']})" if err.record and err.record.get("path") else ""
        print(f"albert-bench {args.command}: error: {err}{where}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, KeyError) as err:
        # Errors a user can cause come as one message, not a traceback (set ALBERT_BENCH_DEBUG=1 for it).
        import os
        if os.environ.get("ALBERT_BENCH_DEBUG"):
            raise
        print(f"albert-bench {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
