"""Two data-parallel processes (gloo, CPU) train and score exactly like one process with the same
global batch; when one rank fails, both stop within seconds naming that rank's error."""
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file

from albert_bench.engine import distributed
from albert_bench.engine.batching import eval_batches, shard_batches
from albert_bench.engine.evaluation import collect_outputs
from albert_bench.engine.train import TrainSettings, train
from albert_bench.modeling.model import AlbertForSequenceClassification
from test_train import toy_model, toy_scorer
from toy_task import ToyTask

# Global batch 7 (odd: the ranks get 4 and 3 examples) in micro-batches of at most 3: one process
# runs 3+2+2, the two ranks 2+2 and 3, so only count-based loss weighting makes them agree.
SETTINGS = dict(lr=2e-3, batch_size=7, train_steps=5, warmup_steps=1, eval_every=2, micro_batch_size=3, seed=11)
# Dev scoring: 21 features of mixed lengths (odd: the ranks cannot split it evenly) in batches of 4.
DEV_SIZE, EVAL_BATCH = 21, 4


def _data():
    task = ToyTask(n=16)
    train_features = task.featurize(task.load("train"), None, 32)
    dev_task = ToyTask(n=DEV_SIZE, dev_is_train=False)
    dev = dev_task.load("dev")
    return task, train_features, dev, task.featurize(dev, None, 32)


def _run(out):
    task, train_features, dev, dev_features = _data()
    return train(toy_model(seed=2), train_features, TrainSettings(**SETTINGS), out,
                 score=toy_scorer(task, dev, dev_features, batch_size=EVAL_BATCH), main_metric="accuracy",
                 device="cpu")


def _env(rank, world, port):
    return dict(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                LOCAL_RANK=str(rank))


def _worker(rank, world, port, out):
    torch.set_num_threads(1)
    os.environ.update(_env(rank, world, port))
    # Join first (as the suite does), so the group outlives `train` for the checks below.
    created = distributed.init_from_env(torch.device("cpu"))
    result = _run(out)
    assert result.world_size == world
    *_, dev_features = _data()
    outputs = collect_outputs(toy_model(seed=5), dev_features, batch_size=EVAL_BATCH)
    np.savez(Path(out) / f"outputs-rank{rank}.npz", *outputs["logits"])
    assert distributed.agree(distributed.STOP if rank == 1 else distributed.OK) == distributed.STOP
    assert distributed.all_gather(rank * 10) == [0, 10]
    distributed.shutdown(created)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_two_processes_equal_one(tmp_path):
    single = _run(tmp_path / "one")
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "two")), nprocs=2, join=True)

    one, two = load_file(str(tmp_path / "one/last/model.safetensors")), load_file(str(tmp_path / "two/last/model.safetensors"))
    for k in one:
        torch.testing.assert_close(one[k], two[k], atol=1e-5, rtol=1e-4)
    start = toy_model(seed=2).state_dict()
    assert not torch.allclose(one["classifier.weight"], start["classifier.weight"])
    log = _jsonl(tmp_path / "two/log.jsonl")
    assert len(log) == 5 and (tmp_path / "two/best/model.safetensors").is_file()
    for a, b in zip(single.log, log):
        assert abs(a["loss"] - b["loss"]) < 1e-5          # the logged loss is the global-batch mean too
        assert a.get("eval") == b.get("eval")              # dev scores at steps 2, 4, 5
    assert [e["step"] for e in log if "eval" in e] == [2, 4, 5]
    # best step, metrics and per-example predictions: those of one process
    for name in ("best", "last"):
        assert json.loads((tmp_path / "one" / name / "metrics.json").read_text()) == \
            json.loads((tmp_path / "two" / name / "metrics.json").read_text())
        assert _jsonl(tmp_path / "one" / name / "predictions-dev.jsonl") == \
            _jsonl(tmp_path / "two" / name / "predictions-dev.jsonl")
    assert len(_jsonl(tmp_path / "two/best/predictions-dev.jsonl")) == DEV_SIZE
    # exact: the two-process run's own weights scored by one process give what it recorded
    task, _, dev, dev_features = _data()
    metrics, predictions = toy_scorer(task, dev, dev_features, batch_size=EVAL_BATCH)(
        AlbertForSequenceClassification.from_pretrained(tmp_path / "two/last"), "fp32")
    assert json.loads((tmp_path / "two/last/metrics.json").read_text())["metrics"] == metrics
    assert _jsonl(tmp_path / "two/last/predictions-dev.jsonl") == predictions["dev"]
    # the sharded outputs themselves, gathered on both ranks, equal one process's bit for bit
    # (with the workers' one thread: the thread count changes how CPU kernels sum)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        reference = collect_outputs(toy_model(seed=5), dev_features, batch_size=EVAL_BATCH)["logits"]
    finally:
        torch.set_num_threads(threads)
    for rank in (0, 1):
        gathered = np.load(tmp_path / f"two/outputs-rank{rank}.npz")
        assert len(gathered.files) == DEV_SIZE
        for i, expected in enumerate(reference):
            np.testing.assert_array_equal(gathered[f"arr_{i}"], expected)


def test_shard_batches_deals_whole_batches_by_padded_tokens():
    features = [{"input_ids": [1] * n} for n in (9, 8, 7, 3, 3, 2, 2)]
    batches = eval_batches(features, 2)                          # [[0,1], [2,3], [4,5], [6]]
    parts = shard_batches(batches, features, 2)
    assert parts == [[0, 3], [1, 2]]                             # 18 + 2 tokens; 14 + 6
    assert sorted(b for p in parts for b in p) == list(range(len(batches)))
    assert shard_batches(batches, features, 5)[4] == []          # more ranks than batches: some idle


def test_timeout_from_env(monkeypatch):
    monkeypatch.delenv(distributed.TIMEOUT_ENV, raising=False)
    assert distributed.timeout().total_seconds() == 30 * 60
    monkeypatch.setenv(distributed.TIMEOUT_ENV, "90")
    assert distributed.timeout().total_seconds() == 90
    for bad in ("soon", "0"):
        monkeypatch.setenv(distributed.TIMEOUT_ENV, bad)
        with pytest.raises(ValueError, match=distributed.TIMEOUT_ENV):
            distributed.timeout()


# ---- one failing rank stops all ------------------------------------------------------------

FAILING = """
import os, time, torch
from albert_bench.engine.train import TrainSettings, train
from test_train import toy_model, toy_scorer
from toy_task import ToyTask
torch.set_num_threads(1)
fail_rank, fail_call, fail_mode = int(os.environ["FAIL_RANK"]), int(os.environ["FAIL_CALL"]), os.environ["FAIL_MODE"]
task = ToyTask(n=16)
examples = task.load("train")
features = task.featurize(examples, None, 32)
model = toy_model(seed=2)
calls = []
def hook(module, args, kwargs):
    if module.training == (fail_mode == "train"):
        calls.append(1)
        if int(os.environ["RANK"]) == fail_rank and len(calls) == fail_call:
            print(f"raising at {time.time()}", flush=True)
            raise RuntimeError(f"boom in {fail_mode} forward {fail_call}")
model.register_forward_pre_hook(hook, with_kwargs=True)
train(model, features, TrainSettings(lr=1e-3, batch_size=4, train_steps=8, warmup_steps=1, eval_every=2, seed=0),
      os.environ["OUT"], score=toy_scorer(task, examples, features, batch_size=4), main_metric="accuracy",
      device="cpu")
"""


# (failing rank, where its forward raises, which call, the phase its message names)
SCENARIOS = [(1, "train", 3, "step 3"),                 # rank 0 then waits in DDP's gradient all-reduce
             (0, "eval", 2, "step 2 (dev scoring)")]    # the store's host fails; rank 1 waits in the gather


def test_one_failing_rank_stops_all(tmp_path):
    """Both scenarios at once (four processes; each pair its own group): both processes of a pair
    exit non-zero within seconds of the raise, far below the group's timeout (600 s here), the
    failing one with its own traceback and the healthy one naming the failing rank's error."""
    root = Path(__file__).resolve().parent
    runs = []
    for k, (fail_rank, mode, call, where) in enumerate(SCENARIOS):
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root.parent), str(root)]),
               "OUT": str(tmp_path / str(k)), "FAIL_RANK": str(fail_rank), "FAIL_CALL": str(call),
               "FAIL_MODE": mode, distributed.TIMEOUT_ENV: "600"}
        logs = [tmp_path / f"{k}-rank{r}.txt" for r in (0, 1)]
        procs = [subprocess.Popen([sys.executable, "-c", FAILING], env={**env, **_env(r, 2, port)},
                                  stdout=log.open("w"), stderr=subprocess.STDOUT, text=True)
                 for r, log in zip((0, 1), logs)]
        runs.append((fail_rank, mode, call, where, procs, logs))
    ended = {}
    deadline = time.monotonic() + 180            # startup (imports) on a loaded machine included
    while len(ended) < 4 and time.monotonic() < deadline:
        for run in runs:
            for p in run[4]:
                if p.pid not in ended and p.poll() is not None:
                    ended[p.pid] = time.time()
        time.sleep(0.1)
    for p in (p for run in runs for p in run[4]):
        if p.pid not in ended:
            p.kill()
    for fail_rank, mode, call, where, procs, logs in runs:
        outs = [log.read_text() for log in logs]
        assert all(p.pid in ended and p.returncode != 0 for p in procs), ([p.returncode for p in procs], outs)
        raised = float(re.search(r"raising at ([\d.]+)", outs[fail_rank]).group(1))
        stopped = max(ended[p.pid] for p in procs) - raised
        assert stopped < 20, (stopped, outs)      # ~3 s: the watchdog polls twice a second, waits 2 s
        error = f"RuntimeError: boom in {mode} forward {call}"
        healthy = outs[1 - fail_rank]
        assert f"rank {fail_rank} failed at {where}: {error}" in healthy, healthy
        assert error in outs[fail_rank] and "could not tell" not in outs[fail_rank], outs[fail_rank]
