"""Our ALBERT against transformers' (SDPA), same weights and inputs, measured in one run:
inference and training-step throughput (sequences/s) and peak memory, as ratios ours / transformers.

    python benchmarks/bench_model.py              # albert-base-v2, batch 8 x 128 tokens, CPU (+ CUDA if present)
    python benchmarks/bench_model.py --quick      # tiny config, seconds
    python benchmarks/bench_model.py --device cuda --dtype bfloat16 --batch-size 32

Same as `albert-bench bench model`; needs transformers (pip install -e '.[test]').
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from albert_bench import bench  # noqa: E402

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="base", help="base | large | xlarge | xxlarge (v2 presets)")
    p.add_argument("--device", default="auto", help="auto (CPU, plus CUDA when present) | cpu | cuda")
    p.add_argument("--dtype", default="float32", choices=sorted(bench.DTYPES))
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seq-len", type=int)
    p.add_argument("--iters", type=int, help="timed iterations per side (median reported)")
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    p.add_argument("--no-memory", action="store_true", help="skip the per-side memory subprocesses")
    p.add_argument("--quick", action="store_true", help="tiny config: a smoke run in seconds")
    a = p.parse_args()
    rows = bench.bench_model(size=a.size, device=a.device, batch_size=a.batch_size, seq_len=a.seq_len,
                             iters=a.iters, dtype=a.dtype, quick=a.quick, threads=a.threads,
                             memory=not a.no_memory)
    print(bench.format_table(rows))
