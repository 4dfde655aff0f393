"""albert-bench: ALBERT fine-tuning and scoring on GLUE, SQuAD and RACE.

    import albert_bench as ab
    model = ab.AlbertForSequenceClassification.from_pretrained("path/to/albert-base-v2", num_labels=3)
    tok = ab.AlbertTokenizer.from_pretrained("path/to/albert-base-v2")

One folder per layer. An arrow is "may import"; nothing imports upwards, and
tests/test_layers.py reads every module's imports to keep it so:

    cli/ ──────► every layer; the only one that imports the task registry (albert_bench.tasks)
    demo/ ─────► suite/, pretraining/, bias/, reports/, modeling/     (get_task passed in by cli)
    bench/ ────► engine/, modeling/             (speed and memory against transformers)
    suite/ ────► engine/, reports/ (its summary tables)
    bias/ ─────► engine/ (batching, devices), reports/ (the bias report), modeling/
    pretraining/ ► engine/, modeling/
    engine/ ───► modeling/, metrics/            (task objects come in as arguments)
    reports/ ──► modeling/ (configs), metrics/  (pure functions of records; never the engine)
    tasks/ ────► metrics/                       (albert_bench.tasks: the repository's tasks/ folder)
    modeling/, metrics/                         (the bottom)

    records.py, io.py: the run record and atomic writes, importable from every layer.
"""
import importlib.abc
import importlib.machinery
import sys
from pathlib import Path

from albert_bench.modeling.config import AlbertConfig
from albert_bench.modeling.model import (AlbertForMaskedLM, AlbertForMultipleChoice, AlbertForPreTraining,
                                         AlbertForQuestionAnswering, AlbertForSequenceClassification,
                                         AlbertForTokenClassification, AlbertModel, AlbertOutput)

__version__ = "0.1.0"

__all__ = ["AlbertConfig", "AlbertTokenizer", "AlbertModel", "AlbertOutput", "AlbertForPreTraining",
           "AlbertForMaskedLM", "AlbertForSequenceClassification", "AlbertForTokenClassification",
           "AlbertForQuestionAnswering", "AlbertForMultipleChoice", "__version__"]


class _CheckoutTasks(importlib.abc.MetaPathFinder):
    """`albert_bench.tasks` from a source checkout used without installing (PYTHONPATH=.).

    An install maps the repository's tasks/ into the package (pyproject's package-dir); a bare
    checkout has no such mapping, so this finder gives the same name the same folder. Only that
    one name is mapped: a `tasks` module elsewhere on sys.path is never looked at."""

    def __init__(self, folder: Path):
        self.folder = folder

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "albert_bench.tasks":
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [str(self.folder.parent)])


_checkout_tasks = Path(__file__).resolve().parent.parent / "tasks"
if not (Path(__file__).resolve().parent / "tasks").is_dir() and (_checkout_tasks / "__init__.py").is_file() \
        and not any(isinstance(f, _CheckoutTasks) for f in sys.meta_path):
    sys.meta_path.insert(0, _CheckoutTasks(_checkout_tasks))   # the tasks/ beside this very package


def __getattr__(name: str):
    # The tokenizer pulls in sentencepiece; import it only when asked for.
    if name == "AlbertTokenizer":
        from albert_bench.modeling.tokenizer import AlbertTokenizer
        return AlbertTokenizer
    raise AttributeError(f"module 'albert_bench' has no attribute {name!r}")
