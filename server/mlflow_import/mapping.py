"""MLflow's JSON (registered models, model versions) in this registry's terms."""

import re
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

# MLflow 3's URI of a logged model (`models:/m-<hex id>`), as a version's source.
_LOGGED_MODEL_SOURCE = re.compile(r"models:/(m-[0-9a-f]+)")


class UnreadableModel(Exception):
    """MLflow answered something about this model that cannot be imported as it is."""


def imported_model(model: dict[str, Any], versions: list[dict[str, Any]]) -> ImportedModel:
    """The model with `versions` (its search results), if they are plausibly all of them."""
    try:
        _check_complete(model, versions)
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


def _check_complete(model: dict[str, Any], versions: list[dict[str, Any]]) -> None:
    """A search filter that quoted the name wrongly would answer too few versions, silently.

    Each version must be the model's, and the newest version of each stage that
    the model's own record lists (`latest_versions`) must be among them.
    """
    name = model["name"]
    strangers = {str(v.get("name")) for v in versions} - {name}
    numbers = {str(v["version"]) for v in versions}
    missing = {str(v["version"]) for v in model.get("latest_versions") or []} - numbers
    if strangers or missing:
        raise UnreadableModel(
            "MLflow's version search for it answered other models' versions or missed "
            f"some of its own (missing: {', '.join(sorted(missing)) or 'none'})"
        )


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
        logged_model_id=_logged_model_id(version),
        run_link=str(version.get("run_link") or "") or None,
    )


def _logged_model_id(version: dict[str, Any]) -> str | None:
    """The version's `model_id`; MLflow's own server stores none (3.x), so from its source.

    `register_model("models:/m-<id>")`, which is how MLflow 3 registers a logged
    model, sends that id as `model_id`; the source keeps it.
    """
    given = str(version.get("model_id") or "")
    if given:
        return given
    found = _LOGGED_MODEL_SOURCE.fullmatch(str(version.get("source") or ""))
    return found.group(1) if found else None


def _tags(owner: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((str(t["key"]), str(t.get("value") or "")) for t in owner.get("tags") or [])


def _time(milliseconds: object) -> datetime:
    """MLflow's epoch milliseconds (a number, or a string of one: int64 in JSON)."""
    return datetime.fromtimestamp(int(str(milliseconds)) / 1000, tz=UTC)
