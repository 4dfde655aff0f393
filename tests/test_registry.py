"""The task registry and the command table are complete and consistent."""
import subprocess
import sys

import pytest

from albert_bench import cli
from albert_bench.tasks import REGISTRY, TASK_NAMES, get_task
from albert_bench.tasks.common import HEADS
from albert_bench.tasks.recipes import get_recipe


def test_registry_names_every_task():
    assert tuple(REGISTRY) == TASK_NAMES


@pytest.mark.parametrize("name", TASK_NAMES)
def test_task_is_complete(name):
    task = REGISTRY[name]
    assert task.name == name
    assert task.head in HEADS
    assert task.metrics and task.main_metric in {m.name for m in task.metrics}
    if task.head == "classification":
        assert len(task.labels) >= 2
    for method in ("load", "featurize", "score", "write_predictions", "score_file"):
        assert callable(getattr(task, method)), f"{name} lacks {method}"
    assert get_recipe(task.recipe, "paper").train_steps > 0


def test_unknown_task_lists_known_ones():
    with pytest.raises(ValueError, match="known tasks: cola"):
        get_task("nope")


def test_aliases():
    assert get_task("SST-2").name == "sst2"
    assert get_task("squad").name == "squad_v1"


def test_command_table_matches_parser():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(cli.COMMANDS)


def test_python_m_matches_console_script():
    out = subprocess.run([sys.executable, "-m", "albert_bench", "tasks"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for name in TASK_NAMES:
        assert name in out.stdout


def test_cli_error_is_one_line(capsys):
    rc = cli.main(["finetune", "--model", "x", "--task", "nope"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "unknown task 'nope'" in err and "Traceback" not in err
