"""A model as another registry holds it, in this registry's terms (stages, ints, tuples)."""

from dataclasses import dataclass, field
from datetime import datetime

from resolvers import limits, validation
from resolvers.errors import BadUserInput
from storage.enums import Stage


@dataclass(frozen=True, slots=True)
class ImportedVersion:
    version: int
    source: str
    run_id: str | None
    description: str
    stage: Stage
    created_at: datetime
    tags: tuple[tuple[str, str], ...] = ()
    # MLflow 3's logged-model id (`m-...`); None for versions logged without one.
    logged_model_id: str | None = None
    # The tracking server's link to the run: copied when the version is created.
    run_link: str | None = None


@dataclass(frozen=True, slots=True)
class ImportedModel:
    name: str
    description: str
    created_at: datetime
    tags: tuple[tuple[str, str], ...] = ()
    # alias -> version number
    aliases: tuple[tuple[str, int], ...] = ()
    versions: tuple[ImportedVersion, ...] = field(default=())


def checked(model: ImportedModel) -> ImportedModel:
    """The model if every part passes the rules GraphQL applies (BAD_USER_INPUT if not)."""
    validation.model_name(model.name)
    validation.text(model.description, "description", validation.DESCRIPTION_MAX)
    _checked_tags(model.tags)
    for alias, number in model.aliases:
        validation.alias_name(alias)
        validation.version_number(number)
    limits.at_most(len(model.aliases), limits.ALIASES_PER_MODEL, "aliases per model", "alias")
    for version in model.versions:
        try:
            validation.version_number(version.version)
            validation.text(version.source, "source", validation.SOURCE_MAX, required=True)
            validation.text(version.run_id, "runId", validation.RUN_ID_MAX)
            validation.text(version.logged_model_id, "modelId", validation.RUN_ID_MAX)
            validation.text(version.run_link, "runLink", validation.SOURCE_MAX)
            validation.text(version.description, "description", validation.DESCRIPTION_MAX)
            _checked_tags(version.tags)
        except BadUserInput as error:
            raise BadUserInput(
                f"version {version.version}: {error.message}",
                version=version.version,
                **error.details,
            ) from error
    return model


def _checked_tags(tags: tuple[tuple[str, str], ...]) -> None:
    validation.entries(tags, "tags", validation.TAG_VALUE_MAX)
    limits.at_most(len(tags), limits.TAGS_PER_OBJECT, "tags per model or version", "tags")
