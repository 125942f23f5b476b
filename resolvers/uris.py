"""`models:/` URIs, as MLflow users write them, resolved to a version."""

import re
from dataclasses import dataclass
from datetime import datetime

from resolvers import history_at, validation
from resolvers.aliases import version_of_alias
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, NotFound
from resolvers.models import get_model
from resolvers.versions import get_version
from storage.enums import Stage
from storage.pagination import PageRequest
from storage.records import VersionRecord
from webhooks.payloads import timestamp

SCHEME = "models:/"
# ASCII digits only: `str.isdigit` also takes '³' and U+0661 (an Arabic-Indic 1).
_DIGITS = re.compile(r"[0-9]+")
# The scheme, a name and an alias (the longest suffix), each at most 256 characters.
URI_MAX = len(SCHEME) + 2 * validation.MODEL_NAME_MAX + 1
_STAGE_NAMES = {stage.value.lower(): stage for stage in Stage}


@dataclass(frozen=True, slots=True)
class ModelUri:
    name: str
    version: int | None = None
    stage: Stage | None = None
    alias: str | None = None
    latest: bool = False


def parse_model_uri(uri: str) -> ModelUri:
    """Parse `models:/NAME/3`, `models:/NAME/Production`, `models:/NAME@alias`, `.../latest`.

    Split as MLflow splits (mlflow.store.artifact.utils.models._parse_model_uri):
    at the one '/' after the name first, so a name holding '@' works with a
    suffix (`models:/a@b/1`); without a suffix the last '@' starts the alias.
    """
    if len(uri) > URI_MAX:
        raise BadUserInput(f"uri is longer than {URI_MAX} characters", field="uri", max=URI_MAX)
    validation.characters(uri, "uri", prose=False)
    if not uri.startswith(SCHEME):
        raise _malformed(uri)
    rest = uri[len(SCHEME) :]
    name, slash, suffix = rest.partition("/")
    if not slash:
        if "@" not in rest:
            raise _malformed(uri)  # models:/m-<id>: a logged model, which no registry holds
        name, _, alias = rest.rpartition("@")
        return ModelUri(name=_name(name, uri), alias=validation.alias_name(alias))
    if not suffix or "/" in suffix:
        raise _malformed(uri)
    name = _name(name, uri)
    if _DIGITS.fullmatch(suffix):
        try:
            number = validation.ascii_integer(suffix, "uri", validation.VERSION_MAX)
            return ModelUri(name=name, version=validation.version_number(number, "uri"))
        except BadUserInput as error:
            raise BadUserInput(
                f"model URI {uri!r}: the version must be from 1 to {validation.VERSION_MAX}",
                field="uri",
            ) from error
    if suffix.lower() == "latest":
        return ModelUri(name=name, latest=True)
    stage = _STAGE_NAMES.get(suffix.lower())
    if stage is None:
        raise BadUserInput(
            f"{suffix!r} in {uri!r} is not a version number, stage, or 'latest'", field="uri"
        )
    return ModelUri(name=name, stage=stage)


def _name(name: str, uri: str) -> str:
    try:
        return validation.model_name(name)
    except BadUserInput as error:
        raise BadUserInput(f"model URI {uri!r}: {error.message}", field="uri") from error


def _malformed(uri: str) -> BadUserInput:
    return BadUserInput(
        f"malformed model URI {uri!r}: expected models:/NAME/VERSION, models:/NAME/STAGE, "
        "models:/NAME/latest or models:/NAME@ALIAS",
        field="uri",
    )


async def resolve_model_uri(
    ctx: RequestContext, uri: str, at: datetime | None = None
) -> VersionRecord:
    """The version `uri` names now, or at the time `at` (see `resolve_at`)."""
    parsed = parse_model_uri(uri)
    if at is not None:
        return await resolve_at(ctx, parsed, uri, history_at.moment(at))
    if parsed.version is not None:
        return await get_version(ctx, parsed.name, parsed.version)
    model = await get_model(ctx, parsed.name)
    if parsed.alias is not None:
        return await version_of_alias(ctx, model, parsed.alias)
    if parsed.stage == Stage.PRODUCTION:
        found = await ctx.loaders.production_version.load(model.id)
    else:
        # `latest` is the newest version in any stage (stage None), as in MLflow.
        newest = PageRequest(first=1, descending=True)
        rows = await ctx.loaders.version_page.load((model.id, parsed.stage, newest))
        found = rows[0] if rows else None
    if found is None:
        raise NotFound(f"{uri!r} matches no version", uri=uri)
    return found


async def resolve_at(
    ctx: RequestContext, parsed: ModelUri, uri: str, at: datetime
) -> VersionRecord:
    """What `uri` named at `at`: PRODUCTION and aliases from their history, numbers if they existed.

    `latest` at a past time is refused: versions deleted since would have to
    be counted, and no index answers that without reading the model's versions.
    """
    if parsed.latest:
        raise BadUserInput(
            f"{uri!r}: models:/NAME/latest cannot be resolved at a past time; "
            "use a version number, models:/NAME/Production or models:/NAME@ALIAS",
            field="at",
        )
    if parsed.stage is not None and parsed.stage != Stage.PRODUCTION:
        raise history_at.only_production(parsed.stage, "uri")
    if parsed.version is not None:
        found: VersionRecord | None = await get_version(ctx, parsed.name, parsed.version)
        if found is not None and found.created_at > at:
            found = None
    else:
        model = await get_model(ctx, parsed.name)
        found = await history_at.version_at(ctx, model, history_at.Held(parsed.alias), at)
    if found is None:
        moment = timestamp(at)
        raise NotFound(f"{uri!r} matched no version at {moment}", uri=uri, at=moment)
    return found
