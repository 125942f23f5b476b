"""The peer: MLflow's tracking server from PyPI, seeded and loaded over its REST API.

It gets its own venv in .bench/mlflow-venv, so its dependencies never meet ours.
"""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.config import BENCH_DIR
from bench.operation import (
    CEILING,
    CREATE_VERSION,
    LIST_VERSIONS,
    READ_PRODUCTION,
    TRANSITION_STAGE,
    Operation,
    json_body,
)
from bench.server_process import free_port, running_server

VENV = BENCH_DIR / "mlflow-venv"
MLFLOW = VENV / "bin" / "mlflow"
# Records what the venv was installed with, so a change here reinstalls.
STAMP = VENV / ".bench-requirements"
# uvicorn[standard] brings uvloop and httptools, which the registry serves with too.
# Without them MLflow's asyncio sockets lack TCP_NODELAY: each response's body waits
# for the client's delayed ACK of its headers, a 40 ms stall that would be measured
# instead of MLflow itself.
REQUIREMENTS = ("mlflow>=3,<4", "uvicorn[standard]")
WORKERS = 2
# The first start creates its database and runs MLflow's migrations.
STARTUP_TIMEOUT_S = 180.0

API = "/api/2.0/mlflow"
CREATE_MODEL = "bench-create"
STAGE_MODEL = "bench-stage"
READ_MODEL = "bench-read"
READ_MODEL_VERSIONS = 30  # more than the 25 that the list operation asks for
# Stored as given: MLflow looks the run up only for local, runs:/ or mlflow-artifacts: sources.
RUN_ID = "run-1"
ERROR_MARKER = '"error_code"'


class MlflowTarget:
    name = "mlflow"

    def prepare(self) -> None:
        wanted = "\n".join(REQUIREMENTS)
        if MLFLOW.exists() and STAMP.exists() and STAMP.read_text() == wanted:
            print(f"mlflow: using {MLFLOW}")
            return
        print(f"mlflow: installing {', '.join(REQUIREMENTS)} from PyPI into {VENV}")
        subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
        log_path = BENCH_DIR / "mlflow-pip.log"
        with log_path.open("wb") as log:
            completed = subprocess.run(
                [str(VENV / "bin" / "python"), "-m", "pip", "install", *REQUIREMENTS],
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if completed.returncode != 0 or not MLFLOW.exists():
            raise RuntimeError(f"pip install {' '.join(REQUIREMENTS)} failed; see {log_path}")
        STAMP.write_text(wanted)
        print(f"mlflow: installed {self.version()}")

    def version(self) -> str:
        completed = subprocess.run(
            [str(MLFLOW), "--version"], capture_output=True, text=True, check=True
        )
        return completed.stdout.strip()

    @contextmanager
    def serve(self, workdir: Path) -> Iterator[str]:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        command = [
            str(MLFLOW),
            "server",
            f"--backend-store-uri=sqlite:///{workdir}/mlflow.db",
            f"--default-artifact-root={workdir}/artifacts",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={WORKERS}",
            *_optional_flags(port),
        ]
        log_path = workdir / "mlflow.log"
        env = {
            **os.environ,
            # Telemetry would try to reach the internet from inside the measured server.
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            # The job runner (8 extra processes for GenAI scorers and periodic tasks) has
            # nothing to do with the registry and would take CPU from the measured workers.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        with running_server(command, env, f"{base_url}/health", log_path, STARTUP_TIMEOUT_S):
            yield base_url

    def seed(self, base_url: str) -> list[Operation]:
        with httpx.Client(base_url=base_url + API, timeout=30.0) as client:
            for model in (CREATE_MODEL, STAGE_MODEL, READ_MODEL):
                _post(client, "/registered-models/create", {"name": model})
            _post(client, "/model-versions/create", _version_request(CREATE_MODEL))
            for _ in range(2):
                _post(client, "/model-versions/create", _version_request(STAGE_MODEL))
            _post(client, "/model-versions/transition-stage", _production(STAGE_MODEL, 1))
            for _ in range(READ_MODEL_VERSIONS):
                _post(client, "/model-versions/create", _version_request(READ_MODEL))
            _post(
                client,
                "/model-versions/transition-stage",
                _production(READ_MODEL, READ_MODEL_VERSIONS),
            )
        return _operations()


def _operations() -> list[Operation]:
    def post(name: str, path: str, *payloads: dict[str, Any]) -> Operation:
        bodies = [json_body(payload) for payload in payloads]
        return Operation(name, "POST", API + path, bodies, body_error_marker=ERROR_MARKER)

    search = f"/model-versions/search?filter=name%3D%27{READ_MODEL}%27&max_results=25"
    return [
        post(CREATE_VERSION, "/model-versions/create", _version_request(CREATE_MODEL)),
        # Version 1 starts in Production, so requests alternate 2, 1, 2, ...
        post(
            TRANSITION_STAGE,
            "/model-versions/transition-stage",
            _production(STAGE_MODEL, 2),
            _production(STAGE_MODEL, 1),
        ),
        post(
            READ_PRODUCTION,
            "/registered-models/get-latest-versions",
            {"name": READ_MODEL, "stages": ["Production"]},
        ),
        Operation(LIST_VERSIONS, "GET", API + search, body_error_marker=ERROR_MARKER),
        Operation(CEILING, "GET", "/health"),
    ]


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


def _version_request(model: str) -> dict[str, Any]:
    return {"name": model, "source": f"s3://bench-artifacts/{model}/run-1/model", "run_id": RUN_ID}


def _production(model: str, version: int) -> dict[str, Any]:
    # MLflow's REST API takes versions as strings.
    return {
        "name": model,
        "version": str(version),
        "stage": "Production",
        "archive_existing_versions": True,
    }


def _post(client: httpx.Client, path: str, payload: dict[str, Any]) -> None:
    response = client.post(path, json=payload)
    if response.status_code != 200:
        raise RuntimeError(f"seeding failed: POST {path} -> {response.status_code} {response.text}")
