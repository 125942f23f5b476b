"""What one benchmarked operation sends: the same shape for every server under test."""

import json
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


@dataclass(frozen=True)
class Operation:
    """One HTTP request shape that wrk repeats; several bodies are sent in turn."""

    name: str
    method: str
    path: str
    bodies: list[str] = field(default_factory=list)
    # Text in a 2xx body that means the request failed anyway (GraphQL's "errors").
    body_error_marker: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_body(payload: Any) -> str:
    """One line of JSON: the Lua script reads one body per line."""
    return json.dumps(payload, separators=(",", ":"))
