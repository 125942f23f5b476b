"""Instructions per request, counted by callgrind: a before/after that load cannot sway.

`make bench` gives requests per second and CPU time per request, and on this
shared 2-core machine both move ±30% between runs: a change of 10% (the event
log's budget) hides in that. Callgrind counts the instructions a process
executes, whatever else runs beside it, so the same code on the same input
gives (nearly) the same count twice.

    .venv/bin/python -m bench.instructions [--baseline REF[,REF...]] [--requests 100]
        [--operations create,transition,read] [--baselines-only]

For each server (this checkout, then each baseline, installed as `make bench`
installs them) and operation, a process serves the registry in-process (the
app over ASGI, as the tests call it: no sockets, no wrk) on a fresh SQLite
file, seeds it, and sends `--warmup` then N requests under callgrind, once
with N = `--requests` and once with N = 2 x `--requests`. The difference of
the two totals over the difference of N is the cost of one request, with
start-up, imports and seeding cancelled out. The in-process client's share
(httpx building and reading the request) is counted too, the same for every
server. Background timers are pushed out of the way (webhook polling, token
cache expiry), since callgrind slows the process ~50x and timers would fire
50x more often per request than in real time.

Transitions promote version 2, then 1, then 2 ... of 16 models in turn, so
every request is a real move (and archives the version it displaces). Reads
(`--operations read`, not run by default) ask for a model's production
version, as `make bench` does.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.baseline import commit_of
from bench.baseline import install as install_baseline
from bench.config import REPO_ROOT

OPERATIONS = ("create", "transition", "read")
# The process callgrind watches (bench/instructions_worker.py), run in the server's own
# checkout and virtualenv (a baseline's for a baseline).
WORKER = Path(__file__).with_name("instructions_worker.py")
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


@dataclass(frozen=True)
class Server:
    name: str
    checkout: Path
    python: Path
    modelreg: Path


def servers(baselines: list[str]) -> list[Server]:
    venv = REPO_ROOT / ".venv" / "bin"
    found = [Server("modelreg", REPO_ROOT, venv / "python", venv / "modelreg")]
    for ref in baselines:
        executable = install_baseline(ref)
        checkout = executable.parents[2]  # <checkout>/.venv/bin/modelreg
        python = executable.parent / "python"
        found.append(Server(f"modelreg@{commit_of(ref)}", checkout, python, executable))
    return found


def _environment(server: Server, workdir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "MODELREG_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench.db",
        "MODELREG_WEBHOOK_POLL_INTERVAL_SECONDS": "3600",
        "MODELREG_WEBHOOK_MAINTENANCE_INTERVAL_SECONDS": "3600",
        "MODELREG_AUTH_CACHE_SECONDS": "3600",
        "MODELREG_LOG_LEVEL": "WARNING",
    }
    for command in (["db", "upgrade"], ["token", "create", "--name", "bench", "--role", "admin"]):
        done = subprocess.run(
            [str(server.modelreg), *command], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"modelreg {' '.join(command)} failed:\n{done.stderr}")
        if command[0] == "token":
            env["BENCH_TOKEN"] = done.stdout.strip()
    return env


def instructions(server: Server, operation: str, count: int, warmup: int) -> int:
    """The instructions of one whole run: start-up, seeding, `warmup` + `count` requests."""
    with tempfile.TemporaryDirectory(prefix="instructions-", dir=REPO_ROOT / ".bench") as tmp:
        workdir = Path(tmp)
        env = _environment(server, workdir)
        # A copy beside the database: run from bench/, its token.py would shadow the stdlib's.
        worker = workdir / WORKER.name
        shutil.copy(WORKER, worker)
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={workdir}/callgrind.out",
            str(server.python),
            str(worker),
            operation,
            str(count),
            str(warmup),
        ]
        done = subprocess.run(
            command, cwd=server.checkout, env=env, capture_output=True, text=True, check=False
        )
        found = _COLLECTED.search(done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"{server.name} {operation} failed:\n{done.stderr[-3000:]}")
        return int(found.group(1))


def per_request(server: Server, operation: str, requests: int, warmup: int) -> float:
    small = instructions(server, operation, requests, warmup)
    large = instructions(server, operation, 2 * requests, warmup)
    return (large - small) / requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="", help="git refs, comma-separated")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--operations", default="create,transition")
    parser.add_argument(
        "--baselines-only", action="store_true", help="not this checkout (measured elsewhere)"
    )
    args = parser.parse_args()
    operations = [name.strip() for name in args.operations.split(",") if name.strip()]
    unknown = set(operations) - set(OPERATIONS)
    if unknown:
        raise SystemExit(f"--operations: unknown {', '.join(sorted(unknown))}")
    (REPO_ROOT / ".bench").mkdir(exist_ok=True)
    measured = servers([ref.strip() for ref in args.baseline.split(",") if ref.strip()])
    if args.baselines_only:
        measured = measured[1:]
    print(f"| server | {' | '.join(f'{name} (M instructions/request)' for name in operations)} |")
    print(f"|---|{'---:|' * len(operations)}")
    for server in measured:
        costs = [per_request(server, name, args.requests, args.warmup) / 1e6 for name in operations]
        print(f"| {server.name} | {' | '.join(f'{cost:.2f}' for cost in costs)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
