"""Time from a stop signal (SIGTERM) to the exit of a training process with its checkpoint saved,
for ALBERT base (random init, albert-base-v2 preset) on CPU, sequences of 128, batch 8.

    PYTHONPATH=. python benchmarks/bench_stop.py --repeats 3

Each repeat starts a child that trains (engine.train, synthetic features), waits for its first
progress line, sends SIGTERM and times until the child has exited with status 75 and
checkpoint/trainer_state.json holds the stopped step. The figure includes finishing the current
optimizer step (on average half a step) and writing the checkpoint (weights + AdamW state).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import random, sys
import torch
from albert_bench.engine.signals import EXIT_STOPPED, TrainingStopped
from albert_bench.engine.train import TrainSettings, train
from albert_bench.modeling.config import AlbertConfig
from albert_bench.modeling.model import AlbertForSequenceClassification
out, seq, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(0)
features = [{"input_ids": [2] + [rng.randrange(5, 30000) for _ in range(seq - 2)] + [3],
             "token_type_ids": [0] * seq, "labels": rng.randrange(2)} for _ in range(64)]
model = AlbertForSequenceClassification(AlbertConfig.from_preset("albert-base-v2", num_labels=2))
settings = TrainSettings(lr=2e-5, batch_size=batch, train_steps=1000, warmup_steps=10, checkpoint_every=10**6,
                         precision="fp32")
try:
    train(model, features, settings, out, device="cpu", log_every=0.01)
except TrainingStopped as stopped:
    print(f"stopped at step {stopped.step}", file=sys.stderr, flush=True)
    sys.exit(EXIT_STOPPED)
"""


def one(seq: int, batch: int, repo: Path) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(repo)}
        child = subprocess.Popen([sys.executable, "-c", CHILD, tmp, str(seq), str(batch)], stderr=subprocess.PIPE,
                                 text=True, env=env)
        for line in child.stderr:                # the first optimizer step is done
            if line.startswith("train: step"):
                break
        sent = time.perf_counter()
        child.send_signal(signal.SIGTERM)
        rest = child.stderr.read()
        rc = child.wait()
        elapsed = time.perf_counter() - sent
        state = json.loads((Path(tmp) / "checkpoint" / "trainer_state.json").read_text())
        assert rc == 75 and f"stopped at step {state['step']}" in rest, (rc, rest)
        return elapsed, state["step"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    repo = Path(__file__).resolve().parent.parent
    times = []
    for i in range(args.repeats):
        seconds, step = one(args.seq_len, args.batch_size, repo)
        times.append(seconds)
        print(f"repeat {i + 1}: {seconds:.2f} s from SIGTERM to exit (stopped at step {step})", flush=True)
    print(f"median {statistics.median(times):.2f} s over {len(times)} repeats "
          f"(min {min(times):.2f}, max {max(times):.2f}); cpu cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
