"""The peer: MLflow's tracking server from PyPI, seeded and loaded over its REST API.

Installed and started by bench/mlflow_server.py (its own venv in .bench/mlflow-venv).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench import mlflow_server
from bench.operation import (
    CEILING,
    CREATE_VERSION,
    LIST_VERSIONS,
    READ_PRODUCTION,
    TRANSITION_STAGE,
    Operation,
    json_body,
    promotions,
    stage_models,
)
from bench.proc_stats import tree_cpu_s

WORKERS = 2

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
    _server: int | None = None  # the `mlflow server` process while it serves

    def prepare(self) -> None:
        if mlflow_server.installed():
            print(f"mlflow: using {mlflow_server.MLFLOW}")
        mlflow_server.install()

    def version(self) -> str:
        return mlflow_server.version()

    @contextmanager
    def serve(self, workdir: Path) -> Iterator[str]:
        with mlflow_server.serving_process(workdir, workers=WORKERS) as (base_url, pid):
            self._server = pid
            try:
                yield base_url
            finally:
                self._server = None

    def server_cpu_s(self) -> float | None:
        """CPU time of `mlflow server` and every process below it (its uvicorn workers).

        The whole tree, where modelreg counts only its workers: MLflow's
        supervisor's share is small, and counting it can only favour MLflow's ratio
        less, never more.
        """
        if self._server is None:
            return None
        return tree_cpu_s(self._server)

    def seed(self, base_url: str) -> list[Operation]:
        with httpx.Client(base_url=base_url + API, timeout=30.0) as client:
            for model in (CREATE_MODEL, READ_MODEL, *stage_models(STAGE_MODEL)):
                _post(client, "/registered-models/create", {"name": model})
            _post(client, "/model-versions/create", _version_request(CREATE_MODEL))
            for model in stage_models(STAGE_MODEL):
                for _ in range(2):
                    _post(client, "/model-versions/create", _version_request(model))
                _post(client, "/model-versions/transition-stage", _production(model, 1))
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
        # Each promotes a version of one of its thread's models (see promotions).
        Operation(
            TRANSITION_STAGE,
            "POST",
            API + "/model-versions/transition-stage",
            promotions(STAGE_MODEL, lambda model, version: json_body(_production(model, version))),
            body_error_marker=ERROR_MARKER,
            per_thread=True,
        ),
        post(
            READ_PRODUCTION,
            "/registered-models/get-latest-versions",
            {"name": READ_MODEL, "stages": ["Production"]},
        ),
        Operation(LIST_VERSIONS, "GET", API + search, body_error_marker=ERROR_MARKER),
        Operation(CEILING, "GET", "/health"),
    ]


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
