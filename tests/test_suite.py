"""`albert-bench suite`: grid expansion, sharding, dry-run lines, skip, resume after a kill in the
middle of the grid (the records equal an uninterrupted suite's), a failing job among good ones.
Tiny: a random albert-tiny on small SST-2 / RTE sets in the official format, a few steps."""
import json
import random
import re
import shlex

import pytest

from albert_bench import cli
from albert_bench.suite import runner as suite
from albert_bench.suite import plan as suite_plan
from albert_bench.demo.data import write_rte, write_sst2
from albert_bench.records import read_jsonl
from albert_bench.modeling.tokenizer import train_sentencepiece
from albert_bench.engine.train import TrainingInterrupted
from albert_bench.tasks import REGISTRY, get_task

NAMES = list(REGISTRY)
# Steps 1-6, scored and checkpointed every 2: a kill after step 3 resumes from step 2.
TINY_RUN = dict(overrides={"batch_size": 8, "eval_every": 2, "checkpoint_every": 2, "max_seq_length": 48},
                max_steps=6, max_train_examples=24, max_eval_examples=12)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """DATA_ROOT/SST-2 and DATA_ROOT/RTE as the GLUE download has them, and a tokenizer for them."""
    root = tmp_path_factory.mktemp("suite-data")
    sizes = {"train": 24, "dev": 12}
    write_sst2(root / "SST-2", random.Random(0), dict(sizes))
    write_rte(root / "RTE", random.Random(1), dict(sizes))
    texts = [line for path in sorted(root.rglob("*.tsv")) for line in path.read_text().splitlines()]
    spiece = train_sentencepiece(texts * 3, root / "tok", vocab_size=120)
    return root, str(spiece.parent)


def _plan(data, tmp, seeds=(1, 2), tasks="sst2,rte", **changes):
    root, tok = data
    kwargs = dict(TINY_RUN, data_root=root, output_root=tmp / "runs", results_dir=tmp / "results",
                  get_task=get_task, tokenizer=tok)
    kwargs.update(changes)
    return suite.plan(["preset:albert-tiny"], tasks, list(seeds), **kwargs)


# ---- the plan ----------------------------------------------------------------------------

def test_task_groups_and_job_grid(tmp_path):
    card = suite.plan("albert-base-v2,albert-base-v1", "model-card", "1,2,3", get_task=get_task)
    assert len(card) == 2 * 5 * 3
    assert [j.task for j in card[:15:3]] == ["squad_v1", "squad_v2", "mnli", "sst2", "race"]
    assert [(j.model, j.seed) for j in card[:3]] == [("albert-base-v2", 1), ("albert-base-v2", 2), ("albert-base-v2", 3)]
    assert {j.version for j in card if j.model == "albert-base-v1"} == {"v1"}
    # The v2 RACE recipe differs from v1's (the original README's exception).
    race = {j.version: j.resolved["lr"] for j in card if j.task == "race"}
    assert race == {"v1": 2e-5, "v2": 1e-5}
    assert card[0].output_dir == "runs/albert-base-v2/squad_v1/seed1" and card[0].data_dir is None
    assert card[0].resolved["train_steps"] == 3649   # the paper's SQuAD v1.1 steps

    glue = suite.expand_tasks("glue", get_task)
    assert glue == ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"]
    every = suite.expand_tasks("all", get_task, NAMES)
    assert set(every) == set(NAMES) - {"ax"} and len(every) == len(NAMES) - 1
    assert suite.expand_tasks("RTE, sst-2,rte,squad2", get_task) == ["rte", "sst2", "squad_v2"]
    with pytest.raises(ValueError, match="ax is test-only"):
        suite.expand_tasks("mnli,ax", get_task)
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        suite.expand_tasks("rte,nope", get_task)
    with pytest.raises(ValueError, match="unknown recipe field"):
        suite.plan("albert-base-v2", "rte", "1", get_task=get_task, overrides={"lrr": 1})
    with pytest.raises(ValueError, match="distinct seeds"):
        suite.plan("albert-base-v2", "rte", "1,1", get_task=get_task)
    # A SQuAD input setting applies to the SQuAD jobs only.
    mixed = suite.plan("some-org/albert-base-v2", "rte,squad_v2", "1", get_task=get_task,
                       overrides={"doc_stride": 64, "lr": 1e-5}, max_steps=10)
    assert [j.overrides for j in mixed] == [{"lr": 1e-5}, {"doc_stride": 64, "lr": 1e-5}]
    assert mixed[0].output_dir == "runs/some-org--albert-base-v2/rte/seed1"
    assert [suite.tables_for(spec, ran) for spec, ran in (("model-card", ["mnli"]), ("glue", ["rte"]), ("all", []),
                                                          ("rte,race", ["rte", "race"]), ("rte", ["rte"]))] == \
        [["model-card"], ["glue"], ["model-card", "glue"], ["model-card", "glue"], ["glue"]]
    assert mixed[0].resolved["train_steps"] == 10 and mixed[0].resolved["warmup_steps"] == 2   # 200/800 kept


def test_data_dirs_in_the_official_layout(tmp_path):
    glue = suite.plan("albert-base-v2", "glue,race", "1", data_root=tmp_path, get_task=get_task)
    assert {j.task: j.data_dir for j in glue} == {
        "cola": f"{tmp_path}/CoLA", "sst2": f"{tmp_path}/SST-2", "mrpc": f"{tmp_path}/MRPC",
        "stsb": f"{tmp_path}/STS-B", "qqp": f"{tmp_path}/QQP", "mnli": f"{tmp_path}/MNLI",
        "qnli": f"{tmp_path}/QNLI", "rte": f"{tmp_path}/RTE", "wnli": f"{tmp_path}/WNLI", "race": f"{tmp_path}/RACE"}
    def squad(root):
        return {j.task: j.data_dir for j in suite.plan("m", "squad_v1,squad_v2", "1", data_root=root, get_task=get_task)}
    # Nothing there yet: the documented folder (the job's error will name it).
    assert squad(tmp_path) == {"squad_v1": f"{tmp_path}/SQuAD", "squad_v2": f"{tmp_path}/SQuAD"}
    (tmp_path / "dev-v2.0.json").write_text("{}")            # the v2.0 json files straight in the root
    assert squad(tmp_path) == {"squad_v1": f"{tmp_path}/SQuAD", "squad_v2": str(tmp_path)}
    (tmp_path / "squad").mkdir()                             # a lower-case folder with both versions
    for name in ("train-v1.1.json", "train-v2.0.json"):
        (tmp_path / "squad" / name).write_text("{}")
    assert squad(tmp_path) == {"squad_v1": f"{tmp_path}/squad", "squad_v2": f"{tmp_path}/squad"}


def test_record_identity_includes_input_settings():
    """A SQuAD record made with --set doc_stride=64 is not the paper-settings job, and is that job."""
    plain, = suite.plan("albert-base-v2", "squad_v2", "1", get_task=get_task)
    strided, = suite.plan("albert-base-v2", "squad_v2", "1", get_task=get_task, overrides={"doc_stride": 64})
    assert plain.input_values["doc_stride"] == 128 and strided.input_values["doc_stride"] == 64

    def record_of(job, **changes):   # the fields runs.finetune writes, as it writes them
        ident = job.identity()
        record = {"kind": "finetune", "task": job.task, "seed": job.seed, "model": {"source": job.model},
                  "data_dir": job.data_dir,
                  "tokenizer": job.model, "recipe": {**ident["recipe"], "resumed": True, "world_size": 8},
                  "inputs": {k: {"value": v, "source": "recipe"} for k, v in ident["inputs"].items()}}
        record.update(changes)
        return record
    assert suite.find_record(plain, [record_of(plain)]) is not None
    assert suite.find_record(plain, [record_of(strided)]) is None
    assert suite.find_record(strided, [record_of(strided)]) is not None
    assert suite.find_record(plain, [record_of(plain, seed=2)]) is None
    assert suite.find_record(plain, [record_of(plain, kind="evaluate")]) is None
    assert suite.find_record(plain, [record_of(plain, data_dir="other/SQuAD")]) is None   # other data
    capped = record_of(plain)   # a max_seq_length cut to the model's positions still matches what was asked
    capped["inputs"]["max_seq_length"] = {"value": 256, "source": "recipe", "requested": 512}
    assert suite.find_record(plain, [capped]) is not None
    other_lr = record_of(plain)
    other_lr["recipe"]["lr"] = 1e-4
    assert suite.find_record(plain, [other_lr]) is None


def test_shards_cover_every_job_once(monkeypatch):
    jobs = suite.plan("a-v2,b-v1", "glue", "1,2", get_task=get_task)
    assert len(jobs) == 36
    for n in (1, 3, 5, 36, 40):
        parts = [suite.shard_jobs(jobs, (k, n)) for k in range(n)]
        flat = [j for part in parts for j in part]
        assert sorted(map(id, flat)) == sorted(map(id, jobs)) and len(flat) == len(jobs)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert suite.shard_jobs(jobs, (1, 3))[:2] == [jobs[1], jobs[4]]
    assert suite.parse_shard("2/4", env={}) == (2, 4)
    assert suite.parse_shard(None, env={}) is None
    slurm = {"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "5", "SLURM_ARRAY_TASK_COUNT": "4"}
    assert suite.parse_shard(None, env=slurm) == (2, 4)
    assert suite.parse_shard("0/2", env=slurm) == (0, 2)        # the flag wins
    assert suite.parse_shard(None, env={"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"}) == (3, 4)
    for bad in ("4/4", "1-4", "x/2", "-1/3"):
        with pytest.raises(ValueError, match="--shard"):
            suite.parse_shard(bad, env={})
    with pytest.raises(ValueError, match="SLURM array task 9"):
        suite.parse_shard(None, env={"SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "4"})


def test_dry_run_lines_parse_as_finetune_commands(data, tmp_path):
    jobs = _plan(data, tmp_path, overrides={**TINY_RUN["overrides"], "lr": 3e-5, "adam_betas": [0.9, 0.98]})
    lines = []
    summary = suite.run_suite(jobs, get_task=get_task, dry_run=True, out=lines.append, micro_batch_size=4,
                              precision="bf16", gradient_checkpointing=True)
    commands = [line for line in lines if line.startswith("albert-bench finetune")]
    assert len(commands) == len(jobs) == 4 and summary.exit_code == 0
    parser = cli.build_parser()
    for job, line in zip(jobs, commands):
        args = parser.parse_args(shlex.split(line)[1:])
        assert (args.command, args.model, args.task, args.seed, args.version) == \
            ("finetune", job.model, job.task, job.seed, job.version)
        assert (args.output_dir, args.results_dir, args.data_dir, args.tokenizer, args.max_steps) == \
            (job.output_dir, job.results_dir, job.data_dir, job.tokenizer, 6)
        assert cli._parse_overrides(args.set) == job.overrides   # 3e-05 a float, the betas a list
        assert args.max_train_examples == 24 and not args.resume
        assert (args.micro_batch_size, args.precision, args.gradient_checkpointing) == (4, "bf16", True)
    assert not (tmp_path / "results").exists() and not (tmp_path / "runs").exists()
    for value in ("1", "a b", "x", 2, 0.5, None, [1, 2]):   # text that reads as JSON gets quoted
        assert cli._parse_overrides([f"k={suite_plan._set_text(value)}"]) == {"k": value}


# ---- running -----------------------------------------------------------------------------

def _by_job(summary):
    return {(job.task, job.seed): record for job, record in summary.done + summary.skipped}


def _same_records(a: dict, b: dict):
    """Same metrics (best and last), best step, steps, per-example predictions and step log."""
    assert a.keys() == b.keys()
    for key in a:
        ra, rb = a[key], b[key]
        assert ra["metrics"] == rb["metrics"] and ra["best_step"] == rb["best_step"], key
        assert ra["steps"] == rb["steps"] == 6
        for split in ra["predictions"]:
            pa = read_jsonl(f"{ra['path'].rsplit('/', 1)[0]}/{ra['predictions'][split]}")
            pb = read_jsonl(f"{rb['path'].rsplit('/', 1)[0]}/{rb['predictions'][split]}")
            assert pa == pb and len(pa) == 12, key
        # The step logs too (loss, lr per step): the resumed run took the same path, not just the same end.
        la, lb = (read_jsonl(f"{r['path'].rsplit('/', 1)[0]}/{r['log']}") for r in (ra, rb))
        assert [e["step"] for e in lb] == list(range(1, 7)) and [e["lr"] for e in la] == [e["lr"] for e in lb]
        assert [e["loss"] for e in lb] == pytest.approx([e["loss"] for e in la], abs=1e-6), key


def test_kill_mid_grid_then_rerun_equals_uninterrupted_suite(data, tmp_path):
    clean = suite.run_suite(_plan(data, tmp_path / "clean"), get_task=get_task, out=lambda *a: None)
    assert clean.exit_code == 0 and len(clean.done) == 4 and not clean.resumed

    jobs = _plan(data, tmp_path / "cut")
    from albert_bench.engine import runs

    def killed_in_job_3(**kwargs):
        # Job 3 (rte seed 1) dies after step 3, like a kill: the suite itself stops.
        if (kwargs["task"].name, kwargs["seed"]) == ("rte", 1):
            try:
                return runs.finetune(**kwargs, _stop_at_step=3)
            except TrainingInterrupted:
                raise KeyboardInterrupt from None
        return runs.finetune(**kwargs)

    with pytest.raises(KeyboardInterrupt):
        suite.run_suite(jobs, get_task=get_task, finetune=killed_in_job_3, out=lambda *a: None)
    assert len(list((tmp_path / "cut" / "results").glob("*.json"))) == 2
    lines = []
    suite.run_suite(jobs, get_task=get_task, dry_run=True, out=lines.append)
    assert [re.search(r": (\w+)", line).group(1) for line in lines if line.startswith("# [")] == \
        ["skip", "skip", "resume", "new"]

    again = suite.run_suite(jobs, get_task=get_task, out=lambda *a: None)
    assert (len(again.skipped), len(again.done), len(again.failed)) == (2, 2, 0)
    assert [(j.task, j.seed) for j in again.resumed] == [("rte", 1)]
    assert _by_job(again)[("rte", 1)]["recipe"]["resumed"] is True
    _same_records(_by_job(clean), _by_job(again))

    # Everything is there now: a third start trains nothing and writes no record.
    third = suite.run_suite(jobs, get_task=get_task, out=lambda *a: None)
    assert len(third.skipped) == 4 and not third.done
    assert len(list((tmp_path / "cut" / "results").glob("*.json"))) == 4
    # Another recipe is another job: its record is not taken for this one, and the finished
    # run's checkpoint in the same folder is not resumed: the job fails naming the fix.
    other = _plan(data, tmp_path / "cut", overrides={**TINY_RUN["overrides"], "lr": 1e-3})
    assert [suite.job_state(j, suite._records_in(j.results_dir)) for j in other] == ["conflict"] * 4
    clash = suite.run_suite(other[:1], get_task=get_task, out=lambda *a: None)
    assert clash.exit_code == 1 and not clash.done
    assert "lr: 1e-05 there, 0.001 here" in clash.failed[0][1] and "another --output-root" in clash.failed[0][1]
    fresh = _plan(data, tmp_path / "other", overrides={**TINY_RUN["overrides"], "lr": 1e-3}, results_dir=tmp_path / "cut" / "results")
    assert [suite.job_state(j, suite._records_in(j.results_dir)) for j in fresh] == ["new"] * 4


def test_failing_job_reported_while_others_finish(data, tmp_path, capsys):
    root, tok = data
    # The data root has SST-2 and RTE but no CoLA: the cola job fails, the others run.
    argv = ["suite", "--models", "preset:albert-tiny", "--tasks", "cola,sst2", "--seeds", "3",
            "--data-root", str(root), "--tokenizer", tok, "--output-root", str(tmp_path / "runs"),
            "--results-dir", str(tmp_path / "results"), "--max-steps", "2", "--max-train-examples", "16",
            "--max-eval-examples", "8", "--set", "batch_size=8", "--set", "max_seq_length=48"]
    assert cli.main(argv) == 1
    out = capsys.readouterr().out
    assert "1 done (0 resumed), 0 skipped (record already there), 1 failed" in out
    assert "FAILED preset:albert-tiny cola seed 3: DataError: cola train file not found" in out
    written = [json.loads(p.read_text()) for p in (tmp_path / "results").glob("*.json")]
    assert [(r["task"], r["seed"], r["steps"]) for r in written] == [("sst2", 3, 2)]
    # The reports' GLUE table of what ran: SST-2 filled (percent, one decimal), CoLA missing.
    table = out.split("1 failed")[-1]
    assert "GLUE dev" in table and re.search(r"\| albert-tiny \| – \| \d+\.\d \| – \|", table), table
    assert (tmp_path / "runs" / "preset-albert-tiny" / "sst2" / "seed3" / "best").is_dir()


def _suite_worker(rank, world, port, data, tmp):
    import os

    import torch
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    lines = []
    summary = suite.run_suite(_plan(data, tmp, seeds=(1,), tasks="sst2,rte"), get_task=get_task,
                              out=lines.append, device="cpu")
    (tmp / f"rank{rank}.json").write_text(json.dumps({"done": len(summary.done), "lines": lines}))


def test_under_torchrun_every_job_runs_data_parallel(data, tmp_path):
    """Two processes (gloo, as torchrun would start them): one process group for the whole
    suite, each job trained by both, one record per job, rank 0 alone prints."""
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_suite_worker, args=(2, port, data, tmp_path), nprocs=2, join=True)
    written = [json.loads(p.read_text()) for p in (tmp_path / "results").glob("*.json")]
    assert sorted((r["task"], r["recipe"]["world_size"]) for r in written) == [("rte", 2), ("sst2", 2)]
    ranks = [json.loads((tmp_path / f"rank{k}.json").read_text()) for k in (0, 1)]
    assert ranks[0]["done"] == ranks[1]["done"] == 2
    assert any("2 done" in line for line in ranks[0]["lines"]) and ranks[1]["lines"] == []
