"""What a job's claim costs (albert_bench/suite/claims.py): acquire (O_EXCL create + heartbeat
thread start) + release (thread stop + delete), and one heartbeat rewrite, over many iterations;
then a tiny suite job with and without claims (claims_on=False), alternated, median of each.

    PYTHONPATH=. python benchmarks/bench_claims.py                  # ~1 min on 2 busy cores
    PYTHONPATH=. python benchmarks/bench_claims.py --iterations 200 --jobs 3
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from albert_bench.suite import claims


def claim_cycle(folder: Path, iterations: int) -> tuple[float, float]:
    """Median microseconds of acquire + release, and of one heartbeat rewrite."""
    cycles, beats = [], []
    for i in range(iterations):
        start = time.perf_counter()
        claim = claims.acquire(folder / f"job{i % 8}", heartbeat=3600)   # no beat inside the timing
        claim.release()
        cycles.append(time.perf_counter() - start)
    claim = claims.acquire(folder / "beat", heartbeat=3600)
    for _ in range(iterations):   # what the heartbeat thread does each period
        start = time.perf_counter()
        current = claims.read(claim.path)
        assert current["token"] == claim.token
        claims.atomic_write_json(claim.path, {**claim.info, "heartbeat": time.time()})
        beats.append(time.perf_counter() - start)
    claim.release()
    return statistics.median(cycles) * 1e6, statistics.median(beats) * 1e6


def suite_jobs(folder: Path, jobs: int) -> tuple[float, float]:
    """Median seconds of one tiny suite job (random albert-tiny on a small demo RTE, 6 steps) with
    and without claims, runs alternated (ABBA) so drift hits both alike."""
    import torch

    from albert_bench.demo.data import write_rte
    from albert_bench.modeling.tokenizer import train_sentencepiece
    from albert_bench.suite import runner as suite
    from albert_bench.tasks import get_task
    write_rte(folder / "data" / "RTE", random.Random(0), {"train": 24, "dev": 12})
    texts = [line for p in sorted((folder / "data").rglob("*.tsv")) for line in p.read_text().splitlines()]
    tok = str(train_sentencepiece(texts * 3, folder / "tok", vocab_size=120).parent)
    torch.set_num_threads(1)
    times = {True: [], False: []}
    for k in range(jobs):
        for on in ((True, False) if k % 2 == 0 else (False, True)):
            out = folder / f"run{k}-{on}"
            plan = suite.plan(["preset:albert-tiny"], "rte", [1], data_root=folder / "data", output_root=out / "runs",
                              results_dir=out / "results", get_task=get_task, tokenizer=tok, max_steps=6,
                              overrides={"batch_size": 8, "max_seq_length": 48})
            start = time.perf_counter()
            summary = suite.run_suite(plan, get_task=get_task, out=lambda *a: None, claims_on=on)
            times[on].append(time.perf_counter() - start)
            assert len(summary.done) == 1
    return statistics.median(times[True]), statistics.median(times[False])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=6, help="suite jobs per side")
    parser.add_argument("--dir", default=None, help="where the claims go (default: a temp folder; "
                        "pass a folder on NFS to measure that)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        cycle, beat = claim_cycle(Path(tmp), args.iterations)
        print(f"claim acquire + release (create, heartbeat thread start/stop, delete): {cycle:.0f} us median "
              f"of {args.iterations}")
        print(f"one heartbeat (read, compare token, atomic rewrite): {beat:.0f} us median of {args.iterations}")
        with_claims, without = suite_jobs(Path(tmp), args.jobs)
        print(f"tiny suite job: {with_claims * 1e3:.0f} ms with claims, {without * 1e3:.0f} ms without "
              f"(median of {args.jobs} each; difference {1e3 * (with_claims - without):+.1f} ms)")


if __name__ == "__main__":
    main()
