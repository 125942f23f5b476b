"""Registry records written as MLflow's JSON messages (model_registry.proto).

Versions are strings, times are milliseconds since the epoch, stages are
spelled as MLflow spells them (`None`, `Staging`, ...), and every version is
READY: modelreg registers metadata, never copies artifacts, so the client
never has to poll. Tags and aliases of many records load in one batch each.
"""

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from resolvers.context import RequestContext
from resolvers.latest_versions import latest_of_models
from storage.enums import Stage
from storage.queries.version_labels import VersionLabels
from storage.records import ModelRecord, VersionRecord

STAGE_NAMES = {
    Stage.NONE: "None",
    Stage.STAGING: "Staging",
    Stage.PRODUCTION: "Production",
    Stage.ARCHIVED: "Archived",
}
READY = "READY"


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _version(model_name: str, record: VersionRecord, labels: VersionLabels) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": model_name,
        "version": str(record.version),
        "creation_timestamp": millis(record.created_at),
        "last_updated_timestamp": millis(record.updated_at),
        "user_id": record.created_by,
        "current_stage": STAGE_NAMES[record.stage],
        "description": record.description,
        "source": record.source,
        "status": READY,
        "tags": [{"key": key, "value": value} for key, value in labels.tags],
        "aliases": labels.aliases,
        "model_params": [{"name": k, "value": v} for k, v in sorted(record.params.items())],
        "model_metrics": [{"key": k, "value": v} for k, v in sorted(record.metrics.items())],
    }
    for field, value in (
        ("run_id", record.run_id),
        ("run_link", record.run_link),
        ("model_id", record.logged_model_id),
    ):
        if value is not None:
            found[field] = value
    return found


async def model_versions(
    ctx: RequestContext, found: Sequence[tuple[str, VersionRecord]]
) -> list[dict[str, Any]]:
    """Versions (with their model's name) as MLflow ModelVersion messages."""
    labels = await asyncio.gather(
        *(ctx.loaders.version_labels.load(record.id) for _, record in found)
    )
    return [_version(name, record, labels[i]) for i, (name, record) in enumerate(found)]


async def model_version(ctx: RequestContext, name: str, record: VersionRecord) -> dict[str, Any]:
    (found,) = await model_versions(ctx, [(name, record)])
    return found


async def registered_models(
    ctx: RequestContext, records: Sequence[ModelRecord]
) -> list[dict[str, Any]]:
    """Models as MLflow RegisteredModel messages, with their latest version per stage."""
    ids = [record.id for record in records]
    latest, tags, aliases = await asyncio.gather(
        latest_of_models(ctx, ids),
        asyncio.gather(*(ctx.loaders.model_tags.load(i) for i in ids)),
        asyncio.gather(*(ctx.loaders.model_aliases.load(i) for i in ids)),
    )
    versions = await model_versions(
        ctx, [(record.name, v) for record in records for v in latest[record.id]]
    )
    by_model: dict[str, list[dict[str, Any]]] = {record.name: [] for record in records}
    for version in versions:
        by_model[version["name"]].append(version)
    return [
        {
            "name": record.name,
            "creation_timestamp": millis(record.created_at),
            "last_updated_timestamp": millis(record.updated_at),
            "user_id": record.created_by,
            "description": record.description,
            "latest_versions": by_model[record.name],
            "tags": [{"key": tag.key, "value": tag.value} for tag in tags[i]],
            "aliases": [
                {"alias": alias.alias, "version": str(alias.version)} for alias in aliases[i]
            ],
        }
        for i, record in enumerate(records)
    ]


async def registered_model(ctx: RequestContext, record: ModelRecord) -> dict[str, Any]:
    (found,) = await registered_models(ctx, [record])
    return found
