"""Plain immutable rows handed from storage to the layers above."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.enums import (
    AliasChangeCause,
    ChangeCause,
    CheckStatus,
    RequestStatus,
    ReviewKind,
    Role,
    Stage,
)


@dataclass(frozen=True, slots=True)
class ModelRecord:
    id: int
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str


@dataclass(frozen=True, slots=True)
class VersionRecord:
    id: int
    model_id: int
    version: int
    stage: Stage
    source: str
    run_id: str | None
    digest: str | None
    description: str
    metrics: dict[str, float]
    params: dict[str, str]
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str
    logged_model_id: str | None = None
    run_link: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    id: int
    model_id: int
    version: int
    from_stage: Stage
    to_stage: Stage
    cause: ChangeCause
    actor: str
    comment: str | None
    created_at: datetime
    override_reason: str | None = None


@dataclass(frozen=True, slots=True)
class TagRecord:
    owner_id: int
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class AliasRecord:
    model_id: int
    alias: str
    version_id: int
    version: int


@dataclass(frozen=True, slots=True)
class AliasHistoryRecord:
    id: int
    model_id: int
    alias: str
    from_version: int | None
    to_version: int | None
    cause: AliasChangeCause
    actor: str
    comment: str | None
    override_reason: str | None
    transition_request_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    id: int
    url: str
    event_types: list[str]
    model_names: list[str]
    stages: list[str]
    description: str
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    active: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    message_id: str
    webhook_id: int
    event_id: int
    event_type: str
    model_name: str | None
    sequence: int | None
    status: str
    attempt_count: int
    next_attempt_at: datetime
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    id: int
    delivery_id: int
    attempted_at: datetime
    status_code: int | None
    duration_ms: float
    error: str | None
    response_body: str | None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: int
    name: str
    prefix: str
    role: Role
    model_patterns: list[str]
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """What a transition into `stage` needs; `model_id` None is the global policy."""

    model_id: int | None
    stage: Stage
    required_approvals: int
    required_checks: list[str]
    updated_at: datetime | None
    updated_by: str | None
    require_model_card: bool = False


@dataclass(frozen=True, slots=True)
class AliasPolicyRecord:
    """What moving or deleting `alias` needs; `model_id` None is the global policy."""

    model_id: int | None
    alias: str
    required_approvals: int
    required_checks: list[str]
    role: Role
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class TransitionRequestRecord:
    """A request for a stage (`to_stage`) or for an alias (`alias`), never both."""

    id: int
    model_id: int
    version: int
    from_stage: Stage | None
    to_stage: Stage | None
    archive_existing: bool
    status: RequestStatus
    comment: str | None
    requested_by: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    alias: str | None = None
    # Where the alias pointed when requested (None: it did not exist).
    alias_from_version: int | None = None
    # Delete the alias (which points at `version`) instead of moving it there.
    removes_alias: bool = False


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    id: int
    request_id: int
    kind: ReviewKind
    actor: str
    comment: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CheckReportRecord:
    id: int
    request_id: int
    name: str
    status: CheckStatus
    summary: str | None
    details_url: str | None
    reported_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    created_at: datetime
    actor: str
    action: str
    model_name: str | None
    target: str | None
    input: dict[str, Any]
    result: str
    message: str | None
    request_id: str
    client_address: str | None


def event_data(data: dict[str, Any], sequence: int | None) -> dict[str, Any]:
    """An event's `data` as consumers get it: with its model's `sequence` number.

    The number is kept in the `sequence` column only (the database assigns it
    as the row is inserted, see migration 0011); events written before that
    also have it in `data`, with the same value.
    """
    if sequence is None or data.get("sequence") == sequence:
        return data
    return {**data, "sequence": sequence}


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One entry of the event log; (xid, id) is its place in log order."""

    id: int
    xid: int
    type: str
    model_name: str | None
    sequence: int | None
    version: int | None
    stage: str | None
    actor: str | None
    data: dict[str, Any]
    created_at: datetime

    @property
    def position(self) -> tuple[int, int]:
        return (self.xid, self.id)


@dataclass(frozen=True, slots=True)
class CardRevisionRecord:
    """One change of a version's model card: the text after it and before it (None: no card)."""

    id: int
    version_id: int
    model_card: str | None
    previous_model_card: str | None
    actor: str
    created_at: datetime
