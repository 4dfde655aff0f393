"""Linux /proc facts about a process, shared by the claims (is the holder still the same process?)
and the local SLURM (its daemons and job steps)."""
from __future__ import annotations


def stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name, which may hold spaces and ")": [state, ppid, ...,
    starttime at 19, ...]; None when the process is gone or there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
