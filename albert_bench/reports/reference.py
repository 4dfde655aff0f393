"""Published numbers the tables can show beside ours (`--reference`), with their source.

Data only: percent, one decimal, exactly as published. SQuAD cells are (F1, EM).
"""
from __future__ import annotations

SOURCE = ("the 'Results' table (V2 and V1 rows) of the ALBERT model cards on the Hugging Face Hub, e.g. "
          "https://huggingface.co/albert/albert-base-v2, for the models of Lan et al., ALBERT: A Lite BERT for "
          "Self-supervised Learning of Language Representations, ICLR 2020 (arXiv:1909.11942, "
          "https://arxiv.org/abs/1909.11942; its Table 2 has the same V1 base, large and xlarge numbers); "
          "dev sets, except RACE: test")

# row label -> column -> number, or (F1, EM) for the SQuAD columns; "Average" as published.
MODEL_CARD: dict[str, dict[str, float | tuple[float, float]]] = {
    "V2 base": {"Average": 82.3, "SQuAD1.1": (90.2, 83.2), "SQuAD2.0": (82.1, 79.3), "MNLI": 84.6,
                "SST-2": 92.9, "RACE": 66.8},
    "V2 large": {"Average": 85.7, "SQuAD1.1": (91.8, 85.2), "SQuAD2.0": (84.9, 81.8), "MNLI": 86.5,
                 "SST-2": 94.9, "RACE": 75.2},
    "V2 xlarge": {"Average": 87.9, "SQuAD1.1": (92.9, 86.4), "SQuAD2.0": (87.9, 84.1), "MNLI": 87.9,
                  "SST-2": 95.4, "RACE": 80.7},
    "V2 xxlarge": {"Average": 90.9, "SQuAD1.1": (94.6, 89.1), "SQuAD2.0": (89.8, 86.9), "MNLI": 90.6,
                   "SST-2": 96.8, "RACE": 86.8},
    "V1 base": {"Average": 80.1, "SQuAD1.1": (89.3, 82.3), "SQuAD2.0": (80.0, 77.1), "MNLI": 81.6,
                "SST-2": 90.3, "RACE": 64.0},
    "V1 large": {"Average": 82.4, "SQuAD1.1": (90.6, 83.9), "SQuAD2.0": (82.3, 79.4), "MNLI": 83.5,
                 "SST-2": 91.7, "RACE": 68.5},
    "V1 xlarge": {"Average": 85.5, "SQuAD1.1": (92.5, 86.1), "SQuAD2.0": (86.1, 83.1), "MNLI": 86.4,
                  "SST-2": 92.4, "RACE": 74.8},
    "V1 xxlarge": {"Average": 91.0, "SQuAD1.1": (94.8, 89.3), "SQuAD2.0": (90.2, 87.4), "MNLI": 90.8,
                   "SST-2": 96.9, "RACE": 86.5},
}
