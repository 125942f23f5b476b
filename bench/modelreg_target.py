"""The registry under test: this checkout's `modelreg`, seeded and loaded over GraphQL."""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.baseline import commit_of
from bench.baseline import install as install_baseline
from bench.config import REPO_ROOT
from bench.operation import (
    CEILING,
    CREATE_VERSION,
    LIST_VERSIONS,
    MLFLOW_API_CREATE_VERSION,
    MLFLOW_API_GET_LATEST,
    READ_PRODUCTION,
    TRANSITION_STAGE,
    Operation,
    json_body,
    promotions,
    stage_models,
)
from bench.proc_stats import sample, worker_pids
from bench.server_process import free_port, running_server
from bench.token import MODELREG, OPEN_PRODUCTION_GATE, auth_headers, create_admin_token

WORKERS = 2
STARTUP_TIMEOUT_S = 60.0

CREATE_MODEL = "bench-create"
MLFLOW_API_CREATE_MODEL = "bench-mlflow-create"
MLFLOW_API = "/api/2.0/mlflow"
STAGE_MODEL = "bench-stage"
READ_MODEL = "bench-read"
READ_MODEL_VERSIONS = 30  # more than the 25 that the list operation asks for

CREATE_VERSION_MUTATION = """
mutation($i: CreateModelVersionInput!) {
  createModelVersion(input: $i) { modelVersion { version } }
}"""
TRANSITION_MUTATION = """
mutation($i: TransitionStageInput!) {
  transitionStage(input: $i) { modelVersion { version stage } archived { version } }
}"""
READ_PRODUCTION_QUERY = """
query($n: String!) { model(name: $n) { productionVersion { version source runId stage } } }"""
LIST_VERSIONS_QUERY = """
query($n: String!) {
  model(name: $n) { versions(first: 25) { edges { node { version stage source runId } } } }
}"""


class ModelregTarget:
    """This checkout's modelreg, or (with `baseline`) another commit's, for before/after."""

    def __init__(self, baseline: str | None = None) -> None:
        self._headers: dict[str, str] = {}
        self._baseline = baseline
        self.name = f"modelreg@{baseline}" if baseline else "modelreg"
        self._executable = MODELREG
        self._supervisor: int | None = None

    def prepare(self) -> None:
        if self._baseline is not None:
            self._executable = install_baseline(self._baseline)
        if not self._executable.exists():
            raise RuntimeError(f"{self._executable} is missing; run `make bench` to set up .venv")

    def version(self) -> str:
        if self._baseline is not None:
            return f"git {commit_of(self._baseline)}"
        commit = _git("rev-parse", "--short", "HEAD")
        dirty = " (uncommitted changes)" if _git("status", "--porcelain") else ""
        return f"git {commit}{dirty}"

    @contextmanager
    def serve(self, workdir: Path) -> Iterator[str]:
        env = {**os.environ, "MODELREG_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench.db"}
        upgrade = subprocess.run(
            [self._executable, "db", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if upgrade.returncode != 0:
            raise RuntimeError(f"modelreg db upgrade failed:\n{upgrade.stderr}")
        self._headers = auth_headers(create_admin_token(env, modelreg=self._executable))
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        command = [str(self._executable), "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(WORKERS)]
        health_url = f"{base_url}/healthz"
        log = workdir / "modelreg.log"
        with running_server(command, env, health_url, log, STARTUP_TIMEOUT_S) as process:
            self._supervisor = process.pid
            try:
                yield base_url
            finally:
                self._supervisor = None

    def server_cpu_s(self) -> float | None:
        """CPU time of the workers: less swayed by the machine's load than requests per second."""
        if self._supervisor is None:
            return None
        return sum(s.cpu_s for s in sample(worker_pids(self._supervisor)))

    def seed(self, base_url: str) -> list[Operation]:
        with httpx.Client(base_url=base_url, timeout=30.0, headers=self._headers) as client:
            # The operations promote directly, as MLflow does: no approval step.
            _graphql(client, OPEN_PRODUCTION_GATE, {})
            _create_version(client, CREATE_MODEL, 1)
            for model in stage_models(STAGE_MODEL):
                for version in (1, 2):
                    _create_version(client, model, version)
                _to_production(client, model, 1)
            for version in range(1, READ_MODEL_VERSIONS + 1):
                _create_version(client, READ_MODEL, version)
            _to_production(client, READ_MODEL, READ_MODEL_VERSIONS)
        return _operations(self._headers)


def _operations(headers: dict[str, str]) -> list[Operation]:
    def graphql(name: str, *requests: tuple[str, dict[str, Any]]) -> Operation:
        bodies = [
            json_body({"query": query, "variables": variables}) for query, variables in requests
        ]
        return Operation(name, "POST", "/graphql", bodies, '"errors"', headers)

    return [
        # Every request registers the next version of the same model.
        graphql(CREATE_VERSION, (CREATE_VERSION_MUTATION, {"i": _version_input(CREATE_MODEL, 2)})),
        # Each promotes a version of one of its thread's models (see promotions).
        Operation(
            TRANSITION_STAGE,
            "POST",
            "/graphql",
            promotions(STAGE_MODEL, _transition_body),
            '"errors"',
            headers,
            per_thread=True,
        ),
        graphql(READ_PRODUCTION, (READ_PRODUCTION_QUERY, {"n": READ_MODEL})),
        graphql(LIST_VERSIONS, (LIST_VERSIONS_QUERY, {"n": READ_MODEL})),
        # The same bodies as bench/mlflow_target.py sends to MLflow.
        Operation(
            MLFLOW_API_CREATE_VERSION,
            "POST",
            f"{MLFLOW_API}/model-versions/create",
            [
                json_body(
                    {
                        "name": MLFLOW_API_CREATE_MODEL,
                        "source": f"s3://bench-artifacts/{MLFLOW_API_CREATE_MODEL}/run-1/model",
                        "run_id": "run-1",
                    }
                )
            ],
            '"error_code"',
            headers,
        ),
        Operation(
            MLFLOW_API_GET_LATEST,
            "POST",
            f"{MLFLOW_API}/registered-models/get-latest-versions",
            [json_body({"name": READ_MODEL, "stages": ["Production"]})],
            '"error_code"',
            headers,
        ),
        Operation(CEILING, "GET", "/healthz"),
    ]


def _version_input(model: str, run: int) -> dict[str, Any]:
    return {
        "modelName": model,
        "source": f"s3://bench-artifacts/{model}/run-{run}/model",
        "runId": f"run-{run}",
        "metrics": [{"key": "accuracy", "value": 0.93}, {"key": "loss", "value": 0.21}],
        "params": [{"key": "learning_rate", "value": "0.001"}, {"key": "epochs", "value": "10"}],
        "tags": [{"key": "team", "value": "bench"}],
    }


def _production(model: str, version: int) -> dict[str, Any]:
    return {"modelName": model, "version": version, "stage": "PRODUCTION"}


def _transition_body(model: str, version: int) -> str:
    variables = {"i": _production(model, version)}
    return json_body({"query": TRANSITION_MUTATION, "variables": variables})


def _create_version(client: httpx.Client, model: str, run: int) -> None:
    _graphql(client, CREATE_VERSION_MUTATION, {"i": _version_input(model, run)})


def _to_production(client: httpx.Client, model: str, version: int) -> None:
    _graphql(client, TRANSITION_MUTATION, {"i": _production(model, version)})


def _graphql(client: httpx.Client, query: str, variables: dict[str, Any]) -> None:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    if "errors" in body:
        raise RuntimeError(f"seeding failed: {body['errors']}")


def _git(*args: str) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() if completed.returncode == 0 else "unknown"
