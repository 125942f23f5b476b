"""The `data` of events: the objects a consumer needs to act without calling back.

Field names follow the GraphQL schema (camelCase), timestamps are ISO-8601 UTC.
"""

import hashlib
import json
from datetime import datetime
from typing import Any

from storage.enums import Stage
from storage.records import (
    CheckReportRecord,
    ModelRecord,
    ReviewRecord,
    TransitionRequestRecord,
    VersionRecord,
)


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def model_json(model: ModelRecord) -> dict[str, Any]:
    return {
        "name": model.name,
        "description": model.description,
        "createdAt": _time(model.created_at),
        "updatedAt": _time(model.updated_at),
        "createdBy": model.created_by,
        "updatedBy": model.updated_by,
    }


def version_json(model_name: str, version: VersionRecord) -> dict[str, Any]:
    return {
        "modelName": model_name,
        "version": version.version,
        "stage": version.stage.value,
        "source": version.source,
        "runId": version.run_id,
        "digest": version.digest,
        "modelId": version.logged_model_id,
        "runLink": version.run_link,
        "description": version.description,
        "metrics": version.metrics,
        "params": version.params,
        "uri": f"models:/{model_name}/{version.version}",
        "createdAt": _time(version.created_at),
        "updatedAt": _time(version.updated_at),
        "createdBy": version.created_by,
        "updatedBy": version.updated_by,
    }


# A model card longer than this (bytes of UTF-8) is sent as its length and
# digest with the GraphQL query that reads it, so event bodies stay small.
CARD_INLINE_BYTES = 16 * 1024


def card_json(model_name: str, version: int, card: str | None) -> dict[str, Any] | None:
    """A model card in event data: its text when small, else null `text` and a `query`.

    `length` counts characters, `bytes` the UTF-8 encoding that `sha256` digests.
    """
    if card is None:
        return None
    encoded = card.encode()
    inline = len(encoded) <= CARD_INLINE_BYTES
    query = (
        f"{{ modelVersion(name: {json.dumps(model_name)}, version: {version}) {{ modelCard }} }}"
    )
    return {
        "text": card if inline else None,
        "length": len(card),
        "bytes": len(encoded),
        "sha256": "sha256:" + hashlib.sha256(encoded).hexdigest(),
        "query": None if inline else query,
    }


def timestamp(value: datetime) -> str:
    return _time(value)


def _maybe_time(value: datetime | None) -> str | None:
    return _time(value) if value is not None else None


def _maybe_stage(stage: Stage | None) -> str | None:
    return stage.value if stage is not None else None


def request_json(model_name: str, request: TransitionRequestRecord) -> dict[str, Any]:
    return {
        "id": str(request.id),
        "modelName": model_name,
        "version": request.version,
        "fromStage": _maybe_stage(request.from_stage),
        "toStage": _maybe_stage(request.to_stage),
        "archiveExisting": request.archive_existing,
        "alias": request.alias,
        "aliasFromVersion": request.alias_from_version,
        "deleteAlias": request.removes_alias,
        "status": request.status.value,
        "comment": request.comment,
        "requestedBy": request.requested_by,
        "createdAt": _time(request.created_at),
        "updatedAt": _time(request.updated_at),
        "resolvedAt": _maybe_time(request.resolved_at),
        "resolvedBy": request.resolved_by,
    }


def review_json(review: ReviewRecord) -> dict[str, Any]:
    return {
        "kind": review.kind.value,
        "actor": review.actor,
        "comment": review.comment,
        "createdAt": _time(review.created_at),
    }


def check_json(report: CheckReportRecord) -> dict[str, Any]:
    return {
        "name": report.name,
        "status": report.status.value,
        "summary": report.summary,
        "detailsUrl": report.details_url,
        "reportedBy": report.reported_by,
        "createdAt": _time(report.created_at),
    }
