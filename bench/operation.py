"""What one benchmarked operation sends: the same shape for every server under test."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Names shared by every server, so results line up in the comparison table.
CREATE_VERSION = "create version"
TRANSITION_STAGE = "transition stage"
READ_PRODUCTION = "read production version"
LIST_VERSIONS = "list 25 versions"
CEILING = "ceiling (health check)"
# The same two calls through modelreg's MLflow API (/api/2.0/mlflow/...). For MLflow
# they are its "create version" and "read production version": the comparison
# table sets each beside that (see SAME_CALL).
MLFLOW_API_CREATE_VERSION = "create version (MLflow API)"
MLFLOW_API_GET_LATEST = "get-latest-versions Production (MLflow API)"
OPERATIONS = (
    CREATE_VERSION,
    TRANSITION_STAGE,
    READ_PRODUCTION,
    LIST_VERSIONS,
    MLFLOW_API_CREATE_VERSION,
    MLFLOW_API_GET_LATEST,
    CEILING,
)
SAME_CALL = {
    MLFLOW_API_CREATE_VERSION: CREATE_VERSION,
    MLFLOW_API_GET_LATEST: READ_PRODUCTION,
}


# wrk's threads (bench/wrk.py): the transitions give each its own models.
WRK_THREADS = 2
# Each thread promotes version 2 of each of its models, then version 1 of each, and
# again: a model's next request comes 16 requests later, long after its last one
# ended (a thread has 4 connections). One model for all, alternating 2, 1, 2, ...,
# had concurrent requests ask for the stage a version already had (INVALID_TRANSITION
# in 450-2,000 of a run's responses), which made runs and servers incomparable. Now
# only a run's first cycle can meet some (at most 32): the warm-up before it stops
# mid-cycle, and the run starts its cycle from the top.
STAGE_MODELS_PER_THREAD = 16


@dataclass(frozen=True)
class Operation:
    """One HTTP request shape that wrk repeats; several bodies are sent in turn.

    With `per_thread`, `bodies` is WRK_THREADS equal slices, and each wrk thread
    sends only its own slice in turn.
    """

    name: str
    method: str
    path: str
    bodies: list[str] = field(default_factory=list)
    # Text in a 2xx body that means the request failed anyway (GraphQL's "errors").
    body_error_marker: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    per_thread: bool = False


def stage_models(prefix: str) -> list[str]:
    """The models the transitions move, STAGE_MODELS_PER_THREAD for each wrk thread."""
    return [f"{prefix}-{i:02d}" for i in range(WRK_THREADS * STAGE_MODELS_PER_THREAD)]


def promotions(prefix: str, body: Callable[[str, int], str]) -> list[str]:
    """The transitions' bodies (`body(model, version)`), a slice per thread (`per_thread`).

    Version 1 of every model starts in Production (seeded).
    """
    models = stage_models(prefix)
    bodies: list[str] = []
    for start in range(0, len(models), STAGE_MODELS_PER_THREAD):
        mine = models[start : start + STAGE_MODELS_PER_THREAD]
        bodies += [body(model, 2) for model in mine] + [body(model, 1) for model in mine]
    return bodies


def json_body(payload: Any) -> str:
    """One line of JSON: the Lua script reads one body per line."""
    return json.dumps(payload, separators=(",", ":"))
