"""MLflow's error bodies: `{"error_code": ..., "message": ...}` with MLflow's HTTP status.

`MlflowException.error_code` on the client is the `error_code` sent here, so
callers catch what they catch against MLflow: RESOURCE_DOES_NOT_EXIST (404),
RESOURCE_ALREADY_EXISTS and INVALID_PARAMETER_VALUE (400), PERMISSION_DENIED
(403), UNAUTHENTICATED (401). A stage gated by approvals is PERMISSION_DENIED
with a message that says how to ask for the approval; so is a stage whose
policy requires a model card, with a message that says how to add one.
"""

import json
from dataclasses import dataclass

from resolvers.errors import (
    ApprovalRequired,
    BadUserInput,
    Conflict,
    DatabaseError,
    DatabaseReadOnly,
    Forbidden,
    InvalidTransition,
    ModelCardRequired,
    NotFound,
    QueryTimeout,
    RegistryError,
    Unauthenticated,
)

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
PERMISSION_DENIED = "PERMISSION_DENIED"
UNAUTHENTICATED = "UNAUTHENTICATED"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
INVALID_STATE = "INVALID_STATE"
INTERNAL_ERROR = "INTERNAL_ERROR"

APPROVAL_HINT = (
    " Ask for it with POST /api/2.0/mlflow/transition-requests/create "
    '{{"name": {name}, "version": "{version}", "stage": "{stage}"}} (or GraphQL '
    "requestTransition); once a maintainer approves it (transition-requests/approve or "
    "approveTransitionRequest) and its checks pass, the version moves."
)


@dataclass(frozen=True, slots=True)
class MlflowError:
    """One error response: MLflow's code, the HTTP status MLflow gives it, and a message."""

    code: str
    status: int
    message: str

    @property
    def body(self) -> dict[str, str]:
        return {"error_code": self.code, "message": self.message}


# The first class an error is an instance of decides (read-only before other database errors).
_CODES: tuple[tuple[type[RegistryError], str, int], ...] = (
    (BadUserInput, INVALID_PARAMETER_VALUE, 400),
    (InvalidTransition, INVALID_PARAMETER_VALUE, 400),
    (NotFound, RESOURCE_DOES_NOT_EXIST, 404),
    (Conflict, RESOURCE_ALREADY_EXISTS, 400),
    (Unauthenticated, UNAUTHENTICATED, 401),
    (Forbidden, PERMISSION_DENIED, 403),
    (ApprovalRequired, PERMISSION_DENIED, 403),
    # The stage's policy wants a model card: refused like a gate, the message says how.
    (ModelCardRequired, PERMISSION_DENIED, 403),
    # Not retried by the MLflow client (it retries 5xx): writes fail until an operator acts.
    (DatabaseReadOnly, INVALID_STATE, 409),
    (QueryTimeout, DEADLINE_EXCEEDED, 504),
    # Busy or unreachable: 503, which the MLflow client retries with backoff.
    (DatabaseError, TEMPORARILY_UNAVAILABLE, 503),
)


def mlflow_error(error: RegistryError) -> MlflowError:
    """The MLflow error a use case's failure becomes."""
    for kind, code, status in _CODES:
        if isinstance(error, kind):
            return MlflowError(code, status, _message(error))
    return MlflowError(INTERNAL_ERROR, 500, "Internal server error")


def _message(error: RegistryError) -> str:
    if isinstance(error, ApprovalRequired) and "version" in error.details:
        name = error.details.get("model", "")
        stage = _stage_name(str(error.details.get("stage", "")))
        hint = APPROVAL_HINT.format(
            name=json.dumps(name), version=error.details["version"], stage=stage
        )
        return f"Approval required: {error.message}.{hint}"
    return error.message


def _stage_name(stage: str) -> str:
    return stage.capitalize() if stage != "NONE" else "None"


def endpoint_not_found(method: str, path: str) -> MlflowError:
    return MlflowError(ENDPOINT_NOT_FOUND, 404, f"No API endpoint {method} {path} in modelreg")


INTERNAL = MlflowError(INTERNAL_ERROR, 500, "Internal server error")
