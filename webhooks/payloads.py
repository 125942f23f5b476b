"""The `data` of events: the objects a consumer needs to act without calling back.

Field names follow the GraphQL schema (camelCase), timestamps are ISO-8601 UTC.
"""

from datetime import datetime
from typing import Any

from storage.records import ModelRecord, VersionRecord


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
        "description": version.description,
        "metrics": version.metrics,
        "params": version.params,
        "uri": f"models:/{model_name}/{version.version}",
        "createdAt": _time(version.created_at),
        "updatedAt": _time(version.updated_at),
        "createdBy": version.created_by,
        "updatedBy": version.updated_by,
    }


def timestamp(value: datetime) -> str:
    return _time(value)
