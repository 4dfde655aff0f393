"""Benchmarks against transformers, measured in the same run: speed is reported as RATIOS
ours / transformers, never as absolute targets, because shared machines drift.

    albert-bench bench model   --size base      # inference + training-step throughput, peak memory
    albert-bench bench scoring --size base      # dev-set scoring in real tokens/s (sorted vs padded vs HF)
    python benchmarks/bench_model.py --quick    # the same, on a tiny config, in seconds

transformers is the reference and is imported only inside these functions (the library never
depends on it). Both sides are built from one config and hold identical weights; a logits check
guards that before anything is timed. Timings alternate ours/theirs each iteration to cancel drift
and report the median.
"""
from albert_bench.bench.common import (DTYPES, QUICK_PRESET, ROW_KEYS, MissingReferenceError, _dtype,  # noqa: F401
                                       bench_config, build_pair, format_table, random_batch, row,
                                       time_interleaved)
from albert_bench.bench.model import bench_model, check_same_logits, measure_memory, memory_probe  # noqa: F401
from albert_bench.bench.scoring import bench_scoring, glue_like_lengths, synthetic_features  # noqa: F401
