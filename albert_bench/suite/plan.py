"""The suite's grid: which (model, task, sweep setting, seed) jobs, their folders, data and resolved recipes,
how a job is recognised in a finished record, and how the grid splits into shards. The
running half is albert_bench/suite/runner.py (its docstring has the data layout and the rules).

    from albert_bench.suite.plan import plan, shard_jobs
    from albert_bench.tasks import get_task
    jobs = plan("albert-base-v2", "glue", "1,2,3", data_root="glue", get_task=get_task)
    shard_jobs(jobs, (0, 4))     # jobs 0, 4, 8, ...
    plan(..., sweep={"lr": [1e-5, 2e-5]})   # x2 jobs: runs/MODEL/TASK/lr=1e-05/seed1 ...
"""
from __future__ import annotations

import json
import os
import itertools
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from albert_bench import records
from albert_bench.engine import runs

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
    restart_attempt: int = 0           # suite --restarts: 0 = the grid's own job, k = its k-th restart
    restart_of: str | None = None      # the run_id of the failed (degenerate / diverged) attempt it replaces
    base_seed: int | None = None       # the grid's seed of a restart (its own seed is derived from it)
    setting: dict = field(default_factory=dict)     # --sweep: this job's values (also in overrides), {} without one

    @property
    def label(self) -> str:
        where = f"{self.model} {self.task}" + (f" {setting_name(self.setting)}" if self.setting else "")
        if self.restart_attempt:
            return f"{where} seed {self.base_seed} restart {self.restart_attempt} (seed {self.seed})"
        return f"{where} seed {self.seed}"

    def finetune_kwargs(self) -> dict:
        restart = {"restart_of": self.restart_of, "restart_attempt": self.restart_attempt} if self.restart_attempt else {}
        return dict(model=self.model, tokenizer=self.tokenizer, data_dir=self.data_dir, output_dir=self.output_dir,
                    results_dir=self.results_dir, recipe=self.recipe, version=self.version,
                    max_steps=self.max_steps, seed=self.seed, overrides=dict(self.overrides),
                    max_train_examples=self.max_train_examples, max_eval_examples=self.max_eval_examples, **restart)

    def identity(self) -> dict:
        """What makes two runs the same run, in the shape record_identity reads from a record."""
        loop = {k: v for k, v in self.overrides.items() if k in runs.LOOP_OPTIONS}   # compared when set
        recipe = {**self.resolved, "name": self.recipe, "version": self.version,
                  "max_train_examples": self.max_train_examples, "max_eval_examples": self.max_eval_examples, **loop}
        return records.to_jsonable({"model": self.model, "tokenizer": self.tokenizer or self.model,
                                    "task": self.task, "seed": self.seed, "data_dir": self.data_dir,
                                    "recipe": recipe, "inputs": self.input_values})

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
        if options.get("log_every"):
            argv += ["--log-every", str(options["log_every"])]
        if options.get("report_to"):
            report_to = options["report_to"]
            argv += ["--report-to", report_to if isinstance(report_to, str) else ",".join(report_to)]
        if options.get("tracking_dir"):
            argv += ["--tracking-dir", str(options["tracking_dir"])]
        return shlex.join(argv + (["--resume"] if resume else []))


def restart_job(job: Job, failed_run_id: str) -> Job:
    """The next attempt of a degenerate or diverged job: a fresh seed derived deterministically from the
    grid's seed (seed * 1000 + attempt), its own output folder (seedK-restartA), the failed run named.
    Every suite process derives the same restart, so shards, claims and resume treat it as any job."""
    base = job.base_seed if job.restart_attempt else job.seed
    attempt = job.restart_attempt + 1
    folder = Path(job.output_dir).parent / f"seed{base}-restart{attempt}"
    return replace(job, seed=base * 1000 + attempt, output_dir=str(folder), restart_attempt=attempt,
                   restart_of=failed_run_id, base_seed=base)


def _set_text(value: Any) -> str:
    """A --set value the CLI reads back as `value` (it tries JSON first, then takes the text)."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.dumps(value)


def setting_name(setting: Mapping) -> str:
    """{"lr": 2e-05, "batch_size": 16} -> 'lr=2e-05,batch_size=16': a sweep setting's label and folder name."""
    return ",".join(f"{k}={_set_text(v)}" for k, v in setting.items()).replace(os.sep, "_")


def sweep_settings(sweep: Mapping[str, Sequence] | None) -> list[dict]:
    """{"lr": [1e-5, 2e-5], "batch_size": [16, 32]} -> the cartesian product, first key outermost:
    [{"lr": 1e-5, "batch_size": 16}, {"lr": 1e-5, "batch_size": 32}, ...]; no sweep: [{}]."""
    sweep = dict(sweep or {})
    for key, values in sweep.items():
        if not values or len({json.dumps(records.to_jsonable(v)) for v in values}) != len(values):
            raise ValueError(f"--sweep {key}: give one or more distinct values, e.g. --sweep {key}=1e-5,2e-5")
    return [dict(zip(sweep, values)) for values in itertools.product(*sweep.values())]


def record_identity(record: Mapping, like: Mapping) -> dict:
    """The fields of a finetune record that `like` (a Job.identity()) names, in the same shape."""
    recipe, inputs = record.get("recipe") or {}, record.get("inputs") or {}
    return records.to_jsonable({
        "model": (record.get("model") or {}).get("source"), "tokenizer": record.get("tokenizer"),
        "task": record.get("task"), "seed": record.get("seed"), "data_dir": record.get("data_dir"),
        "recipe": {k: recipe.get(k) for k in like["recipe"]},
        # a max_seq_length cut to the model's position table records what was asked as "requested"
        "inputs": {k: (inputs.get(k) or {}).get("requested", (inputs.get(k) or {}).get("value"))
                   for k in like["inputs"]}})


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
    """The --data-dir of `task` under data_root (the official layout, module docstring); where that
    is absent, a local copy of the task's Hugging Face dataset (glue/rte/*.parquet..., README)."""
    if data_root is None:
        return None
    root = Path(data_root)
    files = list((task.source.files if getattr(task, "source", None) else {}).values())
    folders = {Path(f).parts[0] for f in files if len(Path(f).parts) > 1}
    hub_copy = getattr(task, "hub_copy_dir", lambda root: None)(root)   # None: no copy under the root
    if len(folders) == 1:              # GLUE (CoLA/train.tsv...) and RACE (RACE/train): the task folder
        folder = root / folders.pop()
        return str(hub_copy if hub_copy is not None and not folder.is_dir() else folder)
    # SQuAD: json files, no folder of their own. Take the first folder that holds one of them.
    for candidate in (*(root / name for name in SQUAD_FOLDERS), root):
        if any((candidate / f).is_file() for f in files):
            return str(candidate)
    if hub_copy is not None:
        return str(hub_copy)
    return str(root / SQUAD_FOLDERS[0]) if files else str(root)


def plan(models: str | Sequence[str], tasks: str | Sequence[str], seeds: str | Sequence[int],
         data_root: str | Path | None = None, output_root: str | Path = "runs", results_dir: str | Path = "results",
         overrides: dict | None = None, get_task: Callable | None = None, task_names: Sequence[str] | None = None,
         recipe: str = "paper", max_steps: int | None = None, tokenizer: str | None = None,
         task_overrides: Mapping[str, dict] | None = None, max_train_examples: int | None = None,
         max_eval_examples: int | None = None, sweep: Mapping[str, Sequence] | None = None) -> list[Job]:
    """Every (model, task, sweep setting, seed) job, models outermost, seeds innermost. `overrides`
    (--set) apply to every task that has the field (a SQuAD input setting such as doc_stride is left
    out of the GLUE jobs); `task_overrides` {task: {...}} add per-task values on top. `sweep`
    {key: [values]} (--sweep) multiplies the grid by the cartesian product of its values, each
    setting applied as --set is (an input setting only where the task has it), in its own folder
    MODEL/TASK/lr=2e-05,batch_size=16/seedK. A bad --set / --sweep key or value, or a task name,
    raises here, before anything runs."""
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
    both = sorted(set(sweep or {}) & set(overrides or {}))
    if both:
        raise ValueError(f"--sweep {both[0]} and --set {both[0]}: a key is either swept or set, not both")
    settings = sweep_settings(sweep)

    def applies(key: str, task: Any) -> bool:
        return key not in all_inputs or key in getattr(task, "input_settings", ())
    jobs = []
    for model in models:
        version = runs.infer_version(model)
        for task in task_objs:
            # A task without a swept input setting (doc_stride for GLUE) runs each remaining setting once.
            own_settings = list({setting_name(s): s for s in
                                 ({k: v for k, v in s.items() if applies(k, task)} for s in settings)}.values())
            for setting in own_settings:
                own = {k: v for k, v in (overrides or {}).items() if applies(k, task)}
                own.update((task_overrides or {}).get(task.name, {}))
                own.update(setting)
                resolved = runs.resolve_recipe(task, recipe, version, own, max_steps).to_dict()
                input_values = {k: own.get(k, getattr(task, k)) for k in getattr(task, "input_settings", ())}
                folder = Path(output_root) / model_folder_name(model) / task.name
                folder = folder / setting_name(setting) if setting else folder
                for seed in seeds:
                    jobs.append(Job(
                        model=model, task=task.name, seed=seed, version=version, output_dir=str(folder / f"seed{seed}"),
                        results_dir=str(results_dir), data_dir=task_data_dir(task, data_root), recipe=recipe,
                        overrides=own, max_steps=max_steps, tokenizer=tokenizer, max_train_examples=max_train_examples,
                        max_eval_examples=max_eval_examples, resolved=records.to_jsonable(resolved),
                        input_values=records.to_jsonable(input_values), setting=records.to_jsonable(setting)))
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
