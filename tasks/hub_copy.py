"""A local copy of a task's Hugging Face dataset (its parquet files), for nodes without internet.

    huggingface-cli download nyu-mll/glue --repo-type dataset --local-dir data/glue
    albert-bench finetune --task rte --data-dir data/glue    # or data/glue/rte, or data

The Hub repos keep one folder per config and one or more shards per split:

    nyu-mll/glue        <config>/<split>-00000-of-00001.parquet   rte/validation-..., mnli/validation_matched-...
    rajpurkar/squad     plain_text/<split>-*.parquet
    rajpurkar/squad_v2  squad_v2/<split>-*.parquet
    ehovy/race          all/<split>-*.parquet (also middle/, high/)

Under a --data-dir D the config folder is the first of D/<config>, D/data/<config> and D itself
that holds a file of one of the task's splits, looked for in D, then in D/<repo name> (glue,
squad, squad_v2, race) and D/<owner>/<repo name>: a suite --data-root holding every copy works
as it is. A folder counts only when it holds a split of THIS task, so data/squad_v2 (whose
files sit in data/squad_v2/squad_v2/) is not mistaken for a config folder. Split files are
<split>-*.parquet, <split>.parquet or <split>/*.parquet (the Hub's refs/convert/parquet layout).

The tasks try their official files first and this copy second; the rows it returns go through
the task's own Hub row converter (examples_from_hf_rows), so ids and labels are those of the
online path.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from albert_bench.tasks.common import DataError


def split_patterns(hf_split: str) -> tuple[str, ...]:
    return (f"{hf_split}-*.parquet", f"{hf_split}.parquet", f"{hf_split}/*.parquet")


def split_files(folder: Path, hf_split: str) -> list[Path]:
    """The split's parquet shards in `folder`, in shard order (row order matters: RACE numbers
    the questions of an article by their rows)."""
    return sorted({p for pattern in split_patterns(hf_split) for p in folder.glob(pattern) if p.is_file()})


def find(data_dir: str | Path, hf_path: str, config: str, hf_splits: Sequence[str]) -> Path | None:
    """The config folder of a local copy of `hf_path` under data_dir, or None when there is none."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return None
    repo = hf_path.split("/")[-1]
    for base in (data_dir, data_dir / repo, data_dir / hf_path):
        for folder in (base / config, base / "data" / config, base):
            if folder.is_dir() and any(split_files(folder, s) for s in hf_splits):
                return folder
    return None


def read_split(folder: Path, hf_path: str, hf_split: str, columns: Sequence[str], what: str) -> Any:
    """The rows of one split of the copy in `folder` (a datasets.Dataset with at least `columns`).
    `what` names the task and split in errors ("rte split 'dev'")."""
    files = split_files(folder, hf_split)
    if not files:
        found = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.parquet"))
        raise DataError(
            f"{what}: the local copy of {hf_path} in {folder} has no {hf_split!r} split. Found "
            f"{', '.join(found[:12]) or 'no parquet files'}{' ...' if len(found) > 12 else ''}; expected "
            f"{' or '.join(str(folder / p) for p in split_patterns(hf_split))}. Download the whole repo: "
            f"huggingface-cli download {hf_path} --repo-type dataset --local-dir DIR")
    try:
        import datasets
        rows = datasets.load_dataset("parquet", data_files={hf_split: [str(p) for p in files]}, split=hf_split)
    except Exception as err:   # a truncated download, a missing package: name the files and the fix
        raise DataError(f"{what}: could not read {', '.join(map(str, files))} with datasets: "
                        f"{type(err).__name__}: {err}. Re-download them (huggingface-cli download {hf_path} "
                        f"--repo-type dataset) or check that `datasets` and `pyarrow` are installed.") from err
    missing = [c for c in columns if c not in rows.column_names]
    if missing:
        raise DataError(f"{what}: {files[0]} has no column(s) {missing} (it has {rows.column_names}); "
                        f"is {folder} a copy of {hf_path}?")
    return rows


def describe(hf_path: str, config: str) -> str:
    """How to get a local copy, for the 'file not found' errors of the official layout."""
    return (f"or a local copy of the Hugging Face dataset ({config}/ under `huggingface-cli download {hf_path} "
            f"--repo-type dataset --local-dir DIR`)")
