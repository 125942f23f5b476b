"""The events of transition requests and check reports (see webhooks/events.py).

Each carries the request, the model, the version (None once deleted) and the
actor; `stage` is the request's target stage, for subscriptions' stage filters,
and `alias` the alias a request for an alias moves or deletes.
"""

from typing import Any

from storage.records import (
    CheckReportRecord,
    ModelRecord,
    ReviewRecord,
    TransitionRequestRecord,
    VersionRecord,
)
from webhooks.events import Event
from webhooks.payloads import (
    card_json,
    check_json,
    model_json,
    request_json,
    review_json,
    version_json,
)

CREATED = "transition_request.created"
APPROVED = "transition_request.approved"
REJECTED = "transition_request.rejected"
CANCELLED = "transition_request.cancelled"
COMPLETED = "transition_request.completed"
STALE = "transition_request.stale"
CHECK_REPORTED = "check.reported"


def request_event(
    kind: str,
    model: ModelRecord,
    request: TransitionRequestRecord,
    version: VersionRecord | None,
    *,
    actor: str,
    **extra: Any,
) -> Event:
    """One of the kinds above; `extra` adds `review` or `check`."""
    data = {
        "transitionRequest": request_json(model.name, request),
        "model": model_json(model),
        "modelVersion": version_json(model.name, version) if version is not None else None,
        "actor": actor,
        "alias": request.alias,
        **extra,
    }
    stage = request.to_stage.value if request.to_stage is not None else None
    return Event(kind, data, stage=stage)


def created(
    model: ModelRecord,
    request: TransitionRequestRecord,
    version: VersionRecord,
    card: str | None,
    *,
    actor: str,
) -> Event:
    """`.created`, with the version's model card (see card_json): what a reviewer reads."""
    model_card = card_json(model.name, version.version, card)
    return request_event(CREATED, model, request, version, actor=actor, modelCard=model_card)


def reviewed(
    kind: str,
    model: ModelRecord,
    request: TransitionRequestRecord,
    version: VersionRecord | None,
    review: ReviewRecord,
) -> Event:
    """`.approved` or `.rejected`, with the review."""
    return request_event(
        kind, model, request, version, actor=review.actor, review=review_json(review)
    )


def check_reported(
    model: ModelRecord,
    request: TransitionRequestRecord,
    version: VersionRecord | None,
    report: CheckReportRecord,
) -> Event:
    return request_event(
        CHECK_REPORTED, model, request, version, actor=report.reported_by, check=check_json(report)
    )
