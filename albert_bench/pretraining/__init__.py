"""Pretraining from scratch with the paper's objective (n-gram MLM + sentence-order prediction),
or BERT's next sentence prediction, or MLM alone (--objective, the paper's Table 5).

pretrain.py (the `pretrain` command), data.py (SOP / NSP chunks, whole-word n-gram masking,
the instance stream), heldout.py (held-out masked-token accuracy, unigram baseline),
intrinsic.py (held-out MLM / SOP / NSP accuracy whatever the objective, a linear probe),
token_cache.py (the tokenized corpus on disk), lamb.py (LAMB as the original code).
Imports modeling/ and engine/ (the optimizer step, checkpoints, devices).
"""
