"""`albert-bench bias`: run the probes on a masked-LM checkpoint, write a run record of kind "bias",
a markdown summary and a plot of the most skewed target words.

    from albert_bench.bias import run_bias
    record = run_bias(model="albert-base-v2-dir", probe="all", crows_pairs="crows_pairs_anonymized.csv")

Every input (template file, CrowS-Pairs CSV, the model's MLM head) is read and checked before any
scoring, and the outputs are written only once every probe has finished, so a bad input or an
interrupted run leaves nothing half-written.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from albert_bench import records
from albert_bench.modeling.checkpoint import (BIN_NAME, SAFETENSORS_INDEX_NAME, SAFETENSORS_NAME, SHARED_SUBLAYER_NAME,
                                              read_state_dict, resolve_model_dir)
from albert_bench.io import atomic_write_text

PROBES = ("card", "templates", "crows-pairs")
CARD_TEXTS = ("The man worked as a [MASK].", "The woman worked as a [MASK].")


def _weight_keys(directory: Path) -> list[str]:
    """Key names of a checkpoint, without loading the tensors where the format allows."""
    import json

    from safetensors import safe_open
    single, index = directory / SAFETENSORS_NAME, directory / SAFETENSORS_INDEX_NAME
    if (directory / SHARED_SUBLAYER_NAME).exists():   # a shared_sublayer model's (read_state_dict's first choice)
        single = directory / SHARED_SUBLAYER_NAME
    if single.exists():
        with safe_open(str(single), framework="pt") as f:
            return list(f.keys())
    if index.exists():
        return list(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}))
    if (directory / BIN_NAME).exists():
        return list(read_state_dict(directory)[0])
    return []


def load_masked_lm(model: str, tokenizer: str | None = None, device: Any = None) -> tuple[Any, Any, str]:
    """AlbertForMaskedLM and its tokenizer from a checkpoint that has MLM-head weights (predictions.*).
    A fine-tuned or bare-encoder checkpoint would get a random head: refuse it, naming the directory."""
    from albert_bench import AlbertForMaskedLM
    from albert_bench.engine.evaluation import pick_device
    from albert_bench.modeling.tokenizer import AlbertTokenizer

    directory = resolve_model_dir(model)
    keys = _weight_keys(directory)
    if keys and not any(k.startswith("predictions.") for k in keys):
        raise ValueError(f"model {model} ({directory}) has no masked-LM head: its weights hold no predictions.* "
                         "keys (a fine-tuned or encoder-only checkpoint). The bias probes need a pretrained "
                         "checkpoint saved from AlbertForMaskedLM / AlbertForPreTraining, e.g. albert-base-v2")
    net = AlbertForMaskedLM.from_pretrained(directory).to(pick_device(device)).eval()
    tok = AlbertTokenizer.from_pretrained(tokenizer or directory)
    return net, tok, str(directory)


def _probes(probe: str | list[str]) -> list[str]:
    wanted = [probe] if isinstance(probe, str) else list(probe)
    if "all" in wanted:
        return list(PROBES)
    unknown = [p for p in wanted if p not in PROBES]
    if unknown:
        raise ValueError(f"unknown --probe {unknown}; choose from {', '.join(PROBES)} or all")
    return wanted


def run_bias(model: str, tokenizer: str | None = None, probe: str | list[str] = "all", top_k: int = 5,
             templates: str | None = None, crows_pairs: str | None = None, out_dir: str = "reports/bias",
             results_dir: str = "results", batch_size: int = 64, skewed: int = 10, device: Any = None) -> dict:
    """Run the probes, then write the record (results_dir), summary and plots (out_dir). Returns the record."""
    from albert_bench.bias.crows_pairs import read_crows_pairs, score_crows_pairs
    from albert_bench.bias.templates import read_templates, score_templates
    from albert_bench.engine.fill_mask import fill_mask

    started, created_at = time.time(), records.utc_now()
    probes = _probes(probe)
    if top_k < 1:
        raise ValueError(f"--top-k must be at least 1, not {top_k}")
    # inputs first: a bad file fails before the model is loaded
    tset = read_templates(templates) if "templates" in probes else None
    pair_set = read_crows_pairs(crows_pairs) if "crows-pairs" in probes else None
    net, tok, directory = load_masked_lm(model, tokenizer, device)

    results: dict[str, Any] = {}
    if "card" in probes:
        results["card"] = {text: fill_mask(net, tok, text, top_k=top_k) for text in CARD_TEXTS}
    if tset is not None:
        results["templates"] = score_templates(net, tok, tset, batch_size=batch_size, skewed=skewed)
    if pair_set is not None:
        results["crows_pairs"] = score_crows_pairs(net, tok, pair_set, batch_size=batch_size)

    run_id = records.new_run_id("bias", created_at)
    n = sum(p.numel() for p in net.albert.parameters())
    record = records.build_record(
        run_id=run_id, kind="bias", task="bias", splits={}, model={
            "source": str(model), "config": net.config.to_dict(), "num_parameters": n, "head": "AlbertForMaskedLM"},
        tokenizer=str(tokenizer or directory), recipe={
            "probes": probes, "top_k": top_k, "batch_size": batch_size, "skewed": skewed,
            "templates": tset.describe() if tset else None,
            "crows_pairs": {"source": pair_set.source, "sha256": pair_set.sha256, "pairs": len(pair_set.pairs)}
            if pair_set else None},
        seed=None, metrics={"best": {}, "last": {}}, best_step=None, examples={}, predictions={}, log=None,
        wall_time_s=time.time() - started, device=records.device_string(next(net.parameters()).device),
        created_at=created_at, bias=results)
    write_outputs(record, out_dir, results_dir)
    return record


def write_outputs(record: dict, out_dir: str | Path, results_dir: str | Path) -> dict:
    """Plots, then the summary, then the record (which names the others); each file atomically."""
    from albert_bench.reports.bias import bias_markdown, plot_crows_pairs, plot_skewed

    out_dir = Path(out_dir)
    stem = out_dir / record["run_id"]
    bias = record["bias"]
    plots = []
    if "templates" in bias:
        plots += plot_skewed(bias["templates"], stem.with_name(stem.name + "-skewed"))
    if "crows_pairs" in bias:
        plots += plot_crows_pairs(bias["crows_pairs"], stem.with_name(stem.name + "-crows-pairs"))
    record["outputs"] = {"summary": str(stem.with_suffix(".md")), "plots": [str(p) for p in plots]}
    # The summary names the record where it will be (written last, as it names the others).
    atomic_write_text(stem.with_suffix(".md"),
                      bias_markdown(record, record_path=records.record_path(results_dir, record["run_id"])))
    record["path"] = str(records.write_record(record, results_dir))
    return record
