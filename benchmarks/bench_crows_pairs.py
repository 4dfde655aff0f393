"""CrowS-Pairs scoring throughput (pairs/s): the batched path of `albert-bench bias` (every masked copy
of many pairs in padded, length-sorted batches, MLM head on the masked rows only) against the obvious
loop of the authors' metric.py (one masked copy at a time through the full model), in one run.

    python benchmarks/bench_crows_pairs.py                  # albert-base-v2 shape, CPU
    python benchmarks/bench_crows_pairs.py --device cuda --pairs 1508 --direct-pairs 100
    python benchmarks/bench_crows_pairs.py --size tiny      # seconds: a smoke run

Offline: the model is a randomly initialised AlbertForMaskedLM of the preset's shape (vocabulary
30000, as the real checkpoints; speed does not depend on the weights), the tokenizer is trained on the
demo corpus, and the pairs are corpus sentences with one word swapped (CrowS-Pairs sentences differ
in one or two words and run ~20 tokens). Both ways score the same first `--direct-pairs` pairs and
must agree to 2e-3 before anything is reported.
"""
import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import torch  # noqa: E402

from albert_bench import AlbertForMaskedLM  # noqa: E402
from albert_bench.bias.crows_pairs import Pair, masked_copies, score_pair_direct, score_pairs  # noqa: E402
from albert_bench.modeling.config import AlbertConfig  # noqa: E402
from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "albert_bench" / "data" / "corpus.txt"


def make_pairs(n: int, seed: int = 0) -> list[Pair]:
    rng = random.Random(seed)
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if 8 <= len(line.split()) <= 24]
    words = sorted({w for line in lines for w in line.split() if w.isalpha() and len(w) > 3})
    pairs = []
    for i in range(n):
        tokens = rng.choice(lines).split()
        k = rng.randrange(len(tokens))
        other = tokens[:k] + [rng.choice(words)] + tokens[k + 1:]
        pairs.append(Pair(" ".join(tokens), " ".join(other), ("stereo", "antistereo")[i % 2], f"type{i % 3}", None))
    return pairs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="base", help="base | large | xlarge | xxlarge (v2 presets) | tiny")
    p.add_argument("--device", default="cpu")
    p.add_argument("--pairs", type=int, default=64, help="pairs scored by the batched path")
    p.add_argument("--direct-pairs", type=int, default=16, help="pairs scored one copy at a time (a subset)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        lines = CORPUS.read_text(encoding="utf-8").splitlines()
        tok = AlbertTokenizer(train_sentencepiece(lines, Path(tmp) / "tok", vocab_size=2000))
    preset = "albert-tiny" if a.size == "tiny" else f"albert-{a.size}-v2"
    torch.manual_seed(0)
    vocab = 2000 if a.size == "tiny" else 30000
    model = AlbertForMaskedLM(AlbertConfig.from_preset(preset, vocab_size=vocab))
    model = model.to(a.device).eval()
    pairs = make_pairs(max(a.pairs, a.direct_pairs))
    copies = sum(len(c1) + len(c2) for c1, c2 in (masked_copies(tok, q) for q in pairs))
    lengths = [len(tok(q.sent1)["input_ids"]) for q in pairs]

    score_pairs(model, tok, pairs[:4], batch_size=a.batch_size)                  # warm-up
    [score_pair_direct(model, tok, q) for q in pairs[:2]]
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    sync()
    start = time.perf_counter()
    batched = score_pairs(model, tok, pairs[:a.pairs], batch_size=a.batch_size)
    sync()
    t_batched = time.perf_counter() - start
    start = time.perf_counter()
    direct = [score_pair_direct(model, tok, q) for q in pairs[:a.direct_pairs]]
    sync()
    t_direct = time.perf_counter() - start
    worst = max(abs(x - y) for b, d in zip(batched, direct) for x, y in zip(b, d))
    assert worst <= 2e-3, f"batched and one-at-a-time scores differ by {worst}"

    fast, slow = a.pairs / t_batched, a.direct_pairs / t_direct
    threads = torch.get_num_threads() if a.device == "cpu" else "-"
    print(f"model {preset} (vocab {vocab}), device {a.device}, threads {threads}, batch {a.batch_size}; "
          f"{len(pairs)} pairs, {copies / len(pairs):.1f} masked copies per pair, "
          f"{sum(lengths) / len(lengths):.1f} tokens per sentence; max |batched - direct| = {worst:.4f}")
    print(f"{'way':<34}{'pairs':>7}{'seconds':>10}{'pairs/s':>10}{'1508 pairs':>12}")
    for name, n, t, rate in (("batched (albert-bench bias)", a.pairs, t_batched, fast),
                             ("one copy at a time (metric.py)", a.direct_pairs, t_direct, slow)):
        print(f"{name:<34}{n:>7}{t:>10.2f}{rate:>10.2f}{1508 / rate / 60:>10.1f} min")
    print(f"speed-up: {fast / slow:.2f}x")


if __name__ == "__main__":
    main()
