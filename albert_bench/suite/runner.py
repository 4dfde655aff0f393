"""The paper's grid as one resumable command: one fine-tune run per (model, task, seed).

    albert-bench suite --models albert-base-v2 --tasks model-card --seeds 1,2,3 --data-root data
    albert-bench suite ... --shard 0/4        # this process runs jobs 0, 4, 8, ... (0-based)
    albert-bench suite ... --dry-run          # the plan, and each job's `albert-bench finetune` line

    from albert_bench.suite import runner as suite
    from albert_bench.tasks import REGISTRY, get_task
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
A Hub copy (`huggingface-cli download nyu-mll/glue --local-dir DATA_ROOT/glue`, and squad, squad_v2,
race the same way) is found where the official folder is absent (suite/plan.py task_data_dir).
Without --data-root every task reads its Hugging Face dataset (online).

Each job writes checkpoints to OUTPUT_ROOT/<model>/<task>/seed<k> and its record to RESULTS_DIR.
A job is skipped when RESULTS_DIR already holds a finetune record of the same job: same model
source, tokenizer, task and seed, and the same resolved recipe (every Recipe field after
--set / --max-steps, recipe name, version, example limits, loop options given with --set, and
every input setting of the task such as SQuAD's doc_stride), compared field by field with what
runs.finetune records (suite/plan.py record_identity; `resumed`, world size, precision and
micro-batch are not part of it, nor is the data folder, which records do not hold). A job whose
output folder holds a resumable checkpoint but no record continues from it (exactly, see
train.py), so killing the suite at any point and starting it again ends with the same
records. A failing job is reported and the others still run.

Several suites may run the same grid at once (overlapping shards, a requeued SLURM task beside
its old process): each job is claimed before it trains (suite/claims.py: OUTPUT_DIR.claim), a
job another live process holds is done last, after waiting for that process; its record then
turns it into a skip, or its stale claim is taken over and the job resumed.

SIGUSR1 / SIGTERM / SIGINT stop the suite: the running job saves its checkpoint at the next
optimizer step (no record), no further job starts, `summary.stopped` holds the TrainingStopped
and `on_stop(summary)` runs; the CLI exits 75. Running the same suite line again resumes that job.
Under SLURM, SIGUSR1 (what `#SBATCH --signal=B:USR1@120` sends) also requeues the job or array
task itself (`scontrol requeue`), so its next start resumes the job without anyone watching.

Under torchrun every process runs the same plan and each job trains data-parallel; the suite
joins the process group once and only rank 0 prints the summary (runs.finetune writes the
records from rank 0 only).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import traceback
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

from albert_bench import records
# The plan half, re-exported: `suite.plan(...)`, `suite.Job` and the rest read as one API.
from albert_bench.engine import runs, tracking
from albert_bench.engine.health import TrainingDiverged
from albert_bench.engine.signals import TrainingStopped, graceful_stop
from albert_bench.suite import claims
from albert_bench.suite.summary import Summary, final_tables, tables_for  # noqa: F401 (the suite's API)
from albert_bench.suite.plan import (GLUE_TASKS, MODEL_CARD_TASKS, NOT_IN_ALL, SQUAD_FOLDERS, Job,  # noqa: F401
                                     expand_tasks, model_folder_name, parse_shard, plan, record_identity,
                                     restart_job, shard_jobs, task_data_dir)

UNHEALTHY = ("degenerate", "diverged")

# ---- running -----------------------------------------------------------------------------

def has_checkpoint(job: Job) -> bool:
    """A resumable checkpoint (or its .old copy from a crash between renames, see train.py)."""
    from albert_bench.engine.train import existing_checkpoint
    return existing_checkpoint(Path(job.output_dir)) is not None


def checkpoint_conflict(job: Job) -> str | None:
    """Why the checkpoint in the job's folder cannot be resumed by this job (another run's:
    other seed or recipe, see train.RESUME_KEYS), or None."""
    from albert_bench.engine.train import RESUME_KEYS, checkpoint_settings, existing_checkpoint
    saved = checkpoint_settings(Path(job.output_dir))
    if saved is None:
        return None   # none there, or unreadable: train's own resume check reports it
    folder, out = existing_checkpoint(Path(job.output_dir)), Path(job.output_dir)
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


# The signal a job asks for with `#SBATCH --signal=B:USR1@120`: the suite saves and requeues itself.
# SIGTERM is not among them: `scancel` sends it to cancel a job (and SLURM's own preemption with
# PreemptMode=REQUEUE requeues by itself), and SIGINT is a person's Ctrl-C.
REQUEUE_SIGNALS = ("SIGUSR1",)


def slurm_job_id(env=os.environ) -> str | None:
    """This process's SLURM job as `scontrol` names it: ARRAYJOB_TASK for an array task."""
    if env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        return f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    return env.get("SLURM_JOB_ID")


def on_stop(summary: Summary, say: Callable = print) -> None:
    """Called once when a stop signal ended the suite (summary.stopped says where). Under SLURM, on
    SIGUSR1, rank 0 requeues its own job or array task (`scontrol requeue`), whose next start resumes
    the interrupted job; SLURM ends this process soon after, so everything is said and flushed first.
    Otherwise the same suite command, run again, resumes it."""
    stopped, job = summary.stopped, slurm_job_id()
    if job is None or stopped.signal_name not in REQUEUE_SIGNALS or not is_main_process():
        say(f"suite: {stopped}; run the same suite command again to resume")
        return
    say(f"suite: {stopped}; requeueing SLURM job {job} (scontrol requeue): its next start resumes it")
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        done = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True, timeout=60)
        error = done.stderr.strip() if done.returncode else None
    except (OSError, subprocess.TimeoutExpired) as err:
        error = str(err)
    if error:
        say(f"suite: scontrol requeue {job} failed ({error}); submit with --requeue (sbatch), or run the same "
            "suite command again to resume")


def run_suite(jobs: Sequence[Job], get_task: Callable, shard: tuple[int, int] | None = None,
              dry_run: bool = False, finetune: Callable | None = None, out=None, claims_on: bool = True,
              claim_timeout: float = claims.DEFAULT_TIMEOUT, heartbeat: float = claims.DEFAULT_HEARTBEAT,
              restarts: int = 0, **finetune_options) -> Summary:
    """Run (or with dry_run, print) this shard's jobs. `finetune_options` (micro_batch_size,
    precision, gradient_checkpointing, device...) go to every runs.finetune call; `finetune`
    replaces runs.finetune (tests interrupt a job through it). A job's exception is caught and
    reported; KeyboardInterrupt and the like stop the suite, as a kill would. With `claims_on`, each
    job is claimed before it trains (suite/claims.py): a job another live process holds is left
    for later, then waited for (polling every `heartbeat` s) until its record appears or its
    claim goes stale (`claim_timeout`) and is taken over. `restarts` K: a job whose record is
    degenerate or diverged (engine/health.py; found or trained now) is run again as plan.restart_job,
    up to K times; each restart is a job like any other (skip, claim, resume)."""
    if restarts < 0:
        raise ValueError(f"--restarts {restarts}: give 0 or more restarts per job")
    finetune = finetune or runs.finetune
    tracking.parse(finetune_options.get("report_to"))   # a missing backend: one error, not one per job
    mine = shard_jobs(jobs, shard)
    say = out or partial(print, flush=True)   # flushed: a waiting suite's lines reach a SLURM log now
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

    if claims_on:
        claims.validate(claim_timeout, heartbeat)
    created = _join_process_group(finetune_options.get("device"))
    try:
        with graceful_stop() as stop:   # one flag for the whole grid: a signal between jobs counts too
            _run_queue(mine, known, get_task, finetune, finetune_options, summary, say, stop,
                       claims_on, claim_timeout, heartbeat, restarts)
    finally:
        _leave_process_group(created)
    say(summary.format())
    if summary.stopped:
        on_stop(summary, say)
    return summary


def _run_queue(mine, known, get_task, finetune, finetune_options, summary: Summary, say, stop,
               claims_on: bool, claim_timeout: float, heartbeat: float, restarts: int = 0) -> None:
    """This shard's jobs in order; a job another live process holds goes to the back of the queue,
    and when only such jobs are left the suite polls them every `heartbeat` s (never exits undone).
    A stop signal ends the loop before the next job (summary.stopped)."""
    from albert_bench.engine.evaluation import pick_device
    device = pick_device(finetune_options.get("device"))
    queue, waited = list(enumerate(mine, 1)), {}
    while queue:
        later, extra = [], []   # extra: restarts of this pass's unhealthy jobs
        for i, job in queue:
            _barrier()   # every rank decides skip / resume from the same files
            name = stop.agreed(device)
            if name:     # the signal came between jobs: start no other
                summary.stopped = TrainingStopped(None, None, None, name, job=job.label)
                return
            tag = f"[{i}/{len(mine)}] {job.label}"
            state, detail, claim = _agree(_take(job, known, claims_on, claim_timeout, heartbeat, say))
            if state == "skip":
                say(f"{tag}: skipped, record {detail.get('path')}")
                summary.skipped.append((job, detail))
                _restart_if_unhealthy(i, job, detail, restarts, extra, summary, say, tag)
            elif state == "busy":
                # Another live process trains it: do the rest first, then wait for it (never exit undone).
                first, (token, last) = i not in waited, waited.get(i, (None, 0.0))
                if first or token != detail.get("token") or time.time() - last > claim_timeout:
                    say(f"{tag}: claimed by {claims.describe(detail)}; coming back to it after the rest" if first
                        else f"{tag}: waiting for it, held by {claims.describe(detail)}")
                    # last 0.0 after the deferral line: the first "waiting" line is due on the next pass
                    waited[i] = (detail.get("token"), 0.0 if first else time.time())
                later.append((i, job))
            else:
                try:
                    record = _run_job(tag, job, get_task, finetune, finetune_options, known, summary, say)
                    if record is not None:
                        _restart_if_unhealthy(i, job, record, restarts, extra, summary, say, tag)
                finally:
                    if claim is not None:
                        claim.release()
                if summary.stopped:
                    return
        if later and len(later) == len(queue) and not extra:
            time.sleep(heartbeat)   # nothing else to do: poll the holders
        queue = extra + later


def _restart_if_unhealthy(i, job: Job, record: dict, restarts: int, extra: list, summary: Summary, say,
                          tag: str) -> None:
    """Queue the job's next attempt when its record is degenerate or diverged and restarts are left."""
    health = record.get("health") or {}
    status = health.get("status")
    if status not in UNHEALTHY:
        return
    if job.restart_attempt >= restarts:
        summary.unhealthy.append((job, status, health.get("reason"), health.get("diverged_at_step") is not None))
        return
    again = restart_job(job, record["run_id"])
    say(f"{tag}: {status} ({health.get('reason')}); restart {again.restart_attempt} of {restarts} with seed "
        f"{again.seed} in {again.output_dir}")
    summary.restarted.append((job, again))
    extra.append((f"{str(i).split('r')[0]}r{again.restart_attempt}", again))


def _take(job: Job, known: dict, claims_on: bool, timeout: float, heartbeat: float, say) -> tuple:
    """Rank 0's decision for a job: ("skip", record, None), ("busy", holder's claim, None) or
    ("run", None, our claim or None)."""
    if not is_main_process():
        return "run", None, None   # replaced by rank 0's decision (_agree)
    record = find_record(job, known[job.results_dir])
    if record is not None:
        return "skip", record, None
    if not claims_on:
        return "run", None, None
    try:
        claim = claims.acquire(job.output_dir, timeout=timeout, heartbeat=heartbeat, say=say)
    except claims.ClaimHeld as held:
        return "busy", held.info, None
    # The process we waited for (or raced) may have finished the job just before releasing it.
    known[job.results_dir] = _records_in(job.results_dir)
    record = find_record(job, known[job.results_dir])
    if record is not None:
        claim.release()
        return "skip", record, None
    return "run", None, claim


def _agree(decision: tuple) -> tuple:
    """Under torchrun every rank follows rank 0's decision (only rank 0 holds the claim)."""
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return decision
    shared = [decision[:2]]
    dist.broadcast_object_list(shared, src=0)
    return (*shared[0], decision[2])


def _run_job(tag: str, job: Job, get_task, finetune, finetune_options, known, summary, say) -> dict | None:
    """Train the job; its record (None when it failed or was stopped)."""
    _barrier()   # every rank decides resume from the same files
    resume, conflict = has_checkpoint(job), checkpoint_conflict(job)
    if conflict:
        summary.failed.append((job, conflict))
        say(f"{tag}: FAILED: {conflict}")
        return None
    say(f"{tag}: " + ("resuming from " + job.output_dir if resume else "training")
        + f"\n  {job.command(resume=resume, options=finetune_options)}")
    try:
        record = finetune(task=get_task(job.task), resume=resume, **job.finetune_kwargs(), **finetune_options)
    except TrainingStopped as err:   # not a failure: the job resumes when the suite runs again
        err.job = job.label
        summary.stopped = err
        return None
    except TrainingDiverged as err:   # its record (marked diverged) is written: a restart may replace it
        say(f"  DIVERGED: {err}")
        if err.record is None:
            summary.failed.append((job, f"TrainingDiverged: {err}"))
            return None
        known[job.results_dir].append(err.record)
        summary.done.append((job, err.record))
        return err.record
    except Exception as err:   # one job's failure must not stop the grid
        if os.environ.get("ALBERT_BENCH_DEBUG"):
            traceback.print_exc()
        error = f"{type(err).__name__}: {err}"
        summary.failed.append((job, error))
        say(f"  FAILED: {error}")
        return None
    finally:
        _free_memory()
    known[job.results_dir].append(record)
    summary.done.append((job, record))
    if resume:
        summary.resumed.append(job)
    say(f"  done: {_headline(record)}")
    return record


def _headline(record: dict) -> str:
    main = record.get("main_metric")
    parts = [f"{split} {main} {metrics[main]:.4g}" for split, metrics in (record["metrics"].get("best") or {}).items()
             if main in metrics and isinstance(metrics[main], (int, float))]
    return ", ".join(parts) + (f"; record {record['path']}" if record.get("path") else "")


def _join_process_group(device: Any) -> bool:
    """Under torchrun, join once for the whole suite (runs.finetune then reuses the group)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    from albert_bench.engine import distributed
    from albert_bench.engine.evaluation import pick_device
    return distributed.init_from_env(pick_device(device))


def _leave_process_group(created: bool) -> None:
    from albert_bench.engine import distributed
    distributed.shutdown(created)


def _barrier() -> None:
    from albert_bench.engine import distributed
    distributed.barrier()


def _free_memory() -> None:
    """Between jobs: drop the last model so the next large one fits."""
    gc.collect()
    import torch
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
