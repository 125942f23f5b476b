"""Counters of what the registry did, of refused tokens and of database trouble.

Registry changes are counted from the events each change publishes (every
change announces itself through `RequestContext.publish`), once its
transaction has committed: a rolled-back change counts nothing, and no use
case needs a line of its own.
"""

from collections.abc import Iterable

from prometheus_client import Counter

from resolvers import request_events
from storage.enums import RequestStatus
from webhooks.events import Event

VERSIONS_CREATED = Counter("modelreg_versions_created", "Model versions registered")
STAGE_TRANSITIONS = Counter(
    "modelreg_stage_transitions",
    "Versions moved between stages, by the stage moved into and why "
    "(transition, rollback, approval, archive_existing)",
    ["to_stage", "cause"],
)
ROLLBACKS = Counter("modelreg_rollbacks", "Rollbacks of a model's PRODUCTION version")
TRANSITION_REQUESTS = Counter(
    "modelreg_transition_requests",
    "Transition requests entering a status (PENDING when made)",
    ["status"],
)
APPROVALS = Counter("modelreg_approvals", "Approvals given to transition requests")
AUTH_REFUSALS = Counter(
    "modelreg_auth_refusals",
    "Requests refused for their token: missing, malformed, unknown, expired, revoked",
    ["reason"],
)
DATABASE_ERRORS = Counter(
    "modelreg_db_errors",
    "Statements that failed because the database was busy, read-only, too slow or "
    "out of reach, by the error code the client got",
    ["code"],
)

# The status a transition request enters with each of its events.
_REQUEST_STATUSES = {
    request_events.CREATED: RequestStatus.PENDING,
    request_events.COMPLETED: RequestStatus.COMPLETED,
    request_events.REJECTED: RequestStatus.REJECTED,
    request_events.CANCELLED: RequestStatus.CANCELLED,
    request_events.STALE: RequestStatus.STALE,
}


def committed(events: Iterable[Event]) -> None:
    """Count what a committed transaction did, from the events it published."""
    for event in events:
        if event.type == "model_version.created":
            VERSIONS_CREATED.inc()
        elif event.type == "model_version.stage_changed":
            cause = str(event.data.get("cause", "")).lower()
            STAGE_TRANSITIONS.labels(event.stage or "", cause).inc()
        elif event.type == "model.rolled_back":
            ROLLBACKS.inc()
        elif event.type == request_events.APPROVED:
            APPROVALS.inc()
        elif event.type in _REQUEST_STATUSES:
            TRANSITION_REQUESTS.labels(_REQUEST_STATUSES[event.type].value).inc()


def auth_refused(reason: str) -> None:
    AUTH_REFUSALS.labels(reason).inc()


def database_error(code: str) -> None:
    DATABASE_ERRORS.labels(code).inc()
