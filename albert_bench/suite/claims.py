"""A job runs once, whoever else is running: a claim file beside each output folder.

    from albert_bench.suite import claims
    with claims.acquire("runs/preset-albert-tiny/rte/seed1"):   # raises ClaimHeld if a live process has it
        ...train...                                              # the claim is released on the way out

The claim of OUTPUT_DIR is the file OUTPUT_DIR.claim (beside the folder, so deleting or overwriting
the folder keeps it). Its existence is the lock: it is created with os.open(O_CREAT | O_EXCL), which
only one process can win, on a local disk and on NFS v3 or later. Its content says who holds it:
host, pid (and the pid's start time, so a reused pid is not taken for the holder), the SLURM job /
array ids, the start time, a random token, and a heartbeat time that a daemon thread rewrites
every `heartbeat` seconds (a temp file renamed over the claim, io.atomic_write_json).

A claim is stale, and may be taken over, when its holder is gone: on the same host, its pid does
not exist (or is a zombie, or is another process now); from another host, its heartbeat is older
than `timeout` seconds (hosts' clocks are assumed to agree within a few seconds, as NTP keeps them).
A takeover is race-free: of several takers of one stale claim only the one that O_EXCL-creates the
mark CLAIM.takeover-<its token> goes on; it renames the stale claim aside (os.rename is atomic),
checks that what it moved is the claim it judged (else puts it back), then O_EXCL-creates its own
claim like anyone else. A release deletes the claim only if it is still this holder's (same token),
and the takeover marks of claims that are gone.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Callable

from albert_bench.io import atomic_write_json
from albert_bench.suite.procfs import stat_fields

SUFFIX = ".claim"
DEFAULT_TIMEOUT = 300.0     # seconds without a heartbeat before another host's claim is stale
DEFAULT_HEARTBEAT = 30.0    # seconds between heartbeats (and between a waiting suite's polls)
SLURM_VARS = ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID")
_HELD: dict[str, str] = {}  # claim path -> token of the claims this process holds now


class ClaimHeld(ValueError):
    """A live process holds the claim; `info` is its content. A ValueError, so the CLI prints the
    message as one line."""

    def __init__(self, path: Path, info: dict):
        self.path, self.info = path, info
        super().__init__(f"{str(path)[:-len(SUFFIX)]} is being trained by "
                         f"{describe(info)} (claim {path}); wait for it to finish, or stop that process; if it is "
                         f"gone, its claim goes stale and is taken over (or delete {path})")


def claim_path(output_dir: str | os.PathLike) -> Path:
    path = Path(os.path.abspath(output_dir))
    return path.with_name(path.name + SUFFIX)


def validate(timeout: float, heartbeat: float) -> None:
    if heartbeat <= 0:
        raise ValueError(f"--heartbeat {heartbeat}: give a positive number of seconds, e.g. --heartbeat 30")
    if timeout <= 2 * heartbeat:
        raise ValueError(f"--claim-timeout {timeout} must be more than twice --heartbeat {heartbeat}, or a live "
                         "claim on another host looks stale between two heartbeats; e.g. --claim-timeout 300")


def _pid_start(pid: int) -> str | None:
    """The pid's start time in clock ticks since boot (Linux /proc), None elsewhere or when gone."""
    fields = stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def _alive(pid: int, start: str | None) -> bool:
    """Whether process `pid` on this host is the one that wrote the claim and still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass   # it exists, under another user
    fields = stat_fields(pid)
    if fields and fields[0] == "Z":
        return False   # killed, not yet reaped by its parent
    now = _pid_start(pid)
    return start is None or now is None or now == start


def _my_info(token: str) -> dict:
    now = time.time()
    return {"host": socket.gethostname(), "pid": os.getpid(), "pid_start": _pid_start(os.getpid()),
            **{k.lower(): os.environ.get(k) for k in SLURM_VARS}, "started": now, "heartbeat": now,
            "token": token}


def read(path: Path) -> dict | None:
    """The claim's content; None when there is no claim. A claim caught between its creation and
    its first write reads as {} with its file time as the heartbeat."""
    try:
        text = path.read_text(encoding="utf-8")
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    try:
        info = json.loads(text)
        return info if isinstance(info, dict) else {"heartbeat": mtime}
    except json.JSONDecodeError:
        return {"heartbeat": mtime}


def describe(info: dict) -> str:
    """'host H pid P (SLURM job J, array A_T), started ..., heartbeat 12s ago'."""
    slurm = ", ".join(f"{name} {info[key]}" for name, key in (("SLURM job", "slurm_job_id"),
                      ("array job", "slurm_array_job_id"), ("array task", "slurm_array_task_id")) if info.get(key))
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info["started"])) if info.get("started") else "?"
    age = time.time() - float(info.get("heartbeat") or 0)
    return (f"host {info.get('host', '?')} pid {info.get('pid', '?')}" + (f" ({slurm})" if slurm else "")
            + f", started {started}, heartbeat {age:.0f}s ago")


def stale_reason(info: dict, timeout: float) -> str | None:
    """Why the claim's holder is gone, or None while it counts as live."""
    if info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int):
        if info["pid"] == os.getpid() and info.get("token") not in _HELD.values():
            return "its pid is this process, which does not hold it (left by an earlier process with the same pid)"
        if not _alive(info["pid"], info.get("pid_start")):
            return "its process is gone (same host)"
        return None
    age = time.time() - float(info.get("heartbeat") or 0)
    return f"no heartbeat for {age:.0f}s (--claim-timeout {timeout:g})" if age > timeout else None


class Claim:
    """A claim this process holds; a heartbeat thread keeps it fresh until `release()`."""

    def __init__(self, path: Path, info: dict, heartbeat: float, say: Callable = print):
        self.path, self.info, self.token, self.say = path, info, info["token"], say
        self.lost = False   # set when the file stopped being ours (taken over while we ran)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(heartbeat,), daemon=True,
                                        name=f"claim-heartbeat {path.name}")
        _HELD[str(path)] = self.token
        self._thread.start()

    def _beat(self, every: float) -> None:
        while not self._stop.wait(every):
            current = read(self.path)
            if not current or current.get("token") != self.token:
                self.lost = True
                self.say(f"warning: claim {self.path} is no longer ours (taken over or deleted); "
                         "another process may now train the same folder")
                return
            self.info["heartbeat"] = time.time()
            atomic_write_json(self.path, self.info)

    def release(self) -> None:
        """Stop the heartbeat, then delete the claim if it is still ours."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        _HELD.pop(str(self.path), None)
        current = read(self.path)
        if current and current.get("token") == self.token:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            _clear_marks(self.path)

    def __enter__(self) -> "Claim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _create(path: Path, info: dict) -> bool:
    """O_EXCL-create the claim with `info` in it; False when one exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(info, indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return True


def _key(info: dict) -> str:
    """What names one claim instance: its token (or, caught before its first write, its file time)."""
    return str(info.get("token") or f"t{info.get('heartbeat')}")


def _take_over(path: Path, judged: dict, token: str, timeout: float) -> bool | None:
    """Remove the stale claim `judged`. True: gone, create ours; False: the file there is not the
    one judged (put back); None: another taker is at it. Only one taker per stale claim goes on:
    the one that O_EXCL-creates its mark CLAIM.takeover-<key>; it renames the claim aside (atomic)
    and checks that what it moved is the claim it judged."""
    mark = path.with_name(f"{path.name}.takeover-{_key(judged)}")
    if not _create(mark, _my_info(token)):
        try:
            if time.time() - mark.stat().st_mtime > timeout:   # its taker died mid-takeover: clear it
                os.rename(mark, mark.with_name(mark.name + f".dead-{token}"))   # one of us wins this
                os.unlink(mark.with_name(mark.name + f".dead-{token}"))
        except FileNotFoundError:
            pass
        return None
    aside = path.with_name(f"{path.name}.stale-{token}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True   # its holder released it after all
    moved = read(aside) or {}
    if _key(moved) != _key(judged):   # it was released and claimed afresh between our read and rename
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        os.unlink(aside)
        return False
    os.unlink(aside)
    return True


def _clear_marks(path: Path) -> None:
    """Takeover marks of claims that are gone (kept until then, so a late taker of the same stale
    claim finds its mark and stays out)."""
    current = read(path)
    for mark in path.parent.glob(path.name + ".takeover-*"):
        if current is None or mark.name != f"{path.name}.takeover-{_key(current)}":
            try:
                os.unlink(mark)
            except FileNotFoundError:
                pass


def acquire(output_dir: str | os.PathLike, timeout: float = DEFAULT_TIMEOUT, heartbeat: float = DEFAULT_HEARTBEAT,
            say: Callable = print) -> Claim:
    """Claim `output_dir` for this process (taking a stale claim over, with a line saying whose and
    why); raises ClaimHeld naming the live holder."""
    path = claim_path(output_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    if _HELD.get(str(path)):
        raise ClaimHeld(path, {**(read(path) or {}), "host": socket.gethostname(), "pid": os.getpid()})
    busy = 0
    while True:
        info = _my_info(token)
        if _create(path, info):
            return Claim(path, info, heartbeat, say)
        held = read(path)
        if held is None:
            continue   # released between our create and our read
        why = stale_reason(held, timeout)
        if why is None:
            raise ClaimHeld(path, held)
        taken = _take_over(path, held, token, timeout)
        if taken:
            say(f"claim {path}: taking over from host {held.get('host', '?')} pid {held.get('pid', '?')}: {why}")
        elif taken is None:
            busy += 1
            if busy > 40:   # another taker holds the mark for ~2 s: let the caller come back later
                raise ClaimHeld(path, held)
            time.sleep(0.05)
