"""The layers of albert_bench, read from the code: every import of every module (those inside
functions too) must point at its own layer or one it may import (ARCHITECTURE.md's table), so a
change that runs an import upwards fails here instead of relying on a hand-kept list. Also: the
installed wheel has no top-level `tasks`, and a user's own `tasks.py` or `tasks/` cannot shadow ours."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# layer -> the layers it may import (besides itself). "shared" is records.py and io.py. Only cli
# imports the task registry (tasks); every other layer takes task objects or get_task as arguments.
ALLOWED = {
    "shared": set(),
    "modeling": {"shared"},
    "metrics": {"shared"},
    "tasks": {"shared", "metrics"},
    "engine": {"shared", "modeling", "metrics"},
    "pretraining": {"shared", "modeling", "engine"},
    "reports": {"shared", "modeling", "metrics"},
    "bias": {"shared", "modeling", "engine", "reports"},
    "suite": {"shared", "modeling", "metrics", "engine", "reports"},
    "bench": {"shared", "modeling", "engine"},
    "demo": {"shared", "modeling", "metrics", "engine", "pretraining", "suite", "reports", "bias"},
    "cli": {"shared", "modeling", "metrics", "tasks", "engine", "pretraining", "suite", "reports", "bias", "bench",
            "demo"},
}


def layer_of(module: str) -> str | None:
    """albert_bench.engine.train -> "engine"; albert_bench.records -> "shared"; the bare package -> None
    (its public names; importing any submodule runs it anyway)."""
    parts = module.split(".")
    if parts[0] != "albert_bench" or len(parts) == 1:
        return None
    if parts[1] in ("records", "io"):
        return "shared"
    if parts[1] in ("__init__", "__main__"):
        return None
    return parts[1]


def modules():
    """(module name, path) of every module of the package, tasks/ as albert_bench.tasks."""
    for base, prefix in ((ROOT / "albert_bench", "albert_bench"), (ROOT / "tasks", "albert_bench.tasks")):
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            yield ".".join([prefix, *parts]), path


def _is_module(name: str) -> bool:
    package = ROOT / "albert_bench"
    return name == "tasks" or (package / name).is_dir() or (package / f"{name}.py").is_file()


def imports_of(module: str, path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:            # relative: resolve against the package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            # `from albert_bench import records` imports a module; `from albert_bench import AlbertModel`
            # a public name of the root package
            out += [f"{base}.{a.name}" if base == "albert_bench" and _is_module(a.name) else base
                    for a in node.names]
    return out


def test_every_module_is_in_a_known_layer():
    unknown = sorted({m for m, _ in modules() if layer_of(m) not in (*ALLOWED, None)})
    assert not unknown, f"modules outside the known layers (add the folder to ALLOWED and ARCHITECTURE.md): {unknown}"


def test_imports_run_one_way():
    offenders = []
    for module, path in modules():
        mine = layer_of(module)
        if mine is None:
            continue
        for target in imports_of(module, path):
            theirs = layer_of(target)
            if theirs is None or theirs == mine:
                continue
            if theirs not in ALLOWED[mine]:
                offenders.append(f"{path.relative_to(ROOT)} ({mine}) imports {target} ({theirs})")
    assert not offenders, "imports that run against the layers:\n" + "\n".join(offenders)


def test_nothing_imports_a_top_level_tasks():
    offenders = [f"{path.relative_to(ROOT)}: {t}" for module, path in modules() for t in imports_of(module, path)
                 if t == "tasks" or t.startswith("tasks.")]
    offenders += [f"{path.relative_to(ROOT)}: {t}" for path in sorted((ROOT / "tests").glob("*.py"))
                  for t in imports_of("tests." + path.stem, path) if t == "tasks" or t.startswith("tasks.")]
    assert not offenders, f"use albert_bench.tasks, the one import path: {offenders}"


def test_the_layer_check_catches_an_upward_import(tmp_path):
    """The reader above finds a lazy import inside a function, and the table refuses it."""
    fake = tmp_path / "train.py"
    fake.write_text("def f():\n    from albert_bench.reports import tables\n    from ..suite import plan\n")
    targets = imports_of("albert_bench.engine.train", fake)
    assert targets == ["albert_bench.reports", "albert_bench.suite"]
    assert all(layer_of(t) not in ALLOWED["engine"] for t in targets)


def _shadow(folder: Path, kind: str) -> None:
    """An unrelated project's tasks module in the directory a user runs from (an invoke project)."""
    if kind == "module":
        (folder / "tasks.py").write_text("raise ImportError('this is the user project tasks.py')\n")
    else:
        (folder / "tasks").mkdir()
        (folder / "tasks" / "__init__.py").write_text("REGISTRY = {}\ndef get_task(name):\n    raise KeyError(name)\n")


@pytest.mark.parametrize("kind", ["module", "package"])
def test_a_users_tasks_module_does_not_shadow_ours(tmp_path, kind, tiny_checkpoint):
    """`python -m albert_bench tasks` and a short finetune, run from a folder holding an unrelated tasks."""
    _, dirs, model = tiny_checkpoint
    _shadow(tmp_path, kind)
    env = dict(os.environ, PYTHONPATH="")
    listing = subprocess.run([sys.executable, "-m", "albert_bench", "tasks"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert "squad_v2" in listing.stdout and "mnli" in listing.stdout
    run = subprocess.run([sys.executable, "-m", "albert_bench", "finetune", "--model", str(model), "--task", "rte",
                          "--data-dir", str(dirs["rte"]), "--output-dir", str(tmp_path / "out"), "--results-dir",
                          str(tmp_path / "results"), "--recipe", "quick", "--max-steps", "2", "--set", "batch_size=4",
                          "--set", "max_seq_length=32", "--max-eval-examples", "8"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(list((tmp_path / "results").glob("rte-*.json"))) == 1


def test_wheel_has_no_top_level_tasks(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path), "-q"], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(tmp_path.glob("albert_bench-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"albert_bench"}, tops
    for needed in ("albert_bench/tasks/__init__.py", "albert_bench/tasks/glue.py", "albert_bench/demo/corpus.txt",
                   "albert_bench/bias/templates.txt", "albert_bench/engine/train.py", "albert_bench/cli/__init__.py"):
        assert needed in names, f"{needed} missing from the wheel"
    # every package folder of the tree is in the wheel (a new folder left out of pyproject would be lost)
    folders = {str(p.parent.relative_to(ROOT)).replace("tasks", "albert_bench/tasks", 1)
               if p.parent.relative_to(ROOT).parts[0] == "tasks" else str(p.parent.relative_to(ROOT))
               for p in list((ROOT / "albert_bench").rglob("__init__.py")) + [ROOT / "tasks" / "__init__.py"]}
    assert all(f"{f}/__init__.py" in names for f in folders), sorted(f for f in folders
                                                                       if f"{f}/__init__.py" not in names)
