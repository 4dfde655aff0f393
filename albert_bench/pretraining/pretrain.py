"""Pretraining ALBERT from scratch: masked LM with n-gram masking + a sentence objective, LAMB.

    albert-bench pretrain --corpus wiki.txt books.txt --config albert-base-v2 --vocab-size 30000 \\
        --output-dir runs/pretrain-base                  # the paper's run: 125k steps, batch 4096, seq 512
    albert-bench pretrain --corpus corpus.txt --config albert-tiny --vocab-size 1000 --output-dir out \\
        --steps 300 --seq-len 128 --batch-size 32 --lr 1e-3
    torchrun --nproc_per_node 8 -m albert_bench pretrain ...      # data-parallel: same result, 8 devices
    albert-bench pretrain ... --objective nsp --heldout-fraction 0.05 --results-dir results   # a Table 5 row

    from albert_bench.pretraining.pretrain import pretrain
    summary = pretrain(corpus=["corpus.txt"], config="albert-tiny", vocab_size=1000, output_dir="out",
                       steps=300, seq_len=128, batch_size=32, lr=1e-3, heldout_fraction=0.05)

The data (albert_bench/pretraining/token_cache.py, albert_bench/pretraining/data.py) and the optimizer (albert_bench/pretraining/lamb.py) say what they
do and where they follow the original code. The loop reuses the fine-tuning engine's pieces
(albert_bench/engine/train.py): the linear warmup/decay schedule, global-norm clipping at 1.0, the
resumable checkpoint format and its checks, the RNG capture, DDP helpers. Its loss is the
global batch's mean MLM cross-entropy over every masked token plus the mean sentence-objective
cross-entropy, whatever the micro-batching and process count; the MLM head runs on the masked
positions only. --objective (the paper's Table 5): sop (the default, ALBERT's sentence order),
nsp (BERT's next sentence: B from another document half the time) or none (MLM only, on the
same instances as sop; the sentence head and pooler are frozen at their initialisation). sop
and nsp train the same 2-way head (`sop_classifier`, HF's name) with one label convention,
0 = B follows A in the text, 1 = not, so pretraining/intrinsic.py scores every run on both tasks.

Output folder, a Hugging Face ALBERT directory (transformers' AlbertForPreTraining, `albert-bench
finetune --model` and `fill-mask --model` read it):
    config.json (architectures AlbertForPreTraining), model.safetensors, spiece.model, tokenizer files
    checkpoint/     resumable state (--resume): weights, optimizer.pt, rng-rank*.pt, trainer_state.json
    tokenizer/      the SentencePiece model trained on the corpus (with --vocab-size)
    token_cache/    the tokenized corpus (unless cache_dir says elsewhere)
    log.jsonl       one line per step: step, loss, mlm_loss, sentence_loss (None for none; also as
                    sop_loss for sop, the name it always had), lr, grad_norm
    pretrain_summary.json   objective, embedding_size, sharing, losses, settings, corpus, and with
                    --heldout-fraction "heldout": MLM / SOP / NSP accuracy, the probe's (intrinsic.py)
    run_id.txt      the run's name for --report-to (tensorboard/RUN_ID: TensorBoard's event files)
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import time
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from albert_bench import records
from albert_bench.engine import distributed as dist
from albert_bench.engine import tracking
from albert_bench.engine.batching import split_batch
from albert_bench.modeling.config import PRESETS, AlbertConfig, ConfigError
from albert_bench.engine.evaluation import autocast, pick_device, resolve_precision, show_progress
from albert_bench.io import atomic_write_json, atomic_write_text
from albert_bench.pretraining.lamb import Lamb, lamb_parameter_groups
from albert_bench.modeling.model import AlbertForPreTraining
from albert_bench.pretraining.data import (IGNORE, InstanceStream, check_objective, collate_pretraining, layout_chunks,
                                        split_heldout, word_start_table)
from albert_bench.pretraining.heldout import (default_max_predictions, heldout_instances, most_frequent_id, token_counts,
                                        unigram_accuracy)
from albert_bench.pretraining.intrinsic import intrinsic_scores
from albert_bench.records import to_jsonable
from albert_bench.pretraining.token_cache import build_token_cache, check_corpus_files, read_lines
from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece
from albert_bench.engine.progress import Progress
from albert_bench.engine.loading import PRETRAIN_SUMMARY, sharing_strategy  # TODO: modeling.params (issue #18)
from albert_bench.engine.resumable import existing_checkpoint
from albert_bench.engine.resumable import run_id as saved_run_id
from albert_bench.engine.train import (RESUME_KEYS, TrainingInterrupted, TrainingStopped, TrainSettings, end_segment,
                                       graceful_stop, linear_schedule, load_checkpoint, make_optimizer, new_segment,
                                       optimizer_step, save_checkpoint, set_seed, stop_here)

# The paper's pretraining run (Section 4.1): 125k steps, batch 4096, LAMB lr 0.00176, sequences of
# 512 (10% shorter), 3,125 warmup steps (2.5%); weight decay 0.01 and eps 1e-6 as optimization.py.
PAPER = dict(steps=125_000, batch_size=4096, lr=0.00176, seq_len=512, warmup_share=3125 / 125_000)
OPTIMIZERS = ("lamb", "adamw")
# Settings a resumed run must share with the interrupted one (beyond train.RESUME_KEYS).
PRETRAIN_RESUME_KEYS = ("optimizer", "seq_len", "max_predictions", "masked_lm_prob", "max_ngram", "whole_word_mask",
                        "short_seq_prob", "heldout_fraction", "corpus_key", "config", "objective")
MAX_TOKENIZER_LINES = 2_000_000   # SentencePiece learns from at most this many lines, spread over the corpus


class PretrainingObjective(nn.Module):
    """Loss sums of one micro-batch: MLM cross-entropy over the masked positions (the head runs on
    those only, as the original gathers masked_lm_positions) and the sentence head's cross-entropy
    (SOP or NSP: the same 2-way `sop_classifier`; zero without a sentence objective). A module so
    that DistributedDataParallel can wrap it."""

    def __init__(self, model: AlbertForPreTraining, sentence: bool = True):
        super().__init__()
        self.model, self.sentence = model, sentence

    def forward(self, input_ids, token_type_ids, attention_mask, labels, sentence_order_label):
        enc = self.model.albert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        picked = labels != IGNORE                                         # (B, T)
        mlm = self.model.predictions(enc.last_hidden_state[picked])       # (N, V)
        mlm_sum = F.cross_entropy(mlm.float(), labels[picked], reduction="sum")
        if not self.sentence:                                             # --objective none: MLM only
            return mlm_sum, torch.zeros((), device=mlm_sum.device)
        sop = self.model.sop_classifier(enc.pooler_output)                # (B, 2)
        sop_sum = F.cross_entropy(sop.float(), sentence_order_label, reduction="sum")
        return mlm_sum, sop_sum


class StepBatches(torch.utils.data.Dataset):
    """This rank's micro-batches of steps start..steps-1 (item i = step start + i), with the rank's
    masked-token count: built ahead in DataLoader workers. Step s holds instances s*B .. s*B+B-1
    of the stream, split by rank, so the batches depend on the seed and the step only."""

    def __init__(self, stream: InstanceStream, batch_size: int, micro: int, start: int, steps: int):
        self.stream, self.batch_size, self.micro, self.start, self.steps = stream, batch_size, micro, start, steps
        self.world, self.rank = dist.world_size(), dist.rank()

    def __len__(self) -> int:
        return self.steps - self.start

    def __getitem__(self, i: int) -> tuple[int, list[dict]]:
        first = (self.start + i) * self.batch_size          # global index of the step's first instance
        mine = split_batch(range(first, first + self.batch_size), self.world)[self.rank]
        instances = [self.stream[k] for k in mine]
        masked = sum(int((x["labels"] != IGNORE).sum()) for x in instances)
        parts = split_batch(range(len(instances)), math.ceil(len(instances) / self.micro))
        return masked, [collate_pretraining([instances[j] for j in rows]) for rows in parts]


def resolve_config(config: str | os.PathLike | AlbertConfig, vocab_size: int, overrides: dict | None = None
                   ) -> AlbertConfig:
    """--config: a preset name, a config.json, or a folder holding one; vocab_size from the tokenizer."""
    if isinstance(config, AlbertConfig):
        base = config
    elif str(config) in PRESETS:
        base = AlbertConfig.from_preset(str(config))
    elif Path(config).is_dir():
        base = AlbertConfig.from_pretrained(config)
    elif Path(config).is_file():
        base = AlbertConfig.from_json_file(config)
    else:
        raise ConfigError(f"--config {config!r} is neither a preset ({', '.join(PRESETS)}) nor a config.json file")
    return base.with_overrides(**{**(overrides or {}), "vocab_size": vocab_size, "architectures": None})


def resolve_tokenizer(tokenizer: str | os.PathLike | None, vocab_size: int | None, corpus: Sequence[Path],
                      out: Path, seed: int, resume: bool) -> AlbertTokenizer:
    """--tokenizer DIR as is, or with --vocab-size a SentencePiece model trained on the corpus into
    OUTPUT_DIR/tokenizer (rank 0 trains it, the others wait; a resumed run reuses it)."""
    if (tokenizer is None) == (vocab_size is None):
        raise ValueError("pass exactly one of --tokenizer DIR (an existing spiece.model) or --vocab-size N "
                         "(train a SentencePiece model on the corpus)")
    if tokenizer is not None:
        return AlbertTokenizer.from_pretrained(tokenizer)
    folder = out / "tokenizer"
    if dist.rank() == 0 and not (resume and (folder / "spiece.model").is_file()):
        train_sentencepiece(_tokenizer_lines(corpus), folder, vocab_size=vocab_size, seed=seed)
    dist.barrier()
    return AlbertTokenizer.from_pretrained(folder)


def _tokenizer_lines(corpus: Sequence[Path]) -> list[str]:
    """Every line, or every k-th when the corpus has more than MAX_TOKENIZER_LINES."""
    total = sum(1 for _ in read_lines(corpus))
    stride = max(1, math.ceil(total / MAX_TOKENIZER_LINES))
    return [line for i, (_, line) in enumerate(read_lines(corpus)) if i % stride == 0]


def pretrain(*, corpus: Sequence[str | os.PathLike], config: str | os.PathLike | AlbertConfig,
             output_dir: str | os.PathLike, tokenizer: str | os.PathLike | None = None, vocab_size: int | None = None,
             steps: int = PAPER["steps"], seq_len: int = PAPER["seq_len"], batch_size: int = PAPER["batch_size"],
             lr: float = PAPER["lr"], optimizer: str = "lamb", warmup: int | None = None, weight_decay: float = 0.01,
             seed: int = 12345, resume: bool = False, device: str | None = None, precision: str = "auto",
             micro_batch_size: int | None = None, gradient_checkpointing: bool = False,
             max_predictions: int | None = None, masked_lm_prob: float = 0.15, max_ngram: int = 3,
             whole_word_mask: bool = True, short_seq_prob: float = 0.1, heldout_fraction: float = 0.0, cache_dir: str | os.PathLike | None = None,
             checkpoint_every: int | None = None, config_overrides: dict | None = None,
             data_workers: int | None = None, log_every: float | None = None, report_to=None,
             tracking_dir: str | os.PathLike | None = None, objective: str = "sop",
             results_dir: str | os.PathLike | None = None, _stop_at_step: int | None = None) -> dict:
    """Pretrain an ALBERT on text files; returns the summary also written to pretrain_summary.json.

    warmup: None = 2.5% of steps (the paper's 3,125 of 125k). max_predictions: None = round(0.15 *
    seq_len). whole_word_mask: n-grams of whole words (the original's default) or of tokens. heldout_fraction > 0 keeps the corpus' last sentences out of training and reports
    masked-token accuracy on them beside the unigram baseline (summary["heldout"]).
    checkpoint_every: None = every 10% of steps (at most every 1000). data_workers: processes that
    build batches ahead (None: 2 on GPU, 0 on CPU). Under torchrun every process calls this the
    same way; batches are split by rank. SIGUSR1 / SIGTERM / SIGINT stop it at the next step with a
    checkpoint (TrainingStopped; resume=True continues). log_every: seconds between plain progress
    lines when stderr is no terminal (besides one every 5%). report_to ("tensorboard,mlflow"):
    experiment trackers (engine/tracking.py) get every step's log entry, the settings and the final
    losses (TensorBoard: tracking_dir/RUN_ID, default OUTPUT_DIR/tensorboard/RUN_ID).
    objective: the sentence-level task beside MLM: "sop" (ALBERT's), "nsp" (BERT's next sentence
    prediction, B from another document half the time) or "none" (MLM only; the sentence head and
    the pooler stay at their initialisation). The held-out scores cover MLM, SOP and NSP whatever
    the objective (pretraining/intrinsic.py). results_dir: rank 0 also writes a run record there
    (kind "pretrain", records.py).
    """
    # A missing tracking backend fails before anything loads.
    tracker = tracking.trackers(report_to, Path(tracking_dir or Path(output_dir) / "tensorboard"))
    device = pick_device(device)
    created = dist.init_from_env(device)
    try:
        # one failing rank stops all; a stop signal ends every rank at the same step with a checkpoint
        with dist.StopAllOnFailure(expected=(TrainingInterrupted,)), graceful_stop() as stop:
            return _pretrain(corpus=corpus, config=config, out=Path(output_dir), tokenizer=tokenizer,
                             vocab_size=vocab_size, steps=steps, seq_len=seq_len, batch_size=batch_size, lr=lr,
                             optimizer=optimizer, warmup=warmup, weight_decay=weight_decay, seed=seed, resume=resume,
                             device=device, precision=precision, micro_batch_size=micro_batch_size,
                             gradient_checkpointing=gradient_checkpointing, max_predictions=max_predictions,
                             masked_lm_prob=masked_lm_prob, max_ngram=max_ngram, whole_word_mask=whole_word_mask,
                             short_seq_prob=short_seq_prob,
                             heldout_fraction=heldout_fraction, cache_dir=cache_dir, checkpoint_every=checkpoint_every,
                             config_overrides=config_overrides, data_workers=data_workers, stop_at=_stop_at_step,
                             stop=stop, log_every=log_every, tracker=tracker, objective=objective,
                             results_dir=results_dir)
    except BaseException as err:   # a stop (resumable) or a failure: the trackers' run ends with that status
        tracker.finish(status="KILLED" if isinstance(err, (TrainingInterrupted, KeyboardInterrupt)) else "FAILED")
        raise
    finally:
        dist.shutdown(created)


def _pretrain(*, corpus, config, out: Path, tokenizer, vocab_size, steps, seq_len, batch_size, lr, optimizer,
              warmup, weight_decay, seed, resume, device, precision, micro_batch_size, gradient_checkpointing,
              max_predictions, masked_lm_prob, max_ngram, whole_word_mask, short_seq_prob, heldout_fraction, cache_dir,
              checkpoint_every, config_overrides, data_workers, stop_at, stop, log_every, tracker, objective,
              results_dir) -> dict:
    started = time.time()
    world, rank = dist.world_size(), dist.rank()
    check_objective(objective)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"--optimizer {optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    for name, value in (("--steps", steps), ("--batch-size", batch_size)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if batch_size < world:
        raise ValueError(f"--batch-size {batch_size} is smaller than the {world} processes; use fewer processes")
    if seq_len < 8:
        raise ValueError(f"--seq-len {seq_len} is too short: [CLS] A [SEP] B [SEP] needs room; use 64 or more")
    paths = check_corpus_files(corpus)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    tok = resolve_tokenizer(tokenizer, vocab_size, paths, out, seed, resume)
    cfg = resolve_config(config, tok.vocab_size, config_overrides)
    if seq_len > cfg.max_position_embeddings:
        raise ValueError(f"--seq-len {seq_len} exceeds the config's max_position_embeddings "
                         f"({cfg.max_position_embeddings}); use a shorter --seq-len or a config with more positions")
    warmup = int(round(steps * PAPER["warmup_share"])) if warmup is None else warmup
    max_predictions = max_predictions or default_max_predictions(seq_len, masked_lm_prob)
    checkpoint_every = checkpoint_every or max(1, min(1000, steps // 10))
    precision = resolve_precision(precision, device)

    # Data: rank 0 tokenizes (once per corpus + tokenizer), the others then read the cache.
    cache = Path(cache_dir) if cache_dir else out / "token_cache"
    if rank == 0:
        data = build_token_cache(paths, tok, cache, progress=show_progress())
    dist.barrier()
    if rank != 0:
        data = build_token_cache(paths, tok, cache)
    train_docs, heldout_docs = split_heldout(data, heldout_fraction)
    chunks = layout_chunks(data, train_docs, seq_len - 3, seed, short_seq_prob)
    word_starts = word_start_table(tok) if whole_word_mask else None     # None: n-grams of tokens
    # none draws the same instances as sop (its label goes unused): the rows differ in the loss only.
    stream = InstanceStream(data, chunks, seed, seq_len, tok.vocab_size, max_predictions, masked_lm_prob, max_ngram,
                            word_starts, objective="nsp" if objective == "nsp" else "sop")

    set_seed(seed)                                       # the same initial weights on every rank
    model = AlbertForPreTraining(cfg).to(device)
    if gradient_checkpointing:
        model.gradient_checkpointing_enable()
    if objective == "none":      # no sentence loss: the head and the pooler get no gradient (nor decay)
        for module in (model.sop_classifier, model.albert.pooler):
            module.requires_grad_(False)
    if optimizer == "lamb":
        opt = Lamb(lamb_parameter_groups(model, weight_decay), lr=lr, betas=(0.9, 0.999), eps=1e-6)
    else:
        opt = make_optimizer(model, TrainSettings(lr=lr, batch_size=batch_size, train_steps=steps,
                                                  warmup_steps=warmup, weight_decay=weight_decay))
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, linear_schedule(warmup, steps))
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    set_seed(seed + rank)                                # each rank its own dropout stream

    settings = {"lr": lr, "batch_size": batch_size, "train_steps": steps, "warmup_steps": warmup, "seed": seed,
                "weight_decay": weight_decay, "adam_eps": 1e-6, "optimizer": optimizer, "seq_len": seq_len,
                "max_predictions": max_predictions, "masked_lm_prob": masked_lm_prob, "max_ngram": max_ngram,
                "whole_word_mask": whole_word_mask, "short_seq_prob": short_seq_prob, "heldout_fraction": heldout_fraction,
                "corpus_key": data.directory.name, "config": cfg.to_dict(), "objective": objective}
    state = {"step": 0, "log": [], "settings": settings, "num_features": len(chunks)}
    if resume:
        keys = RESUME_KEYS + PRETRAIN_RESUME_KEYS
        if objective == "sop" and "objective" not in _saved_settings(out):
            keys = tuple(k for k in keys if k != "objective")   # a checkpoint from before the flag: it ran sop
        state = load_checkpoint(out, model, opt, scheduler, scaler, state, device, rank, keys=keys)
    segment = new_segment(state, started)
    per_rank = math.ceil(batch_size / world)
    micro = min(micro_batch_size or min(batch_size, 32), per_rank)
    run_id = saved_run_id(out, records.new_run_id("pretrain"), resume, write=rank == 0)
    tracker.start(run_id, {"run_id": run_id, "kind": "pretrain", **{k: v for k, v in settings.items() if k != "config"},
                           "config": cfg.to_dict(), "corpus": [str(p) for p in paths], "tokenizer": str(tok.spiece_path),
                           "precision": precision, "micro_batch_size": micro, "world_size": world,
                           "output_dir": str(out)}, first_step=state["step"] + 1)
    losses = PretrainingObjective(model, sentence=objective != "none")
    ddp = losses if world == 1 else nn.parallel.DistributedDataParallel(
        losses, device_ids=[device.index] if device.type == "cuda" else None)

    progress = Progress(steps, state["step"], "pretrain", enabled=rank == 0, log_every=log_every)
    model.train()
    workers = (2 if device.type == "cuda" else 0) if data_workers is None else data_workers
    # Its own generator: the loader's seed draw must not shift the (restored) dropout RNG stream.
    loader = torch.utils.data.DataLoader(
        StepBatches(stream, batch_size, micro, state["step"], steps), batch_size=None, num_workers=workers,
        pin_memory=device.type == "cuda", prefetch_factor=4 if workers else None, generator=torch.Generator())
    for masked_here, micro_batches in loader:
        dist.phase(f"step {state['step'] + 1}")
        masked = dist.sum_across(float(masked_here), device)
        mlm_sum = torch.zeros((), device=device)
        sop_sum = torch.zeros((), device=device)
        for k, batch in enumerate(micro_batches):
            batch = {key: v.to(device, non_blocking=True) for key, v in batch.items()}
            sync = world == 1 or k == len(micro_batches) - 1  # all-reduce once, on the last micro-batch
            with (contextlib.nullcontext() if sync else ddp.no_sync()):
                with autocast(device, precision):
                    mlm, sop = ddp(**batch)
                # Global-batch means: every rank divides by the global counts; DDP averages over
                # processes, hence the factor `world`.
                loss = mlm / max(masked, 1.0) + sop / batch_size
                scaler.scale(loss * world).backward()
            mlm_sum += mlm.detach()
            sop_sum += sop.detach()
        grad_norm, lr_now = optimizer_step(model, opt, scheduler, scaler, max_grad_norm=1.0)

        step = state["step"] = state["step"] + 1
        mlm_loss = dist.sum_across(float(mlm_sum), device) / max(masked, 1.0)
        sop_loss = dist.sum_across(float(sop_sum), device) / batch_size
        entry = {"step": step, "loss": mlm_loss + sop_loss, "mlm_loss": mlm_loss, **_sentence_losses(objective, sop_loss),
                 "lr": lr_now, "grad_norm": float(grad_norm), "masked_tokens": int(masked)}
        state["log"].append(to_jsonable(entry))
        tracker.log_entry(state["log"][-1])
        shown = {objective: sop_loss} if objective != "none" else {}
        progress.step(step, sequences=batch_size, loss=mlm_loss + sop_loss, mlm=mlm_loss, **shown, lr=lr_now)

        def save():   # keeps a stop's stopped_by (stop_here sets it, then saves)
            end_segment(segment, state, started, segment["stopped_by"])
            save_checkpoint(out, model, opt, scheduler, scaler, state, rank)
        saved = step % checkpoint_every == 0 or step == steps
        if saved:
            save()
        try:
            stop_here(stop, device, step, steps, out, save, saved, state, segment, started, rank)
        except TrainingStopped:
            progress.close()
            raise
        if stop_at is not None and stop_at <= step < steps:
            progress.close()
            raise TrainingInterrupted(f"stopped after step {step} (test hook)")
    progress.close()
    end_segment(segment, state, started)

    summary = None
    if rank == 0:
        model.save_pretrained(out, tokenizer=tok)
        atomic_write_text(out / "log.jsonl", "".join(json.dumps(e) + "\n" for e in state["log"]))
        last = state["log"][-1] if state["log"] else {}
        summary = {
            "run_id": run_id, "output_dir": str(out), "steps": state["step"], "objective": objective,
            "embedding_size": cfg.embedding_size, "sharing": sharing_strategy(cfg.to_dict()),
            "loss": last.get("loss"), "mlm_loss": last.get("mlm_loss"),
            **{k: last.get(k) for k in _sentence_losses(objective, None)},
            "optimizer": optimizer, "settings": {k: v for k, v in settings.items() if k != "config"},
            "config": cfg.to_dict(), "tokenizer": str(tok.spiece_path), "vocab_size": tok.vocab_size,
            "corpus": {"files": [str(p) for p in paths], "tokens": int(len(data.tokens)),
                       "sentences": data.num_sentences, "documents": data.num_documents,
                       "training_instances_per_epoch": len(chunks), "cache": str(data.directory)},
            "device": str(device), "precision": precision, "world_size": world, "micro_batch_size": micro,
            "accumulation_steps": math.ceil(per_rank / micro), "log": str(out / "log.jsonl"),
            "wall_time_s": round(sum(seg["wall_time_s"] for seg in state["segments"]), 3),
            "segments": state["segments"]}
        if len(heldout_docs):
            summary["heldout"] = _heldout_scores(model, data, train_docs, heldout_docs, seed, seq_len, tok.vocab_size,
                                                 max_predictions, word_starts, device, precision, objective)
        atomic_write_json(out / PRETRAIN_SUMMARY, to_jsonable(summary))
        if results_dir is not None:
            summary["record"] = str(_write_record(summary, state["log"], results_dir, model, tok, settings,
                                                  records.device_string(device, world)))
        tracker.finish(tracking.numbers({"final": {k: summary.get(k) for k in ("loss", "mlm_loss", "sentence_loss")},
                                         "heldout": summary.get("heldout") or {}}))
    dist.barrier()
    return summary if summary is not None else {"output_dir": str(out), "steps": state["step"]}


def _sentence_losses(objective: str, value) -> dict:
    """The log's sentence-loss keys: sentence_loss always (None for none); sop_loss as well for sop,
    the name every reader of a sop run's log has always used."""
    if objective == "none":
        return {"sentence_loss": None}
    return {"sentence_loss": value, **({"sop_loss": value} if objective == "sop" else {})}


def _saved_settings(out: Path) -> dict:
    """The settings of the checkpoint a resumed run continues ({} when there is none: load_checkpoint says so)."""
    folder = existing_checkpoint(out)
    if folder is None:
        return {}
    return json.loads((folder / "trainer_state.json").read_text(encoding="utf-8")).get("settings", {})


def _heldout_scores(model, data, train_docs, heldout_docs, seed, seq_len, vocab_size, max_predictions, word_starts,
                    device, precision, objective) -> dict:
    """MLM, SOP and NSP accuracy on the held-out text (intrinsic.py), beside predicting the most
    frequent training token."""
    train_end = int(data.sentence_offsets[int(train_docs[:, 1].max())])   # training text = tokens before the cut
    top = most_frequent_id(token_counts(data.tokens[:train_end], vocab_size))
    instances = heldout_instances(data, heldout_docs, seed, seq_len, vocab_size, max_predictions, word_starts)
    scores = intrinsic_scores(model, data, train_docs, heldout_docs, objective=objective, seed=seed, seq_len=seq_len,
                              vocab_size=vocab_size, max_predictions=max_predictions, word_starts=word_starts,
                              device=device, precision=precision)
    return {**scores, "unigram_baseline_accuracy": unigram_accuracy(instances, top), "most_frequent_token_id": top,
            "documents": int(len(heldout_docs)),
            "sentences": int((heldout_docs[:, 1] - heldout_docs[:, 0]).sum())}


def _write_record(summary: dict, log: list[dict], results_dir, model, tok, settings: dict, device: str) -> Path:
    """The run record of a pretraining run (kind "pretrain"): the held-out block as its metrics, what
    the reports need to place the run in Table 5 under "pretraining", the step log beside it."""
    run_id = summary["run_id"]
    n = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    records.write_jsonl(records.run_folder(results_dir, run_id) / "log.jsonl", log)
    record = records.build_record(
        run_id=run_id, kind="pretrain", task="pretrain", splits={"train": "corpus", "heldout": "corpus"},
        model={"source": summary["output_dir"], "config": summary["config"], "num_parameters": n,
               "head": type(model).__name__},
        tokenizer=str(tok.spiece_path), recipe={k: v for k, v in settings.items() if k != "config"},
        seed=settings["seed"], metrics={"heldout": summary.get("heldout") or {}}, best_step=None, examples={},
        predictions={}, log=f"{run_id}/log.jsonl", wall_time_s=summary["wall_time_s"], device=device,
        pretraining={"objective": summary["objective"], "sharing": summary["sharing"],
                     "embedding_size": summary["embedding_size"], "steps": summary["steps"],
                     "batch_size": settings["batch_size"], "seq_len": settings["seq_len"], "corpus": summary["corpus"]},
        output_dir=summary["output_dir"], steps=summary["steps"], segments=summary["segments"])
    return records.write_record(record, results_dir)
