"""A throw-away one-node SLURM cluster on this machine: try the grid's SLURM workflow (arrays,
preemption signals, requeue) without a cluster, and the tests' real scheduler.

Everything (config, state, spool, pid and log files) lives in one base directory; nothing under
/etc/slurm is read and no munge daemon is needed (auth/none + cred/none). Runs as root (slurmd must
be root). Tested with Debian 12's slurm-wlm 22.05.8: `apt-get install -y slurm-wlm`.

    eval "$(albert-bench local-slurm start /tmp/slurm)"    # prints: export SLURM_CONF=...
    sbatch --array=0-3 --wrap "albert-bench suite ..."; squeue
    albert-bench local-slurm status /tmp/slurm
    albert-bench local-slurm stop /tmp/slurm

    from albert_bench.suite.local_slurm import LocalSlurm
    with LocalSlurm("/tmp/slurm") as cluster:           # start() ... stop()
        job = cluster.sbatch("--wrap", "hostname")       # -> "1"
        cluster.wait_jobs([job], timeout=60)
        subprocess.run(["squeue"], env=cluster.env())    # any client command

The settings and why each is there: slurm_conf.py. Standard library only.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from albert_bench.suite.procfs import stat_fields
from albert_bench.suite.slurm_conf import (_cmdline, _free_port, _mem_total_mib, _pid_alive, _slurm_zombies,
                                           _wait_gone, conf_lines)


DAEMONS = ("slurmctld", "slurmd")

# Job states in which a job still occupies the queue (squeue's %t codes).
# squeue by default only lists these, but being explicit keeps wait_jobs
# correct even if a user's SQUEUE_STATES is set.
_ACTIVE_STATES = "PD,R,CG,CF,S,ST,RQ,RH,RS,RF,RD,SI,SO,SE,RV"


def _expand_tasks(spec: str) -> list[int]:
    """squeue's %K: "3", "2-3", "0-9:2", "1,4-5", optionally "%2"-limited.

    "N/A" (not an array) gives [].
    """
    tasks: list[int] = []
    for part in spec.split("%")[0].split(","):
        rng, _, step = part.partition(":")
        lo, _, hi = rng.partition("-")
        if not lo.isdigit():
            continue
        tasks.extend(range(int(lo), int(hi or lo) + 1, int(step or 1)))
    return tasks


class SlurmError(RuntimeError):
    """The local cluster failed to start, or a client command failed."""


def _find_binary(name: str) -> str | None:
    # Non-root PATHs often lack the sbin directories that hold the daemons.
    path = os.environ.get("PATH", "") + ":/usr/sbin:/usr/local/sbin:/sbin"
    return shutil.which(name, path=path)


def slurm_available() -> bool:
    """True when the daemons and the client commands are installed."""
    return all(_find_binary(b) for b in ("slurmctld", "slurmd", "sbatch", "sinfo"))


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as e:
        return f"<{path}: {e}>"
    return "\n".join(text[-lines:])


class LocalSlurm:
    """One slurmctld + one slurmd on this host, all files under ``base``."""

    def __init__(self, base: str | os.PathLike, *, start_timeout: float = 60.0,
                 cred_expire: int = 5):
        self.base = Path(base).resolve()
        self.conf = self.base / "slurm.conf"
        self.start_timeout = start_timeout
        # cred_expire also sets how long a requeued job is held (BeginTime =
        # requeue time + cred_expire + 1 s) before it may run again.  The
        # default is 120 s; slurm rejects values below 5 ("AuthInfo=
        # cred_expire=N invalid") and then silently falls back to 120.
        if cred_expire < 5:
            raise ValueError("cred_expire must be >= 5 (slurm ignores smaller values)")
        self.cred_expire = cred_expire
        self.hostname = socket.gethostname().split(".")[0]
        self._procs: dict[str, subprocess.Popen] = {}

    # ---------------------------------------------------------------- paths
    def pid_file(self, daemon: str) -> Path:
        return self.base / f"{daemon}.pid"

    def log_file(self, daemon: str) -> Path:
        return self.base / f"{daemon}.log"

    def _stdout_file(self, daemon: str) -> Path:
        # What the daemon prints before its log file is open (config errors).
        return self.base / f"{daemon}.stdout"

    # --------------------------------------------------------------- config
    def write_config(self) -> Path:
        """Write slurm.conf (with fresh free ports) and its side files."""
        for sub in ("state", "spool"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        cpus = os.cpu_count() or 1
        mem_total = _mem_total_mib()
        # slurmd marks the node INVALID if RealMemory exceeds what it sees;
        # keep a margin so that is never the case.
        real_mem = max(256, mem_total - max(512, mem_total // 20))
        ctld_port, slurmd_port = _free_port(), _free_port()
        while slurmd_port == ctld_port:
            slurmd_port = _free_port()
        b = self.base
        # An empty plugstack.conf stops slurm reading /etc/slurm/plugstack.conf.
        (b / "plugstack.conf").write_text("")
        # No cgroup.conf: with proctrack/linuxproc and task/none no cgroup
        # plugin is loaded (checked: slurmd logs nothing about it).  Slurm
        # would look for one next to slurm.conf, never in /etc/slurm.
        lines = conf_lines(b, self.hostname, cpus, real_mem, ctld_port, slurmd_port, self.cred_expire)
        self.conf.write_text("\n".join(lines) + "\n")
        return self.conf

    # ------------------------------------------------------------ lifecycle
    def env(self) -> dict[str, str]:
        """os.environ plus SLURM_CONF, for running client commands."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf)
        return env

    def running_pids(self) -> dict[str, int]:
        """Daemons of this cluster that are alive, by name (from pid files)."""
        out = {}
        for d in DAEMONS:
            pid = self._read_pid(d)
            if pid is not None:
                out[d] = pid
        return out

    def _read_pid(self, daemon: str) -> int | None:
        proc = self._procs.get(daemon)
        pids = [proc.pid] if proc is not None and proc.poll() is None else []
        try:
            pids.append(int(self.pid_file(daemon).read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            pass
        for pid in pids:
            # Guard against pid reuse: it must be that daemon with our config.
            cmd = _cmdline(pid)
            if (_pid_alive(pid) and cmd and os.path.basename(cmd[0]) == daemon
                    and str(self.conf) in cmd):
                return pid
        return None

    def start(self) -> LocalSlurm:
        """Write the config, start both daemons, wait for the node to be idle."""
        if not slurm_available():
            raise SlurmError("SLURM is not installed: apt-get install -y slurm-wlm")
        if self.running_pids():
            raise SlurmError(f"a cluster is already running in {self.base}; stop it first")
        # slurmstepd binds a unix socket SlurmdSpoolDir/<node>_<job>.<step>
        # (e.g. vm_1.4294967291); sun_path holds at most 107 bytes.
        if len(str(self.base / "spool")) + len(self.hostname) + 25 > 107:
            raise SlurmError(f"base directory path too long for slurm's sockets: {self.base}")
        t0 = time.monotonic()
        for attempt in range(3):
            try:
                self._start_daemons(t0)
                break
            except SlurmError as e:
                # A free port picked by _free_port() may be taken before
                # slurm binds it; only that case is worth another try.
                if attempt == 2 or "Address already in use" not in str(e):
                    raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _start_daemons(self, t0: float) -> None:
        self.write_config()
        env = self.env()
        cmds = {
            # -D: stay in the foreground so Popen's pid is the daemon's pid;
            # -c: clear old job/node state, so every start is a fresh cluster
            #     (also avoids recovering jobs from a previous run);
            # -i: ignore unreadable state files instead of refusing to start.
            "slurmctld": [_find_binary("slurmctld"), "-D", "-c", "-i", "-f", str(self.conf)],
            # -N: the node name to act as, in case `hostname -s` differs.
            "slurmd": [_find_binary("slurmd"), "-D", "-N", self.hostname, "-f", str(self.conf)],
        }
        for daemon, cmd in cmds.items():
            with open(self._stdout_file(daemon), "wb") as out:
                # A new session: the daemons outlive the CLI `start` command
                # and do not get the terminal's Ctrl-C.
                self._procs[daemon] = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    env=env, cwd=self.base, start_new_session=True)
        try:
            self._wait_idle(t0 + self.start_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_idle(self, deadline: float) -> None:
        state = ""
        while time.monotonic() < deadline:
            for daemon, proc in self._procs.items():
                if proc.poll() is not None:
                    raise SlurmError(f"{daemon} exited with {proc.returncode}\n"
                                     + self._logs_report())
            try:
                # Bounded: sinfo waits MessageTimeout (10 s) on a port that
                # accepts but never answers, while a dead daemon should be
                # noticed at once by the poll() above.
                r = subprocess.run(["sinfo", "-h", "-n", self.hostname, "-o", "%t"],
                                   env=self.env(), capture_output=True, text=True,
                                   timeout=2)
            except subprocess.TimeoutExpired:
                continue
            state = (r.stdout.strip() or r.stderr.strip())
            if r.returncode == 0 and state == "idle":
                return
            time.sleep(0.2)
        raise SlurmError(f"node not idle after {self.start_timeout:.0f}s "
                         f"(last sinfo: {state!r})\n" + self._logs_report())

    def _logs_report(self) -> str:
        parts = []
        for d in DAEMONS:
            for f in (self._stdout_file(d), self.log_file(d)):
                if f.exists():
                    parts.append(f"--- tail of {f} ---\n{_tail(f)}")
        return "\n".join(parts)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel all jobs, then stop both daemons (SIGTERM, then SIGKILL).

        Idempotent; works from another process too (pids from the pid files).
        """
        pids = self.running_pids()
        if "slurmctld" in pids and "slurmd" in pids:
            # slurmd does not kill running jobs when it exits (its
            # slurmstepd's carry on), so cancel them while the cluster is up.
            self._cancel_all(timeout)
        for daemon in ("slurmd", "slurmctld"):
            pid = pids.get(daemon)
            if pid is not None:
                # Without a controller slurmd spends ~10 s on SIGTERM trying
                # to reach it; it has nothing worth saving, so cut it short.
                grace = 1.0 if daemon == "slurmd" and "slurmctld" not in pids else timeout
                self._terminate(daemon, pid, grace)
            proc = self._procs.pop(daemon, None)
            if proc is not None:
                proc.wait()  # reap, so no zombie is left behind
        self._kill_stray_stepds()
        # slurmstepd re-parents itself to init, which may reap lazily (here
        # PID 1 is not a real init); wait a little for its zombies to go.
        _wait_gone(_slurm_zombies())

    def _terminate(self, daemon: str, pid: int, timeout: float) -> None:
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                proc = self._procs.get(daemon)
                if proc is not None:
                    proc.poll()  # reap our own child so it stops looking alive
                if not _pid_alive(pid):
                    _wait_gone([pid])
                    return
                time.sleep(0.1)

    def _cancel_all(self, timeout: float) -> None:
        env = self.env()
        r = subprocess.run(["squeue", "-h", "-o", "%A"], env=env,
                           capture_output=True, text=True)
        ids = r.stdout.split()
        if not ids:
            return
        subprocess.run(["scancel", *ids], env=env, capture_output=True)
        try:
            self.wait_jobs(None, timeout=timeout)
        except (TimeoutError, SlurmError):
            pass  # the stray-slurmstepd sweep below is the fallback

    def _kill_stray_stepds(self) -> None:
        """SIGKILL slurmstepd processes of this cluster (and their children).

        They are recognised by SLURM_CONF=<our conf> in their environment,
        inherited from our slurmd.
        """
        marker = f"SLURM_CONF={self.conf}".encode()
        children: dict[int, list[int]] = {}
        stepds = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                fields = stat_fields(pid)
                if fields is None:
                    continue
                children.setdefault(int(fields[1]), []).append(pid)
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() != "slurmstepd":
                        continue
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if marker in f.read().split(b"\0"):
                        stepds.append(pid)
            except (OSError, ValueError, IndexError):
                continue
        todo, victims = list(stepds), []
        while todo:
            pid = todo.pop()
            victims.append(pid)
            todo.extend(children.get(pid, []))
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _wait_gone(victims)

    def __enter__(self) -> LocalSlurm:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -------------------------------------------------------------- clients
    def run(self, *cmd: str, check: bool = True, env: dict | None = None,
            cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess:
        """Run a SLURM client command against this cluster (`env`, `cwd`: what a submitted job inherits)."""
        r = subprocess.run(cmd, env={**(env or os.environ), "SLURM_CONF": str(self.conf)}, cwd=cwd,
                           capture_output=True, text=True)
        if check and r.returncode != 0:
            raise SlurmError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def sbatch(self, *args: str, env: dict | None = None, cwd: str | os.PathLike | None = None) -> str:
        """Submit with sbatch; returns the job id (array job id for arrays)."""
        out = self.run("sbatch", "--parsable", *args, env=env, cwd=cwd).stdout.strip()
        return out.split(";")[0]  # --parsable prints "id[;cluster]"

    def job_info(self, job_id: str) -> list[dict[str, str]]:
        """`scontrol show job` as dicts (one per array task); [] once purged."""
        r = self.run("scontrol", "-o", "show", "job", str(job_id), check=False)
        jobs = []
        for line in r.stdout.splitlines():
            fields = {}
            for tok in line.split():
                key, sep, val = tok.partition("=")
                if sep:
                    fields[key] = val
            jobs.append(fields)
        return jobs

    def wait_jobs(self, job_ids=None, timeout: float = 120.0) -> None:
        """Wait until squeue lists none of job_ids (None: no job at all).

        An id may be a plain job id, an array job id (all its tasks) or
        "ARRAYID_TASKID".  Raises TimeoutError with the remaining jobs.
        """
        wanted = None if job_ids is None else {str(j) for j in job_ids}
        deadline = time.monotonic() + timeout
        while True:
            r = self.run("squeue", "-h", "-t", _ACTIVE_STATES, "-o", "%A %F %K %i %t")
            left = []
            for line in r.stdout.splitlines():
                job_id, array_id, task_ids, shown, state = line.split()
                keys = {job_id, array_id, shown}
                keys.update(f"{array_id}_{t}" for t in _expand_tasks(task_ids))
                if wanted is None or keys & wanted:
                    left.append(f"{shown}:{state}")
            if not left:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs still queued after {timeout}s: {' '.join(left)}")
            time.sleep(0.2)


def main(action: str, base: str) -> int:
    """`albert-bench local-slurm start|stop|status DIR`."""
    cluster = LocalSlurm(base)
    if action == "start":
        if cluster.running_pids():
            print(f"# already running in {cluster.base}", file=sys.stderr)
        else:
            cluster.start()
            print(f"# started in {cluster.start_seconds:.1f}s; stop with: "
                  f"albert-bench local-slurm stop {cluster.base}",
                  file=sys.stderr)
        # stdout carries only the line to eval, so `eval "$(... start DIR)"` works.
        print(f"export SLURM_CONF={cluster.conf}")
        return 0
    if action == "stop":
        cluster.stop()
        return 0
    pids = cluster.running_pids()
    for d in DAEMONS:
        print(f"{d}: {'running, pid ' + str(pids[d]) if d in pids else 'stopped'}")
    if pids.get("slurmctld"):
        print(cluster.run("sinfo", check=False).stdout, end="")
        print(cluster.run("squeue", check=False).stdout, end="")
    return 0 if len(pids) == len(DAEMONS) else 1
