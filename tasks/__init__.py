"""The one explicit task registry. `tests/test_registry.py` checks it is complete.

    from albert_bench.tasks import get_task, REGISTRY
    get_task("mnli").eval_splits   # ('dev_matched', 'dev_mismatched')
"""
from __future__ import annotations

from albert_bench.tasks.common import DataError, Task
from albert_bench.tasks.glue import GLUE_TASKS
from albert_bench.tasks.race import RaceTask
from albert_bench.tasks.squad import SquadTask

REGISTRY: dict[str, Task] = {
    task.name: task
    for task in (*GLUE_TASKS, SquadTask("squad_v1"), SquadTask("squad_v2"), RaceTask())
}

# Every task the project promises (ALBERT_FACTS.md section 4), in table order.
TASK_NAMES = ("cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli", "ax",
              "squad_v1", "squad_v2", "race")


def get_task(name: str) -> Task:
    """The registered task called `name`; an unknown name lists the known ones."""
    key = name.lower().replace("-", "_")
    key = {"sst_2": "sst2", "sts_b": "stsb", "squad": "squad_v1", "squad1": "squad_v1",
           "squad2": "squad_v2"}.get(key, key)
    if key not in REGISTRY:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(REGISTRY)}")
    return REGISTRY[key]


__all__ = ["REGISTRY", "TASK_NAMES", "get_task", "DataError", "Task"]
