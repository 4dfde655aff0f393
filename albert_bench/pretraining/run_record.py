"""The run record of a pretraining run (records.py, kind "pretrain"), written with
`pretrain(results_dir=...)` / `albert-bench pretrain --results-dir DIR`:

    results/pretrain-20250101T120000Z-3f9a1c.json          the record
    results/pretrain-20250101T120000Z-3f9a1c/log.jsonl     the step log

metrics {"heldout": the summary's held-out block (MLM / SOP / NSP accuracy, the probe's:
intrinsic.py)}, model {source (the output folder), config, num_parameters, head}, and "pretraining"
{objective, sharing, embedding_size, steps, batch_size, seq_len, corpus}: what a Table 5 row needs.
The reports read it (frame.load_results) but count no metric run for it.
"""
from __future__ import annotations

from pathlib import Path

from albert_bench import records


def write_pretrain_record(summary: dict, log: list[dict], results_dir, model, tokenizer, settings: dict,
                          device: str) -> Path:
    """Write the record of the run `summary` describes (and its step log beside it); returns its path."""
    run_id = summary["run_id"]
    n = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    records.write_jsonl(records.run_folder(results_dir, run_id) / "log.jsonl", log)
    record = records.build_record(
        run_id=run_id, kind="pretrain", task="pretrain", splits={"train": "corpus", "heldout": "corpus"},
        model={"source": summary["output_dir"], "config": summary["config"], "num_parameters": n,
               "head": type(model).__name__},
        tokenizer=str(tokenizer.spiece_path), recipe={k: v for k, v in settings.items() if k != "config"},
        seed=settings["seed"], metrics={"heldout": summary.get("heldout") or {}}, best_step=None, examples={},
        predictions={}, log=f"{run_id}/log.jsonl", wall_time_s=summary["wall_time_s"], device=device,
        pretraining={"objective": summary["objective"], "sharing": summary["sharing"],
                     "embedding_size": summary["embedding_size"], "steps": summary["steps"],
                     "batch_size": settings["batch_size"], "seq_len": settings["seq_len"], "corpus": summary["corpus"]},
        output_dir=summary["output_dir"], steps=summary["steps"], segments=summary["segments"])
    return records.write_record(record, results_dir)
