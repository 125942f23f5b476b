"""MLflow's tracking server from PyPI: installed into .bench/mlflow-venv and started.

Shared by the benchmark's MLflow peer (bench/mlflow_target.py) and the import
tests (tests/test_mlflow_import.py), which `make test` prepares with
`python -m bench.mlflow_server` before pytest. It gets its own venv, so its
dependencies never meet ours.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.config import BENCH_DIR
from bench.server_process import free_port, running_server

VENV = BENCH_DIR / "mlflow-venv"
MLFLOW = VENV / "bin" / "mlflow"
# Records what the venv was installed with, so a change here reinstalls.
STAMP = VENV / ".bench-requirements"
PIP_LOG = BENCH_DIR / "mlflow-pip.log"
# uvicorn[standard] brings uvloop and httptools, which the registry serves with too.
# Without them MLflow's asyncio sockets lack TCP_NODELAY: each response's body waits
# for the client's delayed ACK of its headers, a 40 ms stall that would be measured
# instead of MLflow itself.
REQUIREMENTS = ("mlflow>=3,<4", "uvicorn[standard]")
# The first start creates its database and runs MLflow's migrations.
STARTUP_TIMEOUT_S = 180.0


class InstallFailed(RuntimeError):
    pass


def installed() -> bool:
    return MLFLOW.exists() and STAMP.exists() and STAMP.read_text() == "\n".join(REQUIREMENTS)


def install() -> None:
    """Install MLflow into its venv unless it is there already (about a minute from PyPI)."""
    if installed():
        return
    print(f"mlflow: installing {', '.join(REQUIREMENTS)} from PyPI into {VENV}", flush=True)
    BENCH_DIR.mkdir(exist_ok=True)
    subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
    with PIP_LOG.open("wb") as log:
        completed = subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", *REQUIREMENTS],
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if completed.returncode != 0 or not MLFLOW.exists():
        raise InstallFailed(f"pip install {' '.join(REQUIREMENTS)} failed; see {PIP_LOG}")
    STAMP.write_text("\n".join(REQUIREMENTS))
    print(f"mlflow: installed {version()}", flush=True)


def version() -> str:
    completed = subprocess.run(
        [str(MLFLOW), "--version"], capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


@contextmanager
def serving(workdir: Path, *, workers: int) -> Iterator[str]:
    """`mlflow server` on a free port with a SQLite backend in `workdir`; yields its URL."""
    with serving_process(workdir, workers=workers) as (base_url, _):
        yield base_url


@contextmanager
def serving_process(workdir: Path, *, workers: int) -> Iterator[tuple[str, int]]:
    """As `serving`, with the pid of the `mlflow server` process (its workers are below it)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [
        str(MLFLOW),
        "server",
        f"--backend-store-uri=sqlite:///{workdir}/mlflow.db",
        f"--default-artifact-root={workdir}/artifacts",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--workers={workers}",
        *_optional_flags(port),
    ]
    env = {
        **os.environ,
        # Telemetry would try to reach the internet from inside the server.
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        # The job runner (8 extra processes for GenAI scorers and periodic tasks) has
        # nothing to do with the registry and would take CPU from its workers.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    with running_server(
        command, env, f"{base_url}/health", workdir / "mlflow.log", STARTUP_TIMEOUT_S
    ) as process:
        yield base_url, process.pid


def _optional_flags(port: int) -> list[str]:
    """Flags that only some MLflow 3.x versions have, added where this one does."""
    help_text = subprocess.run(
        [str(MLFLOW), "server", "--help"], capture_output=True, text=True, check=True
    ).stdout
    flags = []
    if "--allowed-hosts" in help_text:
        flags.append(f"--allowed-hosts=127.0.0.1:{port},localhost:{port}")
    if "--uvicorn-opts" in help_text:
        # A log line per request costs both servers alike; the registry logs none by default.
        flags.append("--uvicorn-opts=--no-access-log")
    return flags


if __name__ == "__main__":
    try:
        install()
    except InstallFailed as error:
        print(f"mlflow: {error}", file=sys.stderr)
        sys.exit(1)
