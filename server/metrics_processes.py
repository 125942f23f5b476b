"""One view of the metrics across `modelreg serve --workers N` (prometheus_client multiprocess).

Each worker writes its samples to files in a directory named by
PROMETHEUS_MULTIPROC_DIR, and whichever worker answers a scrape adds up the
files of all. prometheus_client decides the mode when it is first imported,
so `serve` makes a fresh directory and puts it in the environment before
uvicorn starts its workers (fresh interpreters that inherit it), and removes
it when the server exits: counts never carry over from an earlier run. A
single process keeps its metrics in memory and needs none of this.

uvicorn offers no hook when a worker dies, so the live gauges of dead
workers (connections lent by their pools) are dropped when a scrape finds
their process gone; their counters stay, so totals never go backwards.
"""

import atexit
import glob
import os
import re
import shutil
import tempfile

from prometheus_client import values
from prometheus_client.multiprocess import mark_process_dead

# prometheus_client's own variable, not a modelreg setting.
DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
DIRECTORY_PREFIX = "modelreg-metrics-"
_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_([0-9]+)\.db")


def share_between_workers(workers: int) -> str | None:
    """For more than one worker: a fresh metrics directory in the environment, gone at exit."""
    if workers <= 1:
        return None
    directory = tempfile.mkdtemp(prefix=DIRECTORY_PREFIX)
    os.environ[DIRECTORY_VARIABLE] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


def in_use() -> bool:
    """Whether this process's metrics live in the shared directory (decided at import)."""
    return values.ValueClass is not values.MutexValue


def forget_dead_workers() -> None:
    """Drop the live gauges of processes that are gone (a killed or restarted worker)."""
    directory = os.environ.get(DIRECTORY_VARIABLE)
    if not directory:
        return
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        found = _LIVE_GAUGE_FILE.fullmatch(os.path.basename(path))
        if found is not None and not _alive(int(found.group(1))):
            mark_process_dead(int(found.group(1)), directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process has that pid now: not one of our workers
    return True
