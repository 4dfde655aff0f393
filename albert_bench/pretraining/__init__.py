"""Pretraining from scratch with the paper's objective (n-gram MLM + sentence-order prediction).

pretrain.py (the `pretrain` command), data.py (sentence-order chunks, whole-word n-gram masking,
the instance stream), heldout.py (held-out masked-token accuracy, unigram baseline),
token_cache.py (the tokenized corpus on disk), lamb.py (LAMB as the original code).
Imports modeling/ and engine/ (the optimizer step, checkpoints, devices).
"""
