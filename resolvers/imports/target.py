"""What this registry holds of a model being imported: the part the plan compares."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.context import RequestContext
from resolvers.imports.source import ImportedModel
from resolvers.models import locked_model
from storage.queries import aliases, models, tags, versions
from storage.queries.tags import TagOwner
from storage.records import ModelRecord, TagRecord, VersionRecord

# Bound parameters per IN list: far below SQLite's limit, whatever a model holds.
_IDS_PER_STATEMENT = 1000


@dataclass(frozen=True, slots=True)
class TargetState:
    """The model (None: not here yet) and those of its versions numbered as the source's."""

    model: ModelRecord | None = None
    # The highest number the model has given out, deleted versions included.
    counter: int = 0
    tags: Mapping[str, str] = field(default_factory=dict)
    versions: Mapping[int, VersionRecord] = field(default_factory=dict)
    version_tags: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    # alias -> version number
    aliases: Mapping[str, int] = field(default_factory=dict)
    production: VersionRecord | None = None


async def read_target(
    conn: AsyncConnection, ctx: RequestContext, source: ImportedModel, *, lock: bool
) -> TargetState:
    """Read the model's state; with `lock`, hold its row lock first (see `locked_model`)."""
    found = (await models.get_models_by_names(conn, [source.name])).get(source.name)
    if found is None:
        return TargetState()
    model = await locked_model(conn, ctx, source.name) if lock else found
    numbers = [(model.id, v.version) for v in source.versions]
    held = await versions.get_versions_by_number(conn, numbers) if numbers else {}
    by_number = {version: record for (_, version), record in held.items()}
    version_tags: dict[int, list[TagRecord]] = {}
    ids = [r.id for r in held.values()]
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        chunk = ids[start : start + _IDS_PER_STATEMENT]
        version_tags.update(await tags.tags_of(conn, TagOwner.VERSION, chunk))
    model_tags = await tags.tags_of(conn, TagOwner.MODEL, [model.id])
    held_aliases = await aliases.aliases_of_models(conn, [model.id])
    production = await versions.production_versions(conn, [model.id])
    return TargetState(
        model=model,
        counter=await models.version_counter(conn, model.id),
        tags={t.key: t.value for t in model_tags.get(model.id, [])},
        versions=by_number,
        version_tags={
            r.version: {t.key: t.value for t in version_tags.get(r.id, [])} for r in held.values()
        },
        aliases={a.alias: a.version for a in held_aliases.get(model.id, [])},
        production=production.get(model.id),
    )
