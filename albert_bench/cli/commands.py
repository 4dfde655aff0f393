"""The bodies of the run commands (demo, tasks, finetune, evaluate, predict, score, fill-mask, suite,
pretrain, bench, bias, card): each turns parsed flags into one keyword-argument call. The parser
is in cli/__init__.py, the report commands in cli/reports.py."""
from __future__ import annotations

import json
import sys

from albert_bench.engine import inputs as _inputs


def _parse_overrides(pairs: list[str] | None) -> dict:
    """`--set lr=2e-5 --set train_steps=100` -> {"lr": 2e-05, "train_steps": 100}. The types are
    checked against the fields they set later, before anything loads (engine/fields.py)."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"--set {pair}: expected KEY=VALUE (e.g. --set lr=2e-5)")
        key, value = pair.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _parse_sweep(pairs: list[str] | None) -> dict:
    """`--sweep lr=1e-5,2e-5 --sweep batch_size=16,32` -> {"lr": [1e-05, 2e-05], "batch_size": [16, 32]};
    each value read as --set reads it (the plan checks it against its field's type, before anything loads)."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"--sweep {pair}: expected KEY=V1,V2,... (e.g. --sweep lr=1e-5,2e-5,3e-5)")
        key, values = (part.strip() for part in pair.split("=", 1))
        if key in out:
            raise ValueError(f"--sweep {key} given twice; put every value in one --sweep {key}=V1,V2,...")
        out[key] = [_parse_overrides([f"{key}={v.strip()}"])[key] for v in values.split(",") if v.strip()]
    return out


def _parse_label_map(text: str | None) -> dict | None:
    """`--label-map LABEL_0=entailment,LABEL_1=not_entailment` -> dict."""
    if not text:
        return None
    out = {}
    for item in text.split(","):
        if "=" not in item:
            raise ValueError(f"--label-map {text}: expected NAME=LABEL pairs separated by commas, got {item!r} "
                             "(e.g. --label-map LABEL_0=entailment,LABEL_1=not_entailment)")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


TASKS_WIDTH = 100   # `albert-bench tasks` lines stay within this many columns


def cmd_tasks(args) -> int:
    """One block per task: name, head and Hugging Face id, then its metrics and official files,
    each wrapped to TASKS_WIDTH columns (squad_v2 alone has 14 metrics)."""
    import textwrap

    from albert_bench.tasks import REGISTRY
    if getattr(args, "baselines", False):
        return _print_baselines(args)
    arrows = {True: " ↑", False: " ↓", None: ""}  # counts and thresholds have no direction
    print("task: head, Hugging Face id; metrics (↑ higher is better); official files (under --data-dir)")
    for task in REGISTRY.values():
        hf = task.source.hf_path + (f" ({task.source.hf_config})" if task.source.hf_config else "") \
            if task.source.hf_path else "-"
        metrics = [f"{m.name}{arrows[m.higher_is_better]}" for m in task.metrics]
        files = sorted(set(task.source.files.values()))
        print(f"\n{task.name}: {task.head}, {hf}")
        for label, items in (("metrics", metrics), ("files", files)):
            # wrap between items only ("f1 ↑" stays one piece): their spaces are NULs while wrapping
            text = textwrap.fill(", ".join(i.replace(" ", "\0") for i in items), TASKS_WIDTH, break_long_words=False,
                                 initial_indent=f"  {label + ':':<9}", subsequent_indent=" " * 11, break_on_hyphens=False)
            print(text.replace("\0", " "))
    return 0


def _print_baselines(args) -> int:
    """`tasks --baselines`: each task's trivial baseline from its dev labels (tasks/baselines.py);
    --task with its folder, or every task under a data root (the suite's layout)."""
    from albert_bench.suite.plan import NOT_IN_ALL, task_data_dir
    from albert_bench.tasks import REGISTRY, DataError, get_task
    from albert_bench.tasks.baselines import format_baselines
    if not args.data_dir:
        raise ValueError("--baselines needs --data-dir: a task's folder (with --task) or a data root "
                         "holding the task folders (CoLA, SST-2, ..., SQuAD, RACE)")
    tasks = [get_task(args.task)] if args.task else [t for t in REGISTRY.values() if t.name not in NOT_IN_ALL]
    rows = []
    for task in tasks:
        folder = args.data_dir if args.task else task_data_dir(task, args.data_dir)
        try:
            rows += [task.baseline(task.load(split, folder), split) for split in task.eval_splits]
        except DataError as err:
            if args.task:
                raise
            rows.append((task.name, f"no data: {str(err).split(';')[0]}"))
    print(format_baselines(rows))
    return 0


def cmd_finetune(args) -> int:
    import os

    from albert_bench.engine import runs
    from albert_bench.suite import claims
    from albert_bench.tasks import get_task
    task = get_task(args.task)
    output_dir = args.output_dir or f"runs/{task.name}"   # runs.finetune's default
    claims.validate(args.claim_timeout, args.heartbeat)
    # Refuse a folder another live process trains (ClaimHeld names it). Under torchrun rank 0
    # claims for the group: if it refuses, torchrun stops the other ranks.
    claim = claims.acquire(output_dir, timeout=args.claim_timeout, heartbeat=args.heartbeat) \
        if int(os.environ.get("RANK", "0")) == 0 else None
    try:
        record = _finetune(runs, task, args, output_dir)
    finally:
        if claim is not None:
            claim.release()
    print(json.dumps(record["metrics"], indent=2))
    print(finetune_summary(record), file=sys.stderr)
    return 0


def _finetune(runs, task, args, output_dir) -> dict:
    return runs.finetune(
        task=task, model=args.model, tokenizer=args.tokenizer, data_dir=args.data_dir,
        output_dir=output_dir, results_dir=args.results_dir, recipe=args.recipe,
        version=args.version, max_steps=args.max_steps, seed=args.seed, overrides=_parse_overrides(args.set),
        micro_batch_size=args.micro_batch_size, precision=args.precision,
        gradient_checkpointing=args.gradient_checkpointing, qa_head=args.qa_head, resume=args.resume,
        overwrite=args.overwrite, max_train_examples=args.max_train_examples,
        max_eval_examples=args.max_eval_examples, log_every=args.log_every, name=args.name,
        report_to=args.report_to, tracking_dir=args.tracking_dir)


def finetune_summary(record: dict) -> str:
    """The lines a person reads at the end: best step and score, checkpoint, record, wall time."""
    from albert_bench.engine.progress import clock
    main, best = record.get("main_metric"), record["metrics"].get("best") or {}
    first = next(iter(best), None)
    score = best[first].get(main) if first else None
    segments = record.get("segments") or []
    lines = [f"finetune: best step {record.get('best_step')}"
             + (f" ({first} {main} {score:.4f})" if isinstance(score, (int, float)) else ""),
             f"  checkpoint: {(record.get('checkpoints') or {}).get('best') or (record.get('checkpoints') or {}).get('last')}",
             f"  record: {record.get('path')}",
             f"  wall time: {clock(record.get('wall_time_s') or 0)}"
             + (f" over {len(segments)} segments" if len(segments) > 1 else "")]
    return "\n".join(lines)


# Input settings `evaluate` / `predict` take as flags: the same names and types as finetune's --set keys.
INPUT_FLAGS = {name: float if name == "null_threshold" else kind for name, kind in _inputs.TYPES.items()}


def _input_flags(args) -> dict:
    return {name: getattr(args, name) for name in INPUT_FLAGS if getattr(args, name) is not None}


def cmd_evaluate(args) -> int:
    from albert_bench.engine import runs
    from albert_bench.tasks import get_task
    record = runs.evaluate(
        task=get_task(args.task), model=args.model, tokenizer=args.tokenizer, data_dir=args.data_dir,
        split=args.split, label_map=_parse_label_map(args.label_map), results_dir=args.results_dir,
        max_eval_examples=args.max_eval_examples, input_settings=_input_flags(args), force=args.force,
        name=args.name)
    print(json.dumps(record["metrics"], indent=2))
    return 0


def cmd_predict(args) -> int:
    from albert_bench.engine import runs
    from albert_bench.tasks import get_task
    paths = runs.predict(task=get_task(args.task), model=args.model, tokenizer=args.tokenizer,
                         data_dir=args.data_dir, output_dir=args.output_dir, results_dir=args.results_dir,
                         splits=[args.split] if args.split else None, label_map=_parse_label_map(args.label_map),
                         input_settings=_input_flags(args), force=args.force, name=args.name)
    for path in paths:
        print(path)
    return 0


def cmd_score(args) -> int:
    from albert_bench.tasks import get_task
    metrics = get_task(args.task).score_file(args.data, args.predictions, na_probs=args.na_probs)
    print(json.dumps(metrics, indent=2))
    return 0


def cmd_fill_mask(args) -> int:
    from albert_bench import AlbertForMaskedLM, AlbertTokenizer
    from albert_bench.engine.fill_mask import fill_mask, format_fill_mask
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
    from albert_bench.demo.run import run_demo
    from albert_bench.tasks import get_task
    run_demo(get_task=get_task, output_dir=args.output_dir, size=args.size, seed=args.seed,
             results_dir=args.results_dir)
    return 0


def cmd_suite(args) -> int:
    from albert_bench.suite import runner as suite
    from albert_bench.tasks import REGISTRY, get_task
    jobs = suite.plan(models=args.models, tasks=args.tasks, seeds=args.seeds, data_root=args.data_root,
                      output_root=args.output_root, results_dir=args.results_dir, overrides=_parse_overrides(args.set),
                      sweep=_parse_sweep(args.sweep), get_task=get_task, task_names=list(REGISTRY), recipe=args.recipe,
                      max_steps=args.max_steps, tokenizer=args.tokenizer, max_train_examples=args.max_train_examples,
                      max_eval_examples=args.max_eval_examples)
    summary = suite.run_suite(jobs, get_task=get_task, shard=suite.parse_shard(args.shard), dry_run=args.dry_run,
                              micro_batch_size=args.micro_batch_size, precision=args.precision,
                              gradient_checkpointing=args.gradient_checkpointing, log_every=args.log_every,
                              claim_timeout=args.claim_timeout, heartbeat=args.heartbeat,
                              report_to=args.report_to, tracking_dir=args.tracking_dir, restarts=args.restarts)
    if summary.stopped:
        raise summary.stopped     # main prints the one line and exits 75
    if not args.dry_run and suite.is_main_process():
        print(suite.final_tables(summary, args.tasks))
    return summary.exit_code


def _config_overrides(pairs: list[str] | None) -> dict:
    """pretrain's --set: AlbertConfig fields, each checked against its type before the corpus is read."""
    from albert_bench.engine.fields import check_values, field_types
    from albert_bench.modeling.config import AlbertConfig
    kinds = {k: v for k, v in field_types(AlbertConfig).items() if k != "extra"}
    return check_values(_parse_overrides(pairs), kinds, AlbertConfig().to_dict(), what="AlbertConfig field")


def cmd_pretrain(args) -> int:
    from albert_bench.pretraining.pretrain import pretrain
    config_overrides = _config_overrides(args.set)
    summary = pretrain(
        corpus=args.corpus, config=args.config, tokenizer=args.tokenizer, vocab_size=args.vocab_size,
        output_dir=args.output_dir, steps=args.steps, seq_len=args.seq_len, batch_size=args.batch_size, lr=args.lr,
        optimizer=args.optimizer, warmup=args.warmup, seed=args.seed, resume=args.resume, device=args.device,
        precision=args.precision, micro_batch_size=args.micro_batch_size,
        gradient_checkpointing=args.gradient_checkpointing, heldout_fraction=args.heldout_fraction,
        cache_dir=args.cache_dir, config_overrides=config_overrides, log_every=args.log_every,
        report_to=args.report_to, tracking_dir=args.tracking_dir, objective=args.objective,
        results_dir=args.results_dir, sharing=args.sharing)
    print(json.dumps({k: summary[k] for k in ("output_dir", "steps", "objective", "loss", "mlm_loss", "sentence_loss",
                                              "heldout", "record") if k in summary}, indent=2))
    return 0


SPEEDUP_FLAGS = {"batch_size": None, "seq_len": None, "steps": 2, "rounds": 1, "results_dir": None}


def cmd_bench(args) -> int:
    from albert_bench import bench
    if args.what == "speedup":
        return _bench_speedup(args)
    given = [f"--{k.replace('_', '-')}" for k, default in SPEEDUP_FLAGS.items() if getattr(args, k) != default]
    if given:
        raise ValueError(f"{', '.join(given)}: only for `bench speedup`; `bench {args.what}` sets its own batches")
    fn = {"model": bench.bench_model, "scoring": bench.bench_scoring}[args.what]
    rows = fn(size=args.size or "base", device=args.device, quick=args.quick)
    print(bench.format_table(rows))
    return 0


def _bench_speedup(args) -> int:
    import time

    from albert_bench.bench.common import _devices
    from albert_bench.bench.speedup import format_speedup, measure_speedup, write_speedup_record
    if args.size is not None:
        raise ValueError("--size: `bench speedup` measures all six configurations of the paper's Table 2; leave it out")
    device = _devices(args.device)[-1]     # one device: auto = the GPU if any, else the CPU (checked there)
    gpu = device.startswith("cuda")
    configs = None
    if args.quick:
        from albert_bench.bench.speedup import quick_configs
        configs = quick_configs()
    started = time.time()
    result = measure_speedup(configs, batch_size=args.batch_size or (32 if gpu else 2),
                             seq_len=args.seq_len or (512 if gpu else 64), steps=args.steps, rounds=args.rounds,
                             device=device)
    print(format_speedup(result))
    if args.results_dir:
        print(f"wrote {write_speedup_record(result, args.results_dir, time.time() - started)}")
    return 0


def cmd_local_slurm(args) -> int:
    from albert_bench.suite.local_slurm import SlurmError, main
    try:
        return main(args.action, args.dir)
    except SlurmError as err:
        raise ValueError(str(err)) from None


def cmd_bias(args) -> int:
    from albert_bench.bias import run_bias
    # Offline by default: CrowS-Pairs only with its CSV, unless asked for by name (then the Hub).
    probe = args.probe or (["card", "templates"] + (["crows-pairs"] if args.crows_pairs else []))
    record = run_bias(model=args.model, tokenizer=args.tokenizer, probe=probe, top_k=args.top_k,
                      templates=args.templates, crows_pairs=args.crows_pairs, out_dir=args.out,
                      results_dir=args.results_dir, batch_size=args.batch_size, device=args.device)
    print(record["outputs"]["summary"])
    print(record["path"])
    return 0


def cmd_card(args) -> int:
    from albert_bench.reports.model_card import write_model_card
    from albert_bench.tasks import REGISTRY
    print(write_model_card(model=args.model, results_dir=args.results, bias=args.bias, out=args.out,
                           tasks=REGISTRY, license=args.license, language=args.language, name=args.name,
                           repo_id=args.repo_id))
    return 0
