"""albert-bench: ALBERT fine-tuning and scoring on GLUE, SQuAD and RACE.

    from albert_bench import AlbertConfig, AlbertForSequenceClassification
    model = AlbertForSequenceClassification.from_pretrained("path/to/albert-base-v2", num_labels=3)
"""
from albert_bench.config import AlbertConfig
from albert_bench.model import (AlbertForMaskedLM, AlbertForMultipleChoice, AlbertForPreTraining,
                                AlbertForQuestionAnswering, AlbertForSequenceClassification,
                                AlbertForTokenClassification, AlbertModel, AlbertOutput)

__version__ = "0.1.0"

__all__ = ["AlbertConfig", "AlbertTokenizer", "AlbertModel", "AlbertOutput", "AlbertForPreTraining",
           "AlbertForMaskedLM", "AlbertForSequenceClassification", "AlbertForTokenClassification",
           "AlbertForQuestionAnswering", "AlbertForMultipleChoice", "__version__"]


def __getattr__(name: str):
    # The tokenizer pulls in sentencepiece; import it only when asked for.
    if name == "AlbertTokenizer":
        from albert_bench.tokenizer import AlbertTokenizer
        return AlbertTokenizer
    raise AttributeError(f"module 'albert_bench' has no attribute {name!r}")
