"""Dev-set scoring throughput in REAL (non-pad) tokens/s on GLUE-like sentence lengths, in one run:
ours with length-sorted batches vs ours padded to 128 vs transformers with dynamic padding.

    python benchmarks/bench_scoring.py            # albert-base-v2, 256 examples, batch 16, CPU (+ CUDA)
    python benchmarks/bench_scoring.py --quick    # tiny config, seconds
    python benchmarks/bench_scoring.py --n-examples 1024 --batch-size 8

Same as `albert-bench bench scoring`; needs transformers (pip install -e '.[test]').
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
    p.add_argument("--n-examples", type=int)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    p.add_argument("--quick", action="store_true", help="tiny config: a smoke run in seconds")
    a = p.parse_args()
    rows = bench.bench_scoring(size=a.size, device=a.device, n_examples=a.n_examples, batch_size=a.batch_size,
                               max_seq_length=a.max_seq_length, dtype=a.dtype, quick=a.quick, threads=a.threads)
    print(bench.format_table(rows))
