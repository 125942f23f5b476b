"""A real `modelreg serve` for the real MLflow client, with MLflow's tracking kept local.

The client reads its registry from MLFLOW_REGISTRY_URI and its token from
MLFLOW_TRACKING_TOKEN (sent as `Authorization: Bearer`), as a team would set
them; runs and artifacts go to a SQLite tracking store in a temporary folder.
Without mlflow importable the tests skip, saying why; under CI=true they fail.
"""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.test_serve_process import MODELREG, create_token, free_port, wait_until_ready


def import_mlflow() -> ModuleType:
    """The `mlflow` package, or a skip (a failure under CI=true) when it is missing."""
    try:
        import mlflow
        import mlflow.pyfunc
    except ImportError as error:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI must run the MLflow client tests: {error}", pytrace=False)
        pytest.skip(f"the mlflow client is not importable ({error}): pip install -e '.[dev]'")
    return mlflow


EXPERIMENT = "modelreg-compatibility"


@dataclass
class Registry:
    """A served registry: its URL, tokens by role and the environment to run commands in."""

    base: str
    env: dict[str, str]
    tokens: dict[str, str]
    names: dict[str, str]

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {self.tokens['admin']}"},
            timeout=30,
        )
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def rest(self, method: str, path: str, role: str = "admin", **kwargs: Any) -> httpx.Response:
        """A raw call to the MLflow API (`path` after /api/2.0/mlflow/)."""
        headers = {"authorization": f"Bearer {self.tokens[role]}"} if role else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.request(
            method, f"{self.base}/api/2.0/mlflow/{path}", headers=headers, timeout=30, **kwargs
        )


@contextmanager
def serving_registry(database_url: str, logs: Path, **settings: str) -> Iterator[Registry]:
    """`modelreg serve` on `database_url` (migrated here) with a token of each role."""
    env = {**os.environ, "MODELREG_DATABASE_URL": database_url, **settings}
    subprocess.run([MODELREG, "db", "upgrade"], env=env, check=True, capture_output=True)
    names, tokens = {}, {}
    for role in ("admin", "maintainer", "writer", "reader"):
        names[role], tokens[role] = create_token(env, role)
    port = free_port()
    with (logs / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [MODELREG, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        # A loaded CI machine starts Python slowly: the deadline is generous.
        wait_until_ready(process, f"{base}/readyz", deadline_s=120)
        yield Registry(base, env, tokens, names)
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def mlflow_as(mlflow: ModuleType, registry: Registry, role: str, tracking: Path) -> Iterator[Any]:
    """The MLflow client set up as a team sets it, calling with the token of `role`."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_REGISTRY_URI")}
    os.environ["MLFLOW_TRACKING_TOKEN"] = registry.tokens[role]
    os.environ["MLFLOW_REGISTRY_URI"] = registry.base
    mlflow.set_tracking_uri(f"sqlite:///{tracking / 'mlruns.db'}")
    mlflow.set_registry_uri(registry.base)
    # Artifacts in the temporary folder too (MLflow's default is ./mlruns).
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        mlflow.create_experiment(EXPERIMENT, artifact_location=(tracking / "artifacts").as_uri())
    mlflow.set_experiment(EXPERIMENT)
    try:
        yield mlflow.MlflowClient()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def add_one_model(mlflow: ModuleType) -> Any:
    """A real pyfunc model: predict adds one to each input."""

    class AddOne(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined,misc]
        def predict(self, context: Any, model_input: list[int], params: Any = None) -> list[int]:
            return [x + 1 for x in model_input]

    return AddOne()
