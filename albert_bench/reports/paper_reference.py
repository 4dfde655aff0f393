"""The ALBERT paper's Tables 1-8, as published (`albert-bench paper --table N` shows ours beside them).

Data only, digit for digit as printed in the ICLR 2020 camera-ready (arXiv:1909.11942 v6; two copies
of the text agree). Downstream cells: SQuAD (F1, EM); MNLI, SST-2, RACE accuracy; "Avg" as printed.
Parameter counts are the printed, rounded figures in millions. Where the paper disagrees with
itself (xxlarge 235M in Table 1, 233M in the text; E=128 all-shared MNLI 81.6 in Tables 2, 3, 5 but
82.0 in Table 4), the numbers are kept as each table prints them.
"""
from __future__ import annotations

PAPER_SOURCE = ("Lan et al., ALBERT: A Lite BERT for Self-supervised Learning of Language Representations, "
                "ICLR 2020 (arXiv:1909.11942 v6), Tables 1-8; dev sets, RACE test")
PRETRAINING = ("The paper's Tables 2-5 pretrain on BookCorpus + English Wikipedia (~16 GB) for 125,000 steps, "
               "batch 4096, LAMB lr 0.00176, length 512, n-gram masking n <= 3, vocab 30,000.")


def _cells(squad1, squad2, mnli, sst2, race, avg) -> dict:
    return {"SQuAD1.1": squad1, "SQuAD2.0": squad2, "MNLI": mnli, "SST-2": sst2, "RACE": race, "Avg": avg}


# Table 1: key -> (label, params M, layers, hidden, embedding, sharing as printed).
TABLE1 = {
    "bert-base": ("BERT base", 108, 12, 768, 768, False),
    "bert-large": ("BERT large", 334, 24, 1024, 1024, False),
    "albert-base": ("ALBERT base", 12, 12, 768, 128, True),
    "albert-large": ("ALBERT large", 18, 24, 1024, 128, True),
    "albert-xlarge": ("ALBERT xlarge", 60, 24, 2048, 128, True),
    "albert-xxlarge": ("ALBERT xxlarge", 235, 12, 4096, 128, True),
}
XXLARGE_IN_TEXT = 233      # the paper's text says 233M for xxlarge, Table 1 says 235M

# Table 2 (v1 models against BERT): key -> (params M, downstream cells, speedup as printed).
TABLE2 = {
    "bert-base": (108, _cells((90.4, 83.2), (80.4, 77.6), 84.5, 92.8, 68.2, 82.3), 4.7),
    "bert-large": (334, _cells((92.2, 85.5), (85.0, 82.2), 86.6, 93.0, 73.9, 85.2), 1.0),
    "albert-base": (12, _cells((89.3, 82.3), (80.0, 77.1), 81.6, 90.3, 64.0, 80.1), 5.6),
    "albert-large": (18, _cells((90.6, 83.9), (82.3, 79.4), 83.5, 91.7, 68.5, 82.4), 1.7),
    "albert-xlarge": (60, _cells((92.5, 86.1), (86.1, 83.1), 86.4, 92.4, 74.8, 85.5), 0.6),
    "albert-xxlarge": (235, _cells((94.1, 88.3), (88.1, 85.1), 88.0, 95.2, 82.3, 88.7), 0.3),
}
SPEEDUP_SETTING = "Cloud TPU v3, length 512, the same configuration and number of TPUs as BERT-large"

# Table 3 (embedding size E of ALBERT-base): (sharing, E) -> (params M, downstream cells).
TABLE3 = {
    ("none", 64): (87, _cells((89.9, 82.9), (80.1, 77.8), 82.9, 91.5, 66.7, 81.3)),
    ("none", 128): (89, _cells((89.9, 82.8), (80.3, 77.3), 83.7, 91.5, 67.9, 81.7)),
    ("none", 256): (93, _cells((90.2, 83.2), (80.3, 77.4), 84.1, 91.9, 67.3, 81.8)),
    ("none", 768): (108, _cells((90.4, 83.2), (80.4, 77.6), 84.5, 92.8, 68.2, 82.3)),
    ("all", 64): (10, _cells((88.7, 81.4), (77.5, 74.8), 80.8, 89.4, 63.5, 79.0)),
    ("all", 128): (12, _cells((89.3, 82.3), (80.0, 77.1), 81.6, 90.3, 64.0, 80.1)),
    ("all", 256): (16, _cells((88.8, 81.5), (79.1, 76.3), 81.5, 90.3, 63.4, 79.6)),
    ("all", 768): (31, _cells((88.6, 81.5), (79.2, 76.6), 82.0, 90.6, 63.3, 79.8)),
}

# Table 4 (cross-layer sharing of ALBERT-base): (E, sharing) -> (params M, downstream cells).
TABLE4 = {
    (768, "all"): (31, _cells((88.6, 81.5), (79.2, 76.6), 82.0, 90.6, 63.3, 79.8)),
    (768, "attention"): (83, _cells((89.9, 82.7), (80.0, 77.2), 84.0, 91.4, 67.7, 81.6)),
    (768, "ffn"): (57, _cells((89.2, 82.1), (78.2, 75.4), 81.5, 90.8, 62.6, 79.5)),
    (768, "none"): (108, _cells((90.4, 83.2), (80.4, 77.6), 84.5, 92.8, 68.2, 82.3)),
    (128, "all"): (12, _cells((89.3, 82.3), (80.0, 77.1), 82.0, 90.3, 64.0, 80.1)),
    (128, "attention"): (64, _cells((89.9, 82.8), (80.7, 77.9), 83.4, 91.9, 67.6, 81.7)),
    (128, "ffn"): (38, _cells((88.9, 81.6), (78.6, 75.6), 82.3, 91.7, 64.4, 80.2)),
    (128, "none"): (89, _cells((89.9, 82.8), (80.3, 77.3), 83.2, 91.5, 67.9, 81.6)),
}
# The paper's names of our sharing strategies.
SHARING_NAMES = {"all": "all-shared", "attention": "shared-attention", "ffn": "shared-FFN", "none": "not-shared"}

# Table 5 (sentence-level objective of ALBERT-base): objective -> (MLM, NSP, SOP intrinsic accuracy, cells).
TABLE5 = {
    "none": ((54.9, 52.4, 53.3), _cells((88.6, 81.5), (78.1, 75.3), 81.5, 89.9, 61.7, 79.0)),
    "nsp": ((54.5, 90.5, 52.0), _cells((88.4, 81.5), (77.2, 74.6), 81.6, 91.1, 62.3, 79.2)),
    "sop": ((54.0, 78.9, 86.5), _cells((89.3, 82.3), (80.0, 77.1), 82.0, 90.3, 64.0, 80.1)),
}
OBJECTIVE_NAMES = {"none": "None", "nsp": "NSP", "sop": "SOP"}

# Tables 6-8: row key -> (label, downstream cells). Their rows are picked by the user (--row KEY=MODEL).
TABLE6 = {
    "bert-large": ("BERT-large, 400k steps (34h)", _cells((93.5, 87.4), (86.9, 84.3), 87.8, 94.6, 77.3, 87.2)),
    "albert-xxlarge": ("ALBERT-xxlarge, 125k steps (32h)",
                       _cells((94.0, 88.1), (88.3, 85.3), 87.8, 95.4, 82.5, 88.7)),
}
TABLE7 = {
    "without": ("No additional data", _cells((89.3, 82.3), (80.0, 77.1), 81.6, 90.3, 64.0, 80.1)),
    "with": ("With additional data", _cells((88.8, 81.7), (79.1, 76.3), 82.4, 92.8, 66.0, 80.8)),
}
TABLE8 = {
    "with-dropout": ("With dropout", _cells((94.7, 89.2), (89.6, 86.9), 90.0, 96.3, 85.7, 90.4)),
    "without-dropout": ("Without dropout", _cells((94.8, 89.5), (89.9, 87.2), 90.4, 96.5, 86.1, 90.7)),
}
TITLES = {
    1: "Table 1: the configurations of BERT and ALBERT",
    2: "Table 2: ALBERT (v1) against BERT, pretrained on the same data",
    3: "Table 3: the embedding size E of ALBERT-base",
    4: "Table 4: cross-layer sharing strategies of ALBERT-base",
    5: "Table 5: the sentence-level objective of ALBERT-base (intrinsic accuracies, then downstream)",
    6: "Table 6: BERT-large and ALBERT-xxlarge trained for about the same time",
    7: "Table 7: the effect of additional training data (ALBERT-base)",
    8: "Table 8: the effect of removing dropout (ALBERT-xxlarge, ~1M steps)",
}
