"""Bias probes for masked-LM checkpoints: the model card's fill-mask probe, template scores
(Kurita et al. 2019) and CrowS-Pairs (Nangia et al. 2020). See run.py for the command's flow.

    from albert_bench.bias import run_bias
    record = run_bias(model="albert-base-v2-dir", probe="templates", out_dir="reports/bias")
"""
from albert_bench.bias.run import PROBES, load_masked_lm, run_bias

__all__ = ["PROBES", "load_masked_lm", "run_bias"]
