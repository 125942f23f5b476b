"""The events each change announces to webhooks (see webhooks/events.py)."""

from typing import Any

from storage.enums import AliasChangeCause, ChangeCause, Stage
from storage.records import ModelRecord, VersionRecord
from webhooks.events import Event
from webhooks.payloads import model_json, version_json


def model_event(kind: str, model: ModelRecord) -> Event:
    """`model.created`, `model.updated` or `model.deleted`."""
    return Event(f"model.{kind}", {"model": model_json(model)})


def version_event(kind: str, model: ModelRecord, version: VersionRecord, **extra: Any) -> Event:
    """`model_version.created`, `.updated` or `.deleted`; `extra` adds `modelCard` or `changes`."""
    return Event(
        f"model_version.{kind}",
        {"model": model_json(model), "modelVersion": version_json(model.name, version), **extra},
    )


def stage_changed(
    model: ModelRecord,
    before: VersionRecord,
    after: VersionRecord,
    *,
    cause: ChangeCause,
    actor: str,
    comment: str | None,
    override_reason: str | None = None,
) -> Event:
    """A version moved; `overrideReason` is set when an admin forced it past the policy."""
    return Event(
        "model_version.stage_changed",
        {
            "model": model_json(model),
            "modelVersion": version_json(model.name, after),
            "fromStage": before.stage.value,
            "toStage": after.stage.value,
            "cause": cause.name,  # spelled as the GraphQL enum
            "actor": actor,
            "comment": comment,
            "overrideReason": override_reason,
        },
        stage=after.stage.value,
    )


def rolled_back(
    model: ModelRecord,
    restored: VersionRecord,
    demoted: VersionRecord,
    *,
    actor: str,
    comment: str | None,
) -> Event:
    return Event(
        "model.rolled_back",
        {
            "model": model_json(model),
            "restored": version_json(model.name, restored),
            "demoted": version_json(model.name, demoted),
            "actor": actor,
            "comment": comment,
        },
        stage=Stage.PRODUCTION.value,
    )


def tag_event(
    kind: str, model: ModelRecord, version: VersionRecord | None, key: str, value: str | None
) -> Event:
    """`tag.set` or `tag.deleted`, on the model or on one of its versions."""
    return Event(
        f"tag.{kind}",
        {
            "model": model_json(model),
            "modelVersion": version_json(model.name, version) if version is not None else None,
            "key": key,
            "value": value,
        },
    )


def alias_event(
    kind: str,
    model: ModelRecord,
    alias: str,
    version: int,
    previous_version: int | None,
    *,
    cause: AliasChangeCause,
    actor: str,
    comment: str | None = None,
    override_reason: str | None = None,
) -> Event:
    """`alias.set` or `alias.deleted` (whose `version` is the one it pointed at).

    `overrideReason` is set when an admin forced the move past the alias policy.
    """
    return Event(
        f"alias.{kind}",
        {
            "model": model_json(model),
            "alias": alias,
            "version": version,
            "previousVersion": previous_version,
            "cause": cause.name,  # spelled as the GraphQL enum
            "actor": actor,
            "comment": comment,
            "overrideReason": override_reason,
        },
    )
