"""Stop signals end a run with a resumable checkpoint, and resuming loses nothing. Real signals
(os.kill / Popen.send_signal) to real processes: `python -m albert_bench finetune` and `pretrain`
subprocesses, and one of two gloo DDP processes. Also: the output-folder rules (refuse, --overwrite,
--resume of a finished run), the segments' wall time, plain progress lines when stderr is a pipe."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from albert_bench.cli import main
from albert_bench.engine.signals import EXIT_STOPPED, TrainingStopped
from albert_bench.engine.train import TrainSettings, train
from test_ddp import _free_port
from test_pretrain import write_corpus
from test_train import toy_model, toy_scorer
from toy_task import ToyTask

REPO = Path(__file__).resolve().parent.parent
STEPS = 60   # short steps, a progress line every 3: the signal lands mid-run


def _finetune_args(tiny, out, results, *extra):
    root, dirs, model_dir = tiny
    return ["finetune", "--model", str(model_dir), "--task", "rte", "--data-dir", str(dirs["rte"]),
            "--output-dir", str(out), "--results-dir", str(results), "--max-steps", str(STEPS), "--seed", "3",
            "--set", "batch_size=4", "--set", "eval_every=20", "--set", "checkpoint_every=25",
            "--set", "max_seq_length=32", "--max-train-examples", "24", "--max-eval-examples", "8", *extra]


def _stop_subprocess(argv, signum, progress_pattern, timeout=120):
    """Start `python -m albert_bench ARGV` (stderr a pipe), send `signum` once a progress line shows a
    step past the first, wait. Returns (exit status, stderr text, the step the line showed)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    env.pop("CI", None)
    proc = subprocess.Popen([sys.executable, "-m", "albert_bench", *argv], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=env, cwd=REPO)
    lines, seen = [], threading.Event()

    def read():
        for line in proc.stderr:
            lines.append(line)
            m = re.search(progress_pattern, line)
            if m and int(m.group(1)) > 1:
                seen.set()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert seen.wait(timeout), "no progress line:\n" + "".join(lines)
    proc.send_signal(signum)
    rc = proc.wait(timeout)
    reader.join(10)
    return rc, "".join(lines)


def _results(folder):
    return sorted(Path(folder).glob("*.json"))


def _log(record):
    return [json.loads(line) for line in (Path(record["path"]).parent / record["log"]).read_text().splitlines()]


def _same_run(a, b):
    assert a["metrics"] == b["metrics"] and a["best_step"] == b["best_step"] and a["steps"] == b["steps"] == STEPS
    la, lb = _log(a), _log(b)
    assert [e["step"] for e in lb] == list(range(1, STEPS + 1))
    for x, y in zip(la, lb):
        assert x["lr"] == y["lr"] and x.get("eval") == y.get("eval")
        assert x["loss"] == pytest.approx(y["loss"], abs=1e-6)


@pytest.fixture(scope="module")
def uninterrupted(tiny_checkpoint, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("full")
    assert main(_finetune_args(tiny_checkpoint, tmp / "out", tmp / "results")) == 0
    record, = (json.loads(p.read_text()) | {"path": str(p)} for p in _results(tmp / "results"))
    return tmp, record


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_finetune_stopped_then_resumed_equals_uninterrupted(tiny_checkpoint, uninterrupted, tmp_path, signum, capsys):
    out, results = tmp_path / "out", tmp_path / "results"
    argv = _finetune_args(tiny_checkpoint, out, results)
    rc, err = _stop_subprocess(argv, signum, r"train: step (\d+)/")
    name = signal.Signals(signum).name
    assert rc == EXIT_STOPPED, err
    assert "Traceback" not in err
    assert re.search(r"train: step \d+/60 loss [\d.]+ lr [\d.e-]+ [\d.]+ seq/s elapsed 0:00:\d\d eta ", err), err
    line, = [x for x in err.splitlines() if x.startswith("albert-bench finetune: stopped")]
    step = int(re.search(rf"stopped by {name} at step (\d+) of {STEPS}", line).group(1))
    assert line.endswith(" --resume") and f"checkpoint in {out}" in line
    state = json.loads((out / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == step < STEPS and state["segments"][-1]["stopped_by"] == name
    assert not _results(results) and not (out / "last").exists()               # no record, no final model

    # Without --resume the folder is refused, naming the step and both ways on.
    assert main(argv) == 2
    refusal = capsys.readouterr().err
    assert f"at step {step} of {STEPS}" in refusal and "--resume" in refusal and "--overwrite" in refusal

    assert main(argv + ["--resume"]) == 0
    summary = capsys.readouterr().err
    record, = (json.loads(p.read_text()) | {"path": str(p)} for p in _results(results))
    _same_run(uninterrupted[1], record)
    first, second = record["segments"]
    assert (first["start_step"], first["end_step"], first["stopped_by"]) == (0, step, name)
    assert (second["start_step"], second["end_step"], second["stopped_by"]) == (step, STEPS, None)
    assert record["wall_time_s"] == pytest.approx(first["wall_time_s"] + second["wall_time_s"], abs=2e-3)
    assert f"best step {record['best_step']}" in summary and record["path"] in summary


def test_resume_of_finished_run_and_overwrite(tiny_checkpoint, uninterrupted, capsys):
    tmp, record = uninterrupted
    argv = _finetune_args(tiny_checkpoint, tmp / "out", tmp / "results")
    assert main(argv + ["--resume"]) == 0
    assert record["path"] in capsys.readouterr().err
    assert len(_results(tmp / "results")) == 1                                 # no second record
    assert record["wall_time_s"] == pytest.approx(record["segments"][0]["wall_time_s"], abs=2e-3)

    assert main(argv + ["--resume", "--overwrite"]) == 2                        # one or the other
    short = [a if a != str(STEPS) else "8" for a in argv]                       # --max-steps 8
    assert main(short + ["--overwrite"]) == 0
    state = json.loads((tmp / "out" / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == 8 and len(state["segments"]) == 1
    assert len(_results(tmp / "results")) == 2


def test_pretrain_stopped_then_resumed_equals_uninterrupted(tmp_path):
    corpus = write_corpus(tmp_path / "c.txt", n_docs=10)
    def argv(out, *extra):
        return ["pretrain", "--corpus", str(corpus), "--config", "albert-tiny", "--vocab-size", "120",
                "--output-dir", str(out), "--steps", "60", "--seq-len", "32", "--batch-size", "4",
                "--lr", "1e-3", "--seed", "2", "--device", "cpu", "--set", "hidden_dropout_prob=0.1", *extra]
    rc, err = _stop_subprocess(argv(tmp_path / "cut"), signal.SIGTERM, r"pretrain: step (\d+)/")
    assert rc == EXIT_STOPPED and "Traceback" not in err, err
    line, = [x for x in err.splitlines() if x.startswith("albert-bench pretrain: stopped by SIGTERM at step")]
    assert line.endswith("--resume")
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    assert main(argv(tmp_path / "cut", "--resume")) == 0
    assert main(argv(tmp_path / "full")) == 0
    full, cut = ([json.loads(x) for x in (tmp_path / name / "log.jsonl").read_text().splitlines()]
                 for name in ("full", "cut"))
    assert [e["step"] for e in cut] == list(range(1, 61))
    for a, b in zip(full, cut):
        assert a["lr"] == b["lr"] and a["loss"] == pytest.approx(b["loss"], abs=1e-6)
    summary = json.loads((tmp_path / "cut" / "pretrain_summary.json").read_text())
    assert [s["stopped_by"] for s in summary["segments"]] == ["SIGTERM", None]


# ---- DDP: a signal to one rank stops both at the same step ------------------------------

DDP = dict(lr=2e-3, batch_size=4, train_steps=60, warmup_steps=5, eval_every=20, checkpoint_every=1000,
           micro_batch_size=2, seed=7)


def _ddp_worker(rank, world, port, out, resume, report):
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    task = ToyTask(n=16)
    examples = task.load("train")
    features = task.featurize(examples, None, 32)
    try:
        train(toy_model(seed=2), features, TrainSettings(**DDP), out, score=toy_scorer(task, examples, features),
              main_metric="accuracy", device="cpu", resume=resume, log_every=0.05)
        result = {"finished": True}
    except TrainingStopped as stopped:
        result = {"step": stopped.step, "signal": stopped.signal_name}
    Path(report, f"rank{rank}.json").write_text(json.dumps(result))


def test_ddp_signal_to_one_rank_stops_both_at_the_same_step(tmp_path):
    out, report = tmp_path / "two", tmp_path / "report"
    report.mkdir()
    ctx = mp.spawn(_ddp_worker, args=(2, _free_port(), str(out), False, str(report)), nprocs=2, join=False)
    deadline = time.time() + 60
    while not (out / "best").is_dir() and time.time() < deadline:   # past the first evaluation (step 20)
        time.sleep(0.01)
    os.kill(ctx.processes[1].pid, signal.SIGUSR1)
    while not ctx.join():
        pass
    ranks = [json.loads((report / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0] == ranks[1] and ranks[0]["signal"] == "SIGUSR1", ranks
    step = ranks[0]["step"]
    assert 20 <= step < DDP["train_steps"]
    assert json.loads((out / "checkpoint" / "trainer_state.json").read_text())["step"] == step

    mp.spawn(_ddp_worker, args=(2, _free_port(), str(out), True, str(report)), nprocs=2, join=True)
    task = ToyTask(n=16)
    examples = task.load("train")
    features = task.featurize(examples, None, 32)
    single = train(toy_model(seed=2), features, TrainSettings(**DDP), tmp_path / "one",
                   score=toy_scorer(task, examples, features), main_metric="accuracy", device="cpu")
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == list(range(1, DDP["train_steps"] + 1))
    for a, b in zip(single.log, log):   # two processes equal one (test_ddp.py); the stop changes nothing
        assert a["lr"] == b["lr"] and a.get("eval") == b.get("eval")
        assert abs(a["loss"] - b["loss"]) < 1e-4
    state = json.loads((out / "checkpoint" / "trainer_state.json").read_text())
    assert [s["stopped_by"] for s in state["segments"]] == ["SIGUSR1", None]


def test_suite_stops_at_the_signalled_job_and_resumes_it(tiny_checkpoint, tmp_path, monkeypatch):
    from albert_bench.engine import runs
    from albert_bench.suite import runner as suite
    from albert_bench.tasks import get_task
    root, dirs, model_dir = tiny_checkpoint
    jobs = suite.plan([str(model_dir)], "rte", [1, 2], data_root=Path(dirs["rte"]).parent, get_task=get_task,
                      output_root=tmp_path / "runs", results_dir=tmp_path / "results", max_steps=6,
                      overrides={"batch_size": 4, "eval_every": 3, "max_seq_length": 32},
                      max_train_examples=12, max_eval_examples=8)
    stops = []
    monkeypatch.setattr(suite, "on_stop", lambda summary, say: stops.append(summary.stopped))

    def signalled(**kwargs):   # a real SIGTERM while the suite's handler is in place: the job stops at step 1
        os.kill(os.getpid(), signal.SIGTERM)
        return runs.finetune(**kwargs)
    summary = suite.run_suite(jobs, get_task=get_task, finetune=signalled)
    assert summary.exit_code == EXIT_STOPPED and not summary.failed and not summary.done
    assert stops == [summary.stopped] and summary.stopped.step == 1 and summary.stopped.job == jobs[0].label
    assert not (Path(jobs[1].output_dir) / "checkpoint").exists()           # the next job never started
    again = suite.run_suite(jobs, get_task=get_task)
    assert again.exit_code == 0 and len(again.done) == 2 and again.resumed == [jobs[0]]
