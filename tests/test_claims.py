"""A job runs once, whoever else is running (albert_bench/suite/claims.py), with real processes:
three suites started together on one 6-job grid train every job exactly once; a suite killed with
SIGKILL mid-job leaves a claim the next suite takes over (dead pid) and resumes; another host's
silent claim is taken over after --claim-timeout while its fresh one is waited for; finetune
refuses a folder a live process holds; racing takers of one stale claim: exactly one wins."""
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from albert_bench import cli
from albert_bench.records import load_records, read_jsonl
from albert_bench.suite import claims
from albert_bench.suite import runner as suite
from albert_bench.tasks import get_task

ROOT = Path(__file__).resolve().parents[1]
# Scored every 2 steps and checkpointed every 2: a kill after step 2 resumes from a checkpoint.
TINY = ["--max-train-examples", "24", "--max-eval-examples", "12", "--set", "batch_size=8", "--set", "eval_every=2",
        "--set", "checkpoint_every=2", "--set", "max_seq_length=48"]
# One thread per process (the in-process reference too, so every run computes alike): several
# processes share 2 cores, and oversubscribed threads only slow them down.
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _suite_argv(fx, out: Path, tasks="rte,sst2", seeds="1,2,3", steps=6, *extra):
    root, _, model = fx
    return [sys.executable, "-m", "albert_bench", "suite", "--models", str(model), "--tasks", tasks, "--seeds", seeds,
            "--data-root", str(root / "data"), "--output-root", str(out / "runs"), "--results-dir", str(out / "results"),
            "--max-steps", str(steps), *TINY, "--heartbeat", "0.3", "--claim-timeout", "30", *extra]


def _plain_suite(fx, out: Path, tasks="rte,sst2", seeds=(1, 2, 3), steps=6) -> None:
    """The uninterrupted reference: one suite, in this process, with the flags _suite_argv gives."""
    root, _, model = fx
    jobs = suite.plan([str(model)], tasks, list(seeds), data_root=root / "data", output_root=out / "runs",
                      results_dir=out / "results", get_task=get_task, max_steps=steps, max_train_examples=24,
                      max_eval_examples=12, overrides=cli._parse_overrides(TINY[5::2]))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert suite.run_suite(jobs, get_task=get_task, out=lambda *a: None).exit_code == 0
    finally:
        torch.set_num_threads(threads)


def _start(argv, log: Path):
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(argv, stdout=log.open("w"), stderr=subprocess.STDOUT, env=ENV, cwd=log.parent)


def _finish(proc, log: Path, timeout=120) -> str:
    assert proc.wait(timeout=timeout) == 0, log.read_text()
    return log.read_text()


def _records(out: Path) -> dict:
    """(task, seed) -> the one record of that job; fails on a job recorded twice."""
    found = {}
    for r in load_records(out / "results", kind="finetune"):
        key = (r["task"], r["seed"])
        assert key not in found, f"{key} trained twice: {found[key]['path']} and {r['path']}"
        found[key] = r
    return found


def _same(a: dict, b: dict, steps: int):
    """Same jobs; per job the same metrics, best step and per-example predictions, and a step log
    that runs 1..steps once (one process trained it, from the start or resumed exactly)."""
    assert a.keys() == b.keys()
    for key in a:
        ra, rb = a[key], b[key]
        assert (ra["metrics"], ra["best_step"]) == (rb["metrics"], rb["best_step"]), key
        for split in ra["predictions"]:
            rows = [read_jsonl(Path(r["path"]).parent / r["predictions"][split]) for r in (ra, rb)]
            assert rows[0] == rows[1] and rows[0], key
        for r in (ra, rb):
            assert [e["step"] for e in read_jsonl(Path(r["path"]).parent / r["log"])] == list(range(1, steps + 1)), key


def test_three_suites_on_one_grid_train_every_job_once(tiny_checkpoint, tmp_path):
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    procs = [(_start(_suite_argv(tiny_checkpoint, shared), shared / f"suite{k}.log"), shared / f"suite{k}.log")
             for k in range(3)]
    _plain_suite(tiny_checkpoint, alone)   # meanwhile
    outputs = [_finish(p, log) for p, log in procs]
    got, want = _records(shared), _records(alone)
    assert len(got) == 6
    _same(got, want, steps=6)
    assert len(list((shared / "results").glob("*.json"))) == 6
    done = [int(next(line for line in out.splitlines() if line.startswith("suite: ") and " done " in line)
                .split()[1]) for out in outputs]
    assert sum(done) == 6, outputs   # every other start of a job was a skip
    assert not list(shared.rglob("*.claim")), "claims are released when their jobs end"


def test_sigkilled_suite_leaves_a_claim_the_next_suite_takes_over(tiny_checkpoint, tmp_path):
    cut, clean = tmp_path / "cut", tmp_path / "clean"
    args = dict(tasks="rte", seeds="1", steps=20)
    victim = _start(_suite_argv(tiny_checkpoint, cut, **args), cut / "victim.log")
    job_dir = cut / "runs" / "model" / "rte" / "seed1"
    claim = claims.claim_path(job_dir)
    deadline = time.time() + 60
    while not (claim.is_file() and (job_dir / "checkpoint").is_dir()):
        assert victim.poll() is None and time.time() < deadline, (cut / "victim.log").read_text()
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not list((cut / "results").glob("*.json")), "killed before the job ended"
    assert claims.read(claim)["pid"] == victim.pid   # the stale claim stays

    following = _start(_suite_argv(tiny_checkpoint, cut, **args), cut / "next.log")
    _plain_suite(tiny_checkpoint, clean, tasks="rte", seeds=(1,), steps=20)   # meanwhile
    out = _finish(following, cut / "next.log")
    assert f"taking over from host {socket.gethostname()} pid {victim.pid}: its process is gone" in out
    assert "resuming from" in out and "1 done (1 resumed)" in out
    _same(_records(cut), _records(clean), steps=20)
    assert not claim.exists()


def _fake_claim(output_dir: str, host: str, age: float) -> Path:
    path = claims.claim_path(output_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    now = time.time()
    path.write_text(json.dumps({"host": host, "pid": 4242, "slurm_job_id": "77", "started": now - age,
                                "heartbeat": now - age, "token": f"fake-{host}"}))
    return path


def test_silent_claim_from_another_host_is_taken_over_a_fresh_one_waited_for(tiny_checkpoint, tmp_path):
    root, _, model = tiny_checkpoint
    jobs = suite.plan([str(model)], "rte", [1, 2], data_root=root / "data", output_root=tmp_path / "runs",
                      results_dir=tmp_path / "results", get_task=get_task, max_steps=2, max_train_examples=16,
                      max_eval_examples=8, overrides={"batch_size": 8, "max_seq_length": 48})
    fresh = _fake_claim(jobs[0].output_dir, "node-a", age=0)        # live on another host: wait for it
    silent = _fake_claim(jobs[1].output_dir, "node-b", age=3600)    # an hour without a heartbeat: stale
    lines = []

    def say(line):
        lines.append(line)
        if "waiting for it" in line:   # the holder "finishes" a second later: its claim goes away
            threading.Timer(1.0, fresh.unlink).start()
    started = time.time()
    summary = suite.run_suite(jobs, get_task=get_task, out=say, claim_timeout=30, heartbeat=0.2)
    text = "\n".join(lines)
    assert summary.exit_code == 0 and len(summary.done) == 2, text
    assert "rte seed 1: claimed by host node-a pid 4242 (SLURM job 77)" in text and "after the rest" in text
    assert "rte seed 1: waiting for it, held by host node-a pid 4242" in text
    assert "taking over from host node-b pid 4242: no heartbeat for 3600s (--claim-timeout 30)" in text
    # seed 2 (its claim stale) trained first, seed 1 after its holder let go
    assert [j.seed for j, _ in summary.done] == [2, 1] and 1.0 <= time.time() - started < 60
    assert not fresh.exists() and not silent.exists()


def test_finetune_refuses_a_folder_a_live_process_trains(tiny_checkpoint, tmp_path, capsys):
    root, dirs, model = tiny_checkpoint
    out = tmp_path / "runs" / "rte"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom albert_bench.suite import claims\n"
                               "claims.acquire(sys.argv[1], heartbeat=0.2)\nprint('held', flush=True)\ntime.sleep(120)",
                               str(out)], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout.readline().strip() == "held"
        argv = ["finetune", "--model", str(model), "--task", "rte", "--data-dir", str(dirs["rte"]), "--output-dir",
                str(out), "--results-dir", str(tmp_path / "results"), "--max-steps", "2", *TINY[:4]]
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert f"is being trained by host {socket.gethostname()} pid {holder.pid}" in err and err.count("\n") == 1
        assert not out.exists() and claims.read(claims.claim_path(out))["pid"] == holder.pid
    finally:
        holder.kill()
        holder.wait()
    assert cli.main(argv) == 0   # its holder gone, the claim is taken over and released at the end
    assert f"taking over from host {socket.gethostname()} pid {holder.pid}" in capsys.readouterr().out
    assert (out / "best").is_dir() and not claims.claim_path(out).exists()


def _race(path, barrier, wins):
    barrier.wait()
    try:
        claim = claims.acquire(path, say=lambda line: None)
    except claims.ClaimHeld:
        return
    wins.put(os.getpid())
    time.sleep(0.5)   # hold it while the others try
    claim.release()


def test_racing_takers_of_one_stale_claim_one_wins(tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    path = claims.claim_path(tmp_path / "job")
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": gone.pid, "heartbeat": time.time(), "token": "x"}))
    ctx = multiprocessing.get_context("fork")
    barrier, wins = ctx.Barrier(8), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(tmp_path / "job", barrier, wins)) for _ in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0] * 8
    winners = []
    while not wins.empty():
        winners.append(wins.get())
    assert len(winners) == 1 and not path.exists() and not list(tmp_path.glob("*.stale-*"))


def test_claim_flags_checked_and_heartbeat_refreshed(tmp_path):
    with pytest.raises(ValueError, match="--claim-timeout 1 must be more than twice --heartbeat 1"):
        claims.validate(1, 1)
    with claims.acquire(tmp_path / "job", heartbeat=0.05) as claim:
        first = claims.read(claim.path)
        time.sleep(0.3)
        again = claims.read(claim.path)
        assert again["heartbeat"] > first["heartbeat"] and again["token"] == first["token"]
        assert again["host"] == socket.gethostname() and again["pid"] == os.getpid()
        with pytest.raises(claims.ClaimHeld, match="is being trained by host"):
            claims.acquire(tmp_path / "job")   # this process holds it already
    assert not claim.path.exists()
