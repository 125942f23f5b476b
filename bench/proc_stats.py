"""Memory and CPU time of a server's worker processes, read from Linux's /proc.

`modelreg serve --workers N` is a supervisor that spawns N workers through
multiprocessing (plus multiprocessing's resource tracker); the workers are the
children whose command line runs `spawn_main`. Only they hold connections, so
only they are counted.
"""

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
WORKER_MARKER = b"spawn_main"
# Clock ticks per second of utime/stime in /proc/<pid>/stat.
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessSample:
    pid: int
    rss_bytes: int
    cpu_s: float


def worker_pids(supervisor: int) -> list[int]:
    """The supervisor's children that are worker processes (not the resource tracker)."""
    pids = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if _parent(entry) != supervisor:
                continue
            if WORKER_MARKER in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
    return sorted(pids)


def descendant_pids(root: int) -> list[int]:
    """Every live process below `root` (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            children.setdefault(_parent(entry), []).append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
    found, pending = [], list(children.get(root, []))
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return sorted(found)


def tree_cpu_s(root: int) -> float:
    """CPU time of `root` and every live process below it (exited ones are not counted)."""
    total = 0.0
    for pid in [root, *descendant_pids(root)]:
        try:
            total += _cpu_s(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def sample(pids: list[int]) -> list[ProcessSample]:
    return [ProcessSample(pid=pid, rss_bytes=_rss_bytes(pid), cpu_s=_cpu_s(pid)) for pid in pids]


def _parent(entry: Path) -> int:
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    after_name = (entry / "stat").read_text().rsplit(")", 1)[1].split()
    return int(after_name[1])


def _rss_bytes(pid: int) -> int:
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # reported in kB
    raise RuntimeError(f"no VmRSS for process {pid}")


def _cpu_s(pid: int) -> float:
    after_name = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the name.
    return (int(after_name[11]) + int(after_name[12])) / CLOCK_TICKS
