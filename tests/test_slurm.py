"""The grid on a real one-node SLURM (tests/conftest.py `slurm_cluster`): the README's array line runs
verbatim (minus --gres on a CPU node), every job runs exactly once, and the records equal a plain
local suite's: metrics, per-example predictions and step logs."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from albert_bench.suite.local_slurm import LocalSlurm

DEMO_MODEL, DEMO_DATA = "reports/demo/pretrained", "reports/demo/data"


def readme_local_block() -> list[str]:
    """The README's one-machine SLURM lines (the block after `<!-- local-slurm -->`)."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- local-slurm -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def readme_sbatch(model: Path, data: Path) -> list[str]:
    """The README's sbatch line as argv, the demo's folders replaced by the fixture's."""
    line = next(line for line in readme_local_block() if line.startswith("sbatch "))
    assert DEMO_MODEL in line and DEMO_DATA in line, line
    return shlex.split(line.replace(DEMO_MODEL, str(model)).replace(DEMO_DATA, str(data)))


def wrapped_suite(argv: list[str]) -> list[str]:
    """The `albert-bench suite ...` command inside --wrap "exec ..."."""
    wrap = shlex.split(argv[argv.index("--wrap") + 1])
    assert wrap[:3] == ["exec", "albert-bench", "suite"], wrap
    return wrap[1:]


def job_env(extra: dict | None = None) -> dict:
    """The venv's albert-bench first on PATH, one thread (so float sums do not depend on the CPU share)."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]), **(extra or {})}


def outcome(results: Path) -> dict:
    """(task, seed) -> what a run produced: metrics, best step, predictions and step log (no timings)."""
    out = {}
    for path in sorted(results.glob("*.json")):
        record = json.loads(path.read_text())
        key = (record["task"], record["seed"])
        assert key not in out, f"job {key} has two records: it ran twice"
        preds = {split: (results / rel).read_text() for split, rel in sorted(record["predictions"].items())}
        log = [json.loads(line) for line in (results / record["log"]).read_text().splitlines()]
        out[key] = {"metrics": record["metrics"], "best_step": record["best_step"], "predictions": preds, "log": log}
    return out


def local_outcome(suite: list[str], folder: Path) -> dict:
    """The same suite line run as a plain local process, in its own folder."""
    folder.mkdir()
    run = subprocess.run(suite, cwd=folder, env=job_env(), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return outcome(folder / "results")


def test_readme_local_slurm_lines(slurm_cluster: LocalSlurm, tiny_checkpoint, tmp_path):
    """The README's array over a 2 task x 2 seed grid: each array task runs its shard, every job runs
    once, and the records equal a local suite run's."""
    _, dirs, model = tiny_checkpoint
    argv = readme_sbatch(model, Path(dirs["rte"]).parent)
    assert argv[1] == "--array=0-3" and "--requeue" in argv, argv
    expected = local_outcome(wrapped_suite(argv), tmp_path / "local")
    grid = tmp_path / "slurm"
    grid.mkdir()
    # As the README runs it: from the folder where runs/ and results/ should appear.
    job = slurm_cluster.sbatch(*argv[1:], "-o", str(grid / "task-%a.out"), env=job_env(), cwd=grid)
    slurm_cluster.wait_jobs([job], timeout=600)
    logs = {t: (grid / f"task-{t}.out").read_text() for t in range(4)}
    infos = slurm_cluster.job_info(job)
    assert sorted((i["ArrayTaskId"], i["JobState"], i["ExitCode"], i["Restarts"]) for i in infos) == \
        [(str(t), "COMPLETED", "0:0", "0") for t in range(4)], logs
    got = outcome(grid / "results")
    assert sorted(got) == sorted(expected) == [("rte", 1), ("rte", 2), ("sst2", 1), ("sst2", 2)]
    for key in expected:
        assert got[key] == expected[key], key
    # every array task trained exactly one job of the four
    assert [text.count("1 done (0 resumed)") for text in logs.values()] == [1, 1, 1, 1], logs


def test_local_slurm_command(slurm_cluster: LocalSlurm):
    """The user's helper: `albert-bench local-slurm status|start DIR` on the running cluster."""
    status = subprocess.run([sys.executable, "-m", "albert_bench", "local-slurm", "status", str(slurm_cluster.base)],
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    assert "slurmctld: running" in status.stdout and "slurmd: running" in status.stdout and "idle" in status.stdout
    again = subprocess.run([sys.executable, "-m", "albert_bench", "local-slurm", "start", str(slurm_cluster.base)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout.strip() == f"export SLURM_CONF={slurm_cluster.conf}"
    assert "already running" in again.stderr


def _wait_for(predicate, timeout: float, what: str) -> None:
    import time
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def test_usr1_requeues_the_array_task_which_resumes(slurm_cluster: LocalSlurm, tiny_checkpoint, tmp_path):
    """`scancel --signal=USR1 --batch` to a running array task (as `--signal=B:USR1@N` would): it saves,
    requeues itself, its next start resumes the job, and the records equal an uninterrupted grid's."""
    _, dirs, model = tiny_checkpoint
    suite = ["albert-bench", "suite", "--models", str(model), "--tasks", "rte", "--seeds", "1,2", "--data-root",
             str(Path(dirs["rte"]).parent), "--recipe", "quick", "--max-steps", "150", "--max-eval-examples", "16",
             "--set", "batch_size=8", "--set", "max_seq_length=32", "--set", "eval_every=50", "--log-every", "0.5"]
    expected = local_outcome(suite, tmp_path / "local")
    grid = tmp_path / "slurm"
    grid.mkdir()
    out = grid / "task-0.out"
    job = slurm_cluster.sbatch("--array=0-1", "--requeue", "--open-mode=append", "-o", str(grid / "task-%a.out"),
                               "--wrap", "exec " + shlex.join(suite), env=job_env(), cwd=grid)
    # Task 0 is training once its plain progress lines (stderr is a file here) pass step 20.
    _wait_for(lambda: out.exists() and "train: step 2" in out.read_text(), 240, "task 0 to train")
    slurm_cluster.run("scancel", "--signal=USR1", "--batch", f"{job}_0")
    slurm_cluster.wait_jobs([job], timeout=600)
    text = out.read_text()
    infos = {i["ArrayTaskId"]: i for i in slurm_cluster.job_info(job)}
    assert (infos["0"]["JobState"], infos["0"]["ExitCode"], infos["0"]["Restarts"]) == ("COMPLETED", "0:0", "1"), text
    assert (infos["1"]["JobState"], infos["1"]["Restarts"]) == ("COMPLETED", "0"), infos["1"]
    assert "SIGUSR1" in text and f"requeueing SLURM job {job}_0" in text, text
    assert "resuming from" in text and "Traceback" not in text, text
    got = outcome(grid / "results")
    assert sorted(got) == sorted(expected) == [("rte", 1), ("rte", 2)]
    for key in expected:
        assert got[key] == expected[key], key
    record = next(json.loads(p.read_text()) for p in (grid / "results").glob("*.json")
                  if json.loads(p.read_text())["seed"] == 1)
    assert [s["stopped_by"] for s in record["segments"]] == ["SIGUSR1", None], record["segments"]
