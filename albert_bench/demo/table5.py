"""The paper's Table 5 (sentence-level objective) at small scale: three small ALBERTs pretrained on
CPU, objective none / NSP / SOP, and their held-out MLM, NSP and SOP accuracy beside the paper's.

    from albert_bench.demo.table5 import reproduce_table5
    result = reproduce_table5("reports/table5", seed=0)          # a few minutes per model on 1-2 cores
    result = reproduce_table5("out", steps=10, documents=200)    # seconds: the shape of the table only
    print(result["markdown"])

Steps: write the story corpus of albert_bench.demo.documents (documents with their own entities and
ordered cues; its docstring says why both tasks are learnable from it), train one SentencePiece
model on it, then pretrain the same small config with the same seed, steps and held-out split once
per objective (albert_bench.pretraining.pretrain). Each run scores its held-out documents on both
sentence tasks with the model's 2-way sentence head (label 0 = B follows A): SOP pairs are swapped
half the time, NSP pairs take B from another document half the time. The `none` model's head is
never trained (its NSP / SOP columns are an untrained head, near chance by construction), so its row
also shows the linear probes of its frozen encoder, when pretrain reports them.

The paper's finding is checked, not assumed: `result["finding"]` says, with a 95% interval from the
number of held-out pairs, whether the NSP-trained model's SOP accuracy is near chance (paper 52.0)
and the SOP-trained model's NSP accuracy is above chance (paper 78.9).

Measured (seed 0, SMALL settings, design "stories", 1 thread on a shared 2-core machine, about
3.5 min per model; held-out accuracy %, n = 712 pairs per task; probes as above). NSP's random B
now ends at a sentence end, as the true B does (pretraining/data.py _random_b); before, it was cut
at the true B's length, mid-sentence, and "B ends with a period" alone scored 71.8 on NSP:

| objective | MLM | NSP | SOP | NSP probe | SOP probe | paper MLM / NSP / SOP |
|---|---|---|---|---|---|---|
| none (untrained head) | 21.1 | 52.0 | 50.4 | 62.5 | 77.9 | 54.9 / 52.4 / 53.3 |
| nsp | 19.9 | 69.7 | 72.6 | 69.5 | 86.1 | 54.5 / 90.5 / 52.0 |
| sop | 19.4 | 60.1 | 89.7 | 66.9 | 90.7 | 54.0 / 78.9 / 86.5 |

The finding does not show at this scale. The NSP model is well above chance on SOP: 72.6 [69.3,
75.9] (seed 1: 62.5, its NSP 60.3). With the old mid-sentence B it was 62.6 (NSP 72.5; seed 1: 61.4; 3000 steps: 71.8): with
the format cue gone, the NSP model reads the stories' stage cues more, not topic. The SOP model's
NSP is above chance with seed 0 (60.1 [56.5, 63.7]; old B: 60.0, 62.1 after 3000 steps) but was
not with seed 1 (old B: 48.6, SOP 78.1), so that half is not robust either. Why: a tiny model
learns the stage cues (which also separate NSP's random B, see documents.py) before topic
matching across segments; even the MLM-only encoder's [CLS] holds more order (probe 77.9) than
topic-mismatch (62.5) information. At the paper's scale topic is the easy part of NSP; here it
is not. Corpora with local order cues only (documents.py's "chain" and "weekdays" designs) bring
the NSP model's SOP to about chance (54.3, 57.3) but the SOP model then learns no SOP in 1500
steps (53.8, 54.5), and without the format cue the chain NSP model learns hardly any NSP (55.4;
names in every sentence, ~3000 of them): no matching across segments in 1500 steps.

Writes OUTPUT_DIR/table5.md and OUTPUT_DIR/table5.json (atomic), corpus.txt, tokenizer/, one
pretraining folder per objective (none/, nsp/, sop/) and their records in OUTPUT_DIR/results/
(`albert-bench paper --table 5 --results OUTPUT_DIR/results` shows them; fine-tuning a folder links
its downstream scores to the row).
"""
from __future__ import annotations

import math
import time
from pathlib import Path

from albert_bench.io import atomic_write_json, atomic_write_text
from albert_bench.modeling.config import AlbertConfig

OBJECTIVES = ("none", "nsp", "sop")
# Table 5 (ALBERT-base), the intrinsic columns, percent (ALBERT_FACTS.md section 7).
PAPER = {"none": {"mlm": 54.9, "nsp": 52.4, "sop": 53.3},
         "nsp": {"mlm": 54.5, "nsp": 90.5, "sop": 52.0},
         "sop": {"mlm": 54.0, "nsp": 78.9, "sop": 86.5}}

# The small scale: demo/run.py's model (hidden 128, 4 layers, no dropout), a vocabulary the story
# corpus fills, sequences of 64 (a pair is 2-5 sentences of a story).
SMALL_MODEL = dict(embedding_size=64, hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                   intermediate_size=256, max_position_embeddings=256, hidden_act="gelu_new",
                   hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
SMALL = dict(design="stories", documents=3000, vocab_size=1000, steps=1500, seq_len=64, batch_size=32, lr=2e-3, heldout_fraction=0.1)


def reproduce_table5(output_dir: str | Path, seed: int = 0, small: bool = True, steps: int | None = None,
                     documents: int | None = None, design: str | None = None, results_dir: str | Path | None = None,
                     objectives: tuple[str, ...] = OBJECTIVES, log_every: float | None = 60) -> dict:
    """Pretrain one small model per objective and return Table 5's intrinsic columns, ours beside the
    paper's: {"rows", "finding", "settings", "markdown", "paths"}. steps / documents / design (documents.DESIGNS): None = SMALL's.
    results_dir: where each pretraining writes its record (default OUTPUT_DIR/results), for
    `albert-bench paper --table 5 --results DIR` and for fine-tuning the three models after."""
    if not small:
        raise ValueError("only the small scale runs here (reproduce_table5(small=True)): the paper's Table 5 is "
                         "ALBERT-base pretrained 125k steps at batch 4096 on Wikipedia + BookCorpus; run "
                         "`albert-bench pretrain --objective none|nsp|sop` on your corpus for that")
    unknown = [o for o in objectives if o not in OBJECTIVES]
    if unknown:
        raise ValueError(f"objectives {unknown} are not among {', '.join(OBJECTIVES)}")
    from albert_bench.demo.documents import write_corpus
    from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece
    from albert_bench.pretraining.pretrain import pretrain

    out = Path(output_dir)
    settings = dict(SMALL, seed=seed)
    if steps is not None:
        settings["steps"] = steps
    if documents is not None:
        settings["documents"] = documents
    if design is not None:
        settings["design"] = design
    corpus = write_corpus(out / "corpus.txt", seed=seed, n=settings["documents"], design=settings["design"])
    spiece = train_sentencepiece(corpus, out / "tokenizer", vocab_size=settings["vocab_size"], seed=seed)
    config = AlbertConfig(vocab_size=AlbertTokenizer(str(spiece)).vocab_size, **SMALL_MODEL)
    results_dir = out / "results" if results_dir is None else Path(results_dir)

    rows = []
    for objective in objectives:
        print(f"table 5: pretraining objective={objective} ({settings['steps']} steps)", flush=True)
        started = time.time()
        summary = pretrain(corpus=[corpus], config=config, tokenizer=spiece.parent, output_dir=out / objective,
                           objective=objective, seed=seed, steps=settings["steps"], seq_len=settings["seq_len"],
                           batch_size=settings["batch_size"], lr=settings["lr"],
                           heldout_fraction=settings["heldout_fraction"], cache_dir=out / "token_cache",
                           log_every=log_every, results_dir=results_dir)
        rows.append(table_row(objective, summary, time.time() - started))
    result = {"rows": rows, "finding": finding(rows), "settings": {**settings, "model": SMALL_MODEL},
              "paper": PAPER}
    result["markdown"] = markdown(result)
    result["paths"] = {"markdown": str(atomic_write_text(out / "table5.md", result["markdown"])),
                       "json": str(out / "table5.json")}
    atomic_write_json(out / "table5.json", {k: v for k, v in result.items() if k != "markdown"})
    print(result["markdown"], flush=True)
    return result


def table_row(objective: str, summary: dict, wall_time_s: float) -> dict:
    """One row from a pretrain summary's held-out scores (fractions; the table shows percent)."""
    held = summary.get("heldout") or {}
    missing = [k for k in ("masked_token_accuracy", "nsp_accuracy", "sop_accuracy") if k not in held]
    if missing:
        raise RuntimeError(f"pretraining {objective!r} reported no held-out {', '.join(missing)} "
                           f"(summary['heldout'] keys: {sorted(held)})")
    return {"objective": objective, "mlm": held["masked_token_accuracy"], "nsp": held["nsp_accuracy"],
            "sop": held["sop_accuracy"], "sentence_head": held.get("sentence_head"),
            "nsp_probe": held.get("nsp_probe_accuracy"), "sop_probe": held.get("sop_probe_accuracy"),
            "probe": held.get("probe"), "unigram_baseline": held.get("unigram_baseline_accuracy"),
            "pairs": _pairs(held), "steps": summary.get("steps"), "wall_time_s": round(wall_time_s, 1),
            "output_dir": summary.get("output_dir"), "record": summary.get("record"),
            "paper": PAPER[objective]}


def _pairs(held: dict) -> dict:
    """Held-out pairs scored per task (the interval's n)."""
    n = held.get("instances")
    return {"nsp": held.get("nsp_instances", n), "sop": held.get("sop_instances", n)}


def interval(p: float, n: int | None) -> tuple[float, float] | None:
    """95% normal-approximation interval of an accuracy p over n pairs."""
    if not n:
        return None
    half = 1.96 * math.sqrt(max(p * (1 - p), 0.25 / n) / n)
    return max(0.0, p - half), min(1.0, p + half)


def finding(rows: list[dict]) -> dict:
    """The paper's asymmetry, read from our numbers: NSP-trained -> SOP near chance; SOP-trained ->
    NSP above chance. Near chance = its 95% interval reaches 0.5 or it is below 0.55."""
    by = {r["objective"]: r for r in rows}
    out: dict = {}
    if by.get("nsp", {}).get("sop") is not None:
        p, ci = by["nsp"]["sop"], interval(by["nsp"]["sop"], by["nsp"]["pairs"]["sop"])
        out["nsp_model_sop"] = {"accuracy": p, "ci95": ci, "paper": 0.520,
                                "near_chance": p < 0.55 or (ci is not None and ci[0] <= 0.5)}
    if by.get("sop", {}).get("nsp") is not None:
        p, ci = by["sop"]["nsp"], interval(by["sop"]["nsp"], by["sop"]["pairs"]["nsp"])
        out["sop_model_nsp"] = {"accuracy": p, "ci95": ci, "paper": 0.789,
                                "above_chance": p >= 0.55 and (ci is None or ci[0] > 0.5)}
    if len(out) == 2:
        out["shown"] = out["nsp_model_sop"]["near_chance"] and out["sop_model_nsp"]["above_chance"]
    return out


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def markdown(result: dict) -> str:
    s = result["settings"]
    lines = ["# Table 5 at small scale: sentence-level objective (held-out accuracy, %, higher is better)", "",
             f"Story corpus of {s['documents']} documents (albert_bench/demo/documents.py), ALBERT hidden "
             f"{s['model']['hidden_size']}, {s['model']['num_hidden_layers']} layers, {s['steps']} steps of batch "
             f"{s['batch_size']}, seq {s['seq_len']}, lr {s['lr']}, seed {s['seed']}; "
             f"{s['heldout_fraction']:.0%} of the text held out. Paper: ALBERT-base, 125k steps, batch 4096.", "",
             "| objective | MLM | NSP | SOP | paper MLM | paper NSP | paper SOP | NSP probe | SOP probe | minutes |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        head = " (untrained head)" if r.get("sentence_head") == "untrained" else ""
        lines.append(f"| {r['objective']}{head} | {_pct(r['mlm'])} | {_pct(r['nsp'])} | {_pct(r['sop'])} | "
                     f"{r['paper']['mlm']} | {r['paper']['nsp']} | {r['paper']['sop']} | {_pct(r['nsp_probe'])} | "
                     f"{_pct(r['sop_probe'])} | {r['wall_time_s'] / 60:.1f} |")
    f = result["finding"]
    lines.append("")
    if "nsp_model_sop" in f:
        x = f["nsp_model_sop"]
        lines.append(f"- NSP-trained model on SOP: {_pct(x['accuracy'])} {_ci(x['ci95'])} (paper 52.0): "
                     + ("near chance, as in the paper" if x["near_chance"] else "NOT near chance"))
    if "sop_model_nsp" in f:
        x = f["sop_model_nsp"]
        lines.append(f"- SOP-trained model on NSP: {_pct(x['accuracy'])} {_ci(x['ci95'])} (paper 78.9): "
                     + ("above chance, as in the paper" if x["above_chance"] else "NOT above chance"))
    if "shown" in f:
        lines.append(f"- the paper's finding {'shows' if f['shown'] else 'does NOT show'} at this scale")
    probe = next((r["probe"] for r in result["rows"] if r.get("probe")), None)
    if probe:
        lines.append(f"- probes: {probe}")
    return "\n".join(lines) + "\n"


def _ci(ci) -> str:
    return "" if ci is None else f"[{_pct(ci[0])}, {_pct(ci[1])}]"
