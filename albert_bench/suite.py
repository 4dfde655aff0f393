"""The paper's grid as one resumable command: one fine-tune run per (model, task, seed).

    albert-bench suite --models albert-base-v2 --tasks model-card --seeds 1,2,3 --data-root data
    albert-bench suite ... --shard 0/4        # this process runs jobs 0, 4, 8, ... (0-based)
    albert-bench suite ... --dry-run          # the plan, and each job's `albert-bench finetune` line

    from albert_bench import suite
    from tasks import REGISTRY, get_task
    jobs = suite.plan(["albert-base-v2"], "model-card", [1, 2, 3], data_root="data", get_task=get_task,
                      task_names=list(REGISTRY))
    summary = suite.run_suite(jobs, get_task=get_task)      # summary.exit_code: 1 if any job failed

Task groups: `model-card` (squad_v1, squad_v2, mnli, sst2, race), `glue` (the nine GLUE tasks),
`all` (every registered task but ax, which is test-only), or a comma list of task names.

Data under --data-root, as the official downloads unpack (names as in `albert-bench tasks`):
    DATA_ROOT/CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE, WNLI   the GLUE task folders
    DATA_ROOT/SQuAD/train-v1.1.json, dev-v1.1.json, train-v2.0.json, dev-v2.0.json
        (or the json files straight in DATA_ROOT; a folder named `squad` works too)
    DATA_ROOT/RACE/{train,dev,test}/{middle,high}/*.txt
Without --data-root every task reads its Hugging Face dataset (online).

Each job writes checkpoints to OUTPUT_ROOT/<model>/<task>/seed<k> and its record to RESULTS_DIR.
A job is skipped when RESULTS_DIR already holds a finetune record of the same job: same model
source, tokenizer, task and seed, and the same resolved recipe (every Recipe field after
--set / --max-steps, recipe name, version, example limits, loop options and input settings
given with --set), compared field by field with what runs.finetune records. A job whose
output folder holds a resumable checkpoint but no record continues from it (exactly, see
train.py), so killing the suite at any point and starting it again ends with the same
records. A failing job is reported and the others still run.

Under torchrun every process runs the same plan and each job trains data-parallel; the suite
joins the process group once and only rank 0 prints the summary (runs.finetune writes the
records from rank 0 only).
"""
from __future__ import annotations

import gc
import json
import os
import shlex
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from albert_bench import records, runs

MODEL_CARD_TASKS = ("squad_v1", "squad_v2", "mnli", "sst2", "race")
GLUE_TASKS = ("cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli")
NOT_IN_ALL = ("ax",)   # test-only (scored with an MNLI model): nothing to fine-tune
SQUAD_FOLDERS = ("SQuAD", "squad")   # where the SQuAD json files may sit under --data-root


@dataclass(frozen=True)
class Job:
    """One fine-tune run of the grid; `finetune_kwargs()` is what runs.finetune gets."""
    model: str
    task: str
    seed: int
    version: str                       # "v1" | "v2": picks the recipe variant
    output_dir: str
    results_dir: str
    data_dir: str | None               # None: the task's Hugging Face dataset
    recipe: str = "paper"
    overrides: dict = field(default_factory=dict)   # --set values that apply to this task
    max_steps: int | None = None
    tokenizer: str | None = None
    max_train_examples: int | None = None
    max_eval_examples: int | None = None
    resolved: dict = field(default_factory=dict)    # Recipe fields after overrides / max_steps
    input_values: dict = field(default_factory=dict)  # the task's input settings (SQuAD doc_stride...) after --set

    @property
    def label(self) -> str:
        return f"{self.model} {self.task} seed {self.seed}"

    def finetune_kwargs(self) -> dict:
        return dict(model=self.model, tokenizer=self.tokenizer, data_dir=self.data_dir, output_dir=self.output_dir,
                    results_dir=self.results_dir, recipe=self.recipe, version=self.version,
                    max_steps=self.max_steps, seed=self.seed, overrides=dict(self.overrides),
                    max_train_examples=self.max_train_examples, max_eval_examples=self.max_eval_examples)

    def identity(self) -> dict:
        """What makes two runs the same run, in the shape record_identity reads from a record."""
        loop = {k: v for k, v in self.overrides.items() if k in runs.LOOP_OPTIONS}   # compared when set
        recipe = {**self.resolved, "name": self.recipe, "version": self.version,
                  "max_train_examples": self.max_train_examples, "max_eval_examples": self.max_eval_examples, **loop}
        return records.to_jsonable({"model": self.model, "tokenizer": self.tokenizer or self.model,
                                    "task": self.task, "seed": self.seed, "recipe": recipe,
                                    "inputs": self.input_values})

    def command(self, resume: bool = False, options: Mapping | None = None) -> str:
        """The equivalent `albert-bench finetune` line (copy-pasteable in a POSIX shell); `options`
        are run_suite's finetune options (micro_batch_size, precision, gradient_checkpointing)."""
        options = options or {}
        argv = ["albert-bench", "finetune", "--model", self.model, "--task", self.task, "--seed", str(self.seed),
                "--version", self.version, "--output-dir", self.output_dir, "--results-dir", self.results_dir]
        for flag, value in (("--data-dir", self.data_dir), ("--tokenizer", self.tokenizer),
                            ("--max-steps", self.max_steps), ("--max-train-examples", self.max_train_examples),
                            ("--max-eval-examples", self.max_eval_examples)):
            if value is not None:
                argv += [flag, str(value)]
        if self.recipe != "paper":
            argv += ["--recipe", self.recipe]
        for key, value in self.overrides.items():
            argv += ["--set", f"{key}={_set_text(value)}"]
        if options.get("micro_batch_size"):
            argv += ["--micro-batch-size", str(options["micro_batch_size"])]
        if options.get("precision", "auto") != "auto":
            argv += ["--precision", options["precision"]]
        if options.get("gradient_checkpointing"):
            argv.append("--gradient-checkpointing")
        return shlex.join(argv + (["--resume"] if resume else []))


def _set_text(value: Any) -> str:
    """A --set value the CLI reads back as `value` (it tries JSON first, then takes the text)."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.dumps(value)


def record_identity(record: Mapping, like: Mapping) -> dict:
    """The fields of a finetune record that `like` (a Job.identity()) names, in the same shape."""
    recipe, inputs = record.get("recipe") or {}, record.get("inputs") or {}
    return records.to_jsonable({
        "model": (record.get("model") or {}).get("source"), "tokenizer": record.get("tokenizer"),
        "task": record.get("task"), "seed": record.get("seed"),
        "recipe": {k: recipe.get(k) for k in like["recipe"]},
        "inputs": {k: (inputs.get(k) or {}).get("value") for k in like["inputs"]}})


# ---- the plan ----------------------------------------------------------------------------

def expand_tasks(spec: str | Sequence[str], get_task: Callable, task_names: Sequence[str] | None = None) -> list[str]:
    """`model-card`, `glue`, `all` or task names (a comma list or a sequence) -> registry names,
    in order, without repeats. `all` needs `task_names` (the registry's names)."""
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [str(s).strip() for s in spec]
    names: list[str] = []
    for item in filter(None, items):
        if item.lower() == "model-card":
            group = MODEL_CARD_TASKS
        elif item.lower() == "glue":
            group = GLUE_TASKS
        elif item.lower() == "all":
            if task_names is None:
                raise ValueError("--tasks all needs the registry's task names (plan(..., task_names=...))")
            group = tuple(n for n in task_names if n not in NOT_IN_ALL)
        else:
            group = (get_task(item).name,)   # unknown names raise listing the known ones
            if group[0] in NOT_IN_ALL:
                raise ValueError(f"--tasks {item}: {group[0]} is test-only, nothing to fine-tune; the suite's mnli "
                                 f"jobs give the model: albert-bench predict --task {group[0]} --model RUN/best")
        names += [n for n in group if n not in names]
    if not names:
        raise ValueError(f"--tasks {spec!r} names no task; use model-card, glue, all or task names like rte,mrpc")
    return names


def model_folder_name(model: str) -> str:
    """The folder of a model's runs: a local checkpoint's directory name, a Hub id with / as --
    (as the Hugging Face cache does), a preset as preset-NAME."""
    model = str(model)
    if model.startswith(runs.PRESET_PREFIX):
        return "preset-" + model[len(runs.PRESET_PREFIX):]
    path = Path(model)
    if path.is_dir():
        return path.resolve().name
    return model.strip("/").replace("/", "--")


def task_data_dir(task: Any, data_root: str | Path | None) -> str | None:
    """The --data-dir of `task` under data_root (the official layout, module docstring)."""
    if data_root is None:
        return None
    root = Path(data_root)
    files = list((task.source.files if getattr(task, "source", None) else {}).values())
    folders = {Path(f).parts[0] for f in files if len(Path(f).parts) > 1}
    if len(folders) == 1:              # GLUE (CoLA/train.tsv...) and RACE (RACE/train): the task folder
        return str(root / folders.pop())
    # SQuAD: json files, no folder of their own. Take the first folder that holds one of them.
    for candidate in (*(root / name for name in SQUAD_FOLDERS), root):
        if any((candidate / f).is_file() for f in files):
            return str(candidate)
    return str(root / SQUAD_FOLDERS[0]) if files else str(root)


def plan(models: str | Sequence[str], tasks: str | Sequence[str], seeds: str | Sequence[int],
         data_root: str | Path | None = None, output_root: str | Path = "runs", results_dir: str | Path = "results",
         overrides: dict | None = None, get_task: Callable | None = None, task_names: Sequence[str] | None = None,
         recipe: str = "paper", max_steps: int | None = None, tokenizer: str | None = None,
         task_overrides: Mapping[str, dict] | None = None, max_train_examples: int | None = None,
         max_eval_examples: int | None = None) -> list[Job]:
    """Every (model, task, seed) job, models outermost, seeds innermost. `overrides` (--set)
    apply to every task that has the field (a SQuAD input setting such as doc_stride is left
    out of the GLUE jobs); `task_overrides` {task: {...}} add per-task values on top. A bad
    --set key or task name raises here, before anything runs."""
    if get_task is None:
        raise ValueError("plan needs get_task (the task registry's lookup; core never imports tasks)")
    models = [m.strip() for m in models.split(",")] if isinstance(models, str) else [str(m) for m in models]
    models = [m for m in models if m]
    seeds = _parse_seeds(seeds)
    if not models:
        raise ValueError("--models names no model; e.g. --models albert-base-v2,albert-large-v2")
    folders = {}
    for m in models:
        name = model_folder_name(m)
        if name in folders and folders[name] != m:
            raise ValueError(f"--models {folders[name]} and {m} would share the folder {name!r} under "
                             "--output-root; run them in separate suites with different --output-root")
        folders[name] = m
    task_objs = [get_task(n) for n in expand_tasks(tasks, get_task, task_names)]
    all_inputs = {k for t in task_objs for k in getattr(t, "input_settings", ())}
    jobs = []
    for model in models:
        version = runs.infer_version(model)
        for task in task_objs:
            own = {k: v for k, v in (overrides or {}).items()
                   if k not in all_inputs or k in getattr(task, "input_settings", ())}
            own.update((task_overrides or {}).get(task.name, {}))
            resolved = runs.resolve_recipe(task, recipe, version, own, max_steps).to_dict()
            input_values = {k: own.get(k, getattr(task, k)) for k in getattr(task, "input_settings", ())}
            for seed in seeds:
                jobs.append(Job(
                    model=model, task=task.name, seed=seed, version=version,
                    output_dir=str(Path(output_root) / model_folder_name(model) / task.name / f"seed{seed}"),
                    results_dir=str(results_dir), data_dir=task_data_dir(task, data_root), recipe=recipe,
                    overrides=own, max_steps=max_steps, tokenizer=tokenizer, max_train_examples=max_train_examples,
                    max_eval_examples=max_eval_examples, resolved=records.to_jsonable(resolved),
                    input_values=records.to_jsonable(input_values)))
    return jobs


def _parse_seeds(seeds: str | Sequence[int]) -> list[int]:
    items = seeds.split(",") if isinstance(seeds, str) else list(seeds)
    try:
        out = [int(str(s).strip()) for s in items if str(s).strip()]
    except ValueError:
        raise ValueError(f"--seeds {seeds!r}: expected whole numbers separated by commas, e.g. --seeds 1,2,3") from None
    if not out or len(set(out)) != len(out):
        raise ValueError(f"--seeds {seeds!r}: give one or more distinct seeds, e.g. --seeds 1,2,3")
    return out


# ---- sharding ----------------------------------------------------------------------------

def parse_shard(text: str | None, env: Mapping[str, str] | None = None) -> tuple[int, int] | None:
    """`--shard K/N` (K 0-based: shards 0/N ... N-1/N), else a SLURM array's own shard
    (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT), else None."""
    env = os.environ if env is None else env
    if text is not None:
        try:
            k, n = (int(x) for x in str(text).split("/"))
        except ValueError:
            raise ValueError(f"--shard {text!r}: expected K/N, e.g. --shard 0/4 (K counts from 0)") from None
        where = f"--shard {text}"
    elif env.get("SLURM_ARRAY_TASK_ID") and env.get("SLURM_ARRAY_TASK_COUNT"):
        k = int(env["SLURM_ARRAY_TASK_ID"]) - int(env.get("SLURM_ARRAY_TASK_MIN") or 0)
        n = int(env["SLURM_ARRAY_TASK_COUNT"])
        where = f"SLURM array task {env['SLURM_ARRAY_TASK_ID']} of {n}"
    else:
        return None
    if n < 1 or not 0 <= k < n:
        raise ValueError(f"{where}: shard {k} of {n} does not exist; K runs from 0 to N-1 (a SLURM array "
                         "must be contiguous with step 1, e.g. --array=0-3)")
    return k, n


def shard_jobs(jobs: Sequence[Job], shard: tuple[int, int] | None) -> list[Job]:
    """Every N-th job starting at K; the N shards together hold every job exactly once."""
    if shard is None:
        return list(jobs)
    k, n = shard
    return list(jobs[k::n])


# ---- running -----------------------------------------------------------------------------

@dataclass
class Summary:
    done: list = field(default_factory=list)      # (job, record) trained now (resumed or new)
    skipped: list = field(default_factory=list)   # (job, record) found in the results folder
    failed: list = field(default_factory=list)    # (job, "ErrorType: message")
    resumed: list = field(default_factory=list)   # jobs that continued from a checkpoint

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    @property
    def records(self) -> list[dict]:
        return [r for _, r in self.done + self.skipped]

    def format(self) -> str:
        lines = [f"suite: {len(self.done)} done ({len(self.resumed)} resumed), {len(self.skipped)} skipped "
                 f"(record already there), {len(self.failed)} failed"]
        lines += [f"  FAILED {job.label}: {error}" for job, error in self.failed]
        return "\n".join(lines)


def has_checkpoint(job: Job) -> bool:
    """A resumable checkpoint (or its .old copy from a crash between renames, see train.py)."""
    out = Path(job.output_dir)
    return (out / "checkpoint").is_dir() or (out / "checkpoint.old").is_dir()


def checkpoint_conflict(job: Job) -> str | None:
    """Why the checkpoint in the job's folder cannot be resumed by this job (another run's:
    other seed or recipe, see train.RESUME_KEYS), or None."""
    from albert_bench.train import RESUME_KEYS
    out = Path(job.output_dir)
    folder = out / "checkpoint" if (out / "checkpoint").is_dir() else out / "checkpoint.old"
    try:
        saved = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))["settings"]
    except (OSError, ValueError, KeyError):
        return None   # unreadable: train's own resume check reports it
    want = {**job.resolved, "seed": job.seed}
    changed = [f"{k}: {saved.get(k)} there, {want[k]} here" for k in RESUME_KEYS if k in want and saved.get(k) != want[k]]
    if not changed:
        return None
    return (f"{folder} holds another run's checkpoint ({', '.join(changed)}); delete {out} to start this job "
            "over, or give this grid another --output-root")


def find_record(job: Job, known: Sequence[dict]) -> dict | None:
    """The newest finetune record in `known` of this very job, or None."""
    want = job.identity()
    found = [r for r in known if r.get("kind") == "finetune" and record_identity(r, want) == want]
    return found[-1] if found else None


def _records_in(results_dir: str) -> list[dict]:
    return records.load_records(results_dir, kind="finetune") if Path(results_dir).is_dir() else []


def job_state(job: Job, known: Sequence[dict]) -> str:
    """"skip" (its record exists), "resume" (its checkpoint, no record), "conflict" (another run's
    checkpoint in its folder: the job fails, naming the fix) or "new"."""
    if find_record(job, known):
        return "skip"
    if has_checkpoint(job):
        return "conflict" if checkpoint_conflict(job) else "resume"
    return "new"


def is_main_process() -> bool:
    """Rank 0 under torchrun (RANK), else True: the one process that prints."""
    return int(os.environ.get("RANK", "0")) == 0


def run_suite(jobs: Sequence[Job], get_task: Callable, shard: tuple[int, int] | None = None,
              dry_run: bool = False, finetune: Callable | None = None, out=None, **finetune_options) -> Summary:
    """Run (or with dry_run, print) this shard's jobs. `finetune_options` (micro_batch_size,
    precision, gradient_checkpointing, device...) go to every runs.finetune call; `finetune`
    replaces runs.finetune (tests interrupt a job through it). A job's exception is caught and
    reported; KeyboardInterrupt and the like stop the suite, as a kill would."""
    finetune = finetune or runs.finetune
    mine = shard_jobs(jobs, shard)
    say = out or print
    if not is_main_process():
        say = lambda *a, **k: None   # noqa: E731 (only rank 0 talks)
    known = {d: _records_in(d) for d in {j.results_dir for j in mine}}
    where = f" (shard {shard[0]}/{shard[1]} of {len(jobs)} jobs)" if shard else ""
    say(f"suite: {len(mine)} job(s){where}")
    summary = Summary()
    if dry_run:
        for i, job in enumerate(mine, 1):
            state = job_state(job, known[job.results_dir])
            note = {"skip": f"skip (record {(find_record(job, known[job.results_dir]) or {}).get('path')})",
                    "resume": f"resume (from {Path(job.output_dir) / 'checkpoint'})", "new": "new",
                    "conflict": f"conflict: {checkpoint_conflict(job)}"}[state]
            say(f"# [{i}/{len(mine)}] {job.label}: {note}")
            say(job.command(resume=state == "resume", options=finetune_options))
        return summary

    created = _join_process_group(finetune_options.get("device"))
    try:
        for i, job in enumerate(mine, 1):
            _barrier()   # every rank decides skip / resume from the same files
            record = find_record(job, known[job.results_dir])
            if record is not None:
                say(f"[{i}/{len(mine)}] {job.label}: skipped, record {record.get('path')}")
                summary.skipped.append((job, record))
                continue
            resume, conflict = has_checkpoint(job), checkpoint_conflict(job)
            if conflict:
                summary.failed.append((job, conflict))
                say(f"[{i}/{len(mine)}] {job.label}: FAILED: {conflict}")
                continue
            say(f"[{i}/{len(mine)}] {job.label}: " + ("resuming from " + job.output_dir if resume else "training")
                + f"\n  {job.command(resume=resume, options=finetune_options)}")
            try:
                record = finetune(task=get_task(job.task), resume=resume, **job.finetune_kwargs(), **finetune_options)
            except Exception as err:   # one job's failure must not stop the grid
                if os.environ.get("ALBERT_BENCH_DEBUG"):
                    traceback.print_exc()
                error = f"{type(err).__name__}: {err}"
                summary.failed.append((job, error))
                say(f"  FAILED: {error}")
                continue
            finally:
                _free_memory()
            known[job.results_dir].append(record)
            summary.done.append((job, record))
            if resume:
                summary.resumed.append(job)
            say(f"  done: {_headline(record)}")
    finally:
        _leave_process_group(created)
    say(summary.format())
    return summary


def _headline(record: dict) -> str:
    main = record.get("main_metric")
    parts = [f"{split} {main} {metrics[main]:.4g}" for split, metrics in (record["metrics"].get("best") or {}).items()
             if main in metrics and isinstance(metrics[main], (int, float))]
    return ", ".join(parts) + (f"; record {record['path']}" if record.get("path") else "")


def _join_process_group(device: Any) -> bool:
    """Under torchrun, join once for the whole suite (runs.finetune then reuses the group)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    from albert_bench import distributed
    from albert_bench.evaluation import pick_device
    return distributed.init_from_env(pick_device(device))


def _leave_process_group(created: bool) -> None:
    from albert_bench import distributed
    distributed.shutdown(created)


def _barrier() -> None:
    from albert_bench import distributed
    distributed.barrier()


def _free_memory() -> None:
    """Between jobs: drop the last model so the next large one fits."""
    gc.collect()
    import torch
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# ---- the table at the end ----------------------------------------------------------------

def tables_for(tasks: str | Sequence[str], ran: Sequence[str]) -> list[str]:
    """Which reports tables show a grid: the model card's for `model-card`, GLUE's for `glue`,
    both for `all`; for a task list, GLUE's when a GLUE task ran and the card's when SQuAD or RACE did."""
    spec = tasks.lower() if isinstance(tasks, str) else None
    if spec in ("model-card", "glue"):
        return [spec]
    wanted = []
    if spec == "all" or any(t in ran for t in MODEL_CARD_TASKS if t not in GLUE_TASKS):
        wanted.append("model-card")
    if spec == "all" or any(t in ran for t in GLUE_TASKS):
        wanted.append("glue")
    return wanted


def final_tables(summary: Summary, tasks: str | Sequence[str]) -> str:
    """The tables (albert_bench.reports, markdown) of this suite's records: the jobs done now
    and those skipped because their record was there. Other records in the folder are left out."""
    from dataclasses import replace

    from albert_bench.reports import glue_table, load_results, model_card_table, render
    mine = {r["run_id"]: r for r in summary.records if r.get("path")}
    if not mine:
        return "(no finished jobs: no table)"
    makers = {"model-card": model_card_table, "glue": glue_table}
    blocks = []
    for results_dir in dict.fromkeys(job.results_dir for job, _ in summary.done + summary.skipped):
        results = load_results(results_dir)
        kept = {k: v for k, v in results.records.items() if k in mine}
        results = replace(results, frame=results.frame[results.frame["run_id"].isin(kept)],
                          runs=results.runs[results.runs["run_id"].isin(kept)], records=kept, read=len(kept),
                          skipped=0, warnings=[w for w in results.warnings if any(k in w for k in kept)])
        ran = sorted({r["task"] for r in results.records.values()})
        blocks += [render(makers[name](results), "md") for name in tables_for(tasks, ran)]
    return "\n".join(blocks) or "(no table for these tasks)"
