"""Shared tiny ALBERT configs and inputs for the model / checkpoint tests (CPU, seconds)."""
import pytest
import torch

# Field names are Hugging Face's, so the same dict builds transformers' config and ours.
TINY = dict(vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64, type_vocab_size=2, initializer_range=0.02)

VARIANTS = {
    # v1 style: exact-erf gelu, dropout on (the models run in eval mode)
    "v1": dict(TINY, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1),
    # v2 style: tanh gelu, no dropout
    "v2": dict(TINY, hidden_act="gelu_new", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0),
    # two parameter groups of two layers each, applied over four layers
    "groups": dict(TINY, hidden_act="gelu_new", num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2),
}


def make_batch(batch=3, seq=9, choices=None, padded=True, seed=0):
    """input_ids / token_type_ids / attention_mask; row i (i >= 1) has its last 2*i positions padded."""
    g = torch.Generator().manual_seed(seed)
    shape = (batch, seq) if choices is None else (batch, choices, seq)
    ids = torch.randint(5, TINY["vocab_size"], shape, generator=g)
    types = torch.zeros(shape, dtype=torch.long)
    types[..., seq // 2:] = 1
    mask = torch.ones(shape, dtype=torch.long)
    if padded:
        for i in range(1, batch):
            mask[i, ..., seq - 2 * i:] = 0
    ids = ids.masked_fill(mask == 0, 0)
    return dict(input_ids=ids, token_type_ids=types, attention_mask=mask)


@pytest.fixture
def tiny_config():
    from albert_bench.modeling.config import AlbertConfig
    return AlbertConfig(**VARIANTS["v2"])


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """Demo sets in the official formats (size ci), a SentencePiece model trained on their text and a
    tiny random ALBERT saved with it: what the CLI, suite, SLURM and signal tests fine-tune.
    Returns (root, data_dirs: task -> folder, model_dir)."""
    from pathlib import Path

    from albert_bench.demo.data import write_demo_data
    from albert_bench.modeling.config import AlbertConfig
    from albert_bench.modeling.model import AlbertModel
    from albert_bench.modeling.tokenizer import AlbertTokenizer, train_sentencepiece

    root = tmp_path_factory.mktemp("tiny_checkpoint")
    dirs = write_demo_data(root / "data", seed=0, size="ci")
    texts = []
    for task in ("rte", "sst2", "mrpc"):
        for path in sorted(Path(dirs[task]).rglob("*")):
            if path.is_file():
                texts.extend(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    tok = AlbertTokenizer(str(train_sentencepiece(texts, root / "tok", vocab_size=400)))
    torch.manual_seed(0)
    config = AlbertConfig(vocab_size=tok.vocab_size, embedding_size=16, hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=4, intermediate_size=37, max_position_embeddings=128)
    model_dir = root / "model"
    AlbertModel(config).save_pretrained(model_dir, tokenizer=tok)
    return root, dirs, model_dir


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A real one-node SLURM (slurmctld + slurmd, auth/none) for the session, stopped by pid at the end.
    Without SLURM installed the tests skip, except under CI=true, where they fail."""
    import os
    import tempfile

    from albert_bench.suite.local_slurm import LocalSlurm, slurm_available

    if not slurm_available():
        hint = "SLURM is not installed: apt-get install -y slurm-wlm (.ci/run does this as root)"
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(hint)
        pytest.skip(hint)
    base = tmp_path_factory.mktemp("slurm")
    if len(str(base)) > 60:   # slurmstepd's unix sockets live under it; sun_path holds 107 bytes
        base = tempfile.mkdtemp(prefix="slurm-")
    cluster = LocalSlurm(base)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
