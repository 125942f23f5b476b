"""MLflow's JSON (registered models, model versions) in this registry's terms."""

from datetime import UTC, datetime
from typing import Any

from resolvers.imports.source import ImportedModel, ImportedVersion
from storage.enums import Stage

# MLflow's spelling of each stage (`current_stage`).
STAGES = {
    "None": Stage.NONE,
    "Staging": Stage.STAGING,
    "Production": Stage.PRODUCTION,
    "Archived": Stage.ARCHIVED,
}


class UnreadableModel(Exception):
    """MLflow answered something about this model that cannot be imported as it is."""


def imported_model(model: dict[str, Any], versions: list[dict[str, Any]]) -> ImportedModel:
    try:
        return ImportedModel(
            name=str(model["name"]),
            description=str(model.get("description") or ""),
            created_at=_time(model.get("creation_timestamp")),
            tags=_tags(model),
            aliases=tuple((str(a["alias"]), int(a["version"])) for a in model.get("aliases") or []),
            versions=tuple(sorted((_version(v) for v in versions), key=lambda v: v.version)),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise UnreadableModel(f"MLflow's answer lacks or garbles a field: {error!r}") from error


def _version(version: dict[str, Any]) -> ImportedVersion:
    stage = version.get("current_stage") or "None"
    if stage not in STAGES:
        raise UnreadableModel(f"version {version.get('version')} is in an unknown stage {stage!r}")
    return ImportedVersion(
        version=int(version["version"]),
        source=str(version.get("source") or ""),
        # MLflow answers "" for a version registered without a run.
        run_id=str(version.get("run_id") or "") or None,
        description=str(version.get("description") or ""),
        stage=STAGES[stage],
        created_at=_time(version.get("creation_timestamp")),
        tags=_tags(version),
        logged_model_id=str(version.get("model_id") or "") or None,
    )


def _tags(owner: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((str(t["key"]), str(t.get("value") or "")) for t in owner.get("tags") or [])


def _time(milliseconds: object) -> datetime:
    """MLflow's epoch milliseconds (a number, or a string of one: int64 in JSON)."""
    return datetime.fromtimestamp(int(str(milliseconds)) / 1000, tz=UTC)
