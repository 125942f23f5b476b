"""Which version was in PRODUCTION, or held an alias, at a point in time.

Answered from the stage history and the alias history (storage/queries/history_at.py).
Only PRODUCTION has one version at a time; the other stages hold several, so
asking which one held them is refused. A version that held the stage or
alias at that time but has been deleted since cannot be returned: that is a
NOT_FOUND naming it (with `deletedAt` when known), never a silent null.
"""

from dataclasses import dataclass
from datetime import datetime

from resolvers import validation
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, NotFound
from storage.enums import Stage
from storage.records import ModelRecord, VersionRecord
from webhooks.payloads import timestamp


@dataclass(frozen=True, slots=True)
class Held:
    """What to look up: PRODUCTION (alias None) or an alias."""

    alias: str | None = None

    def describe(self) -> str:
        return f"alias {self.alias!r}" if self.alias is not None else Stage.PRODUCTION.value


def held_thing(stage: Stage | None, alias: str | None) -> Held:
    """Exactly one of a stage (PRODUCTION) and an alias, else BAD_USER_INPUT."""
    if (stage is None) == (alias is None):
        raise BadUserInput("give exactly one of stage and alias", field="stage")
    if alias is not None:
        return Held(validation.alias_name(alias))
    if stage != Stage.PRODUCTION:
        assert stage is not None
        raise only_production(stage, "stage")
    return Held()


def only_production(stage: Stage, field: str) -> BadUserInput:
    return BadUserInput(
        f"{stage.value} can hold several versions at once, so there is no one version that "
        "was in it at a time: ask for PRODUCTION or an alias",
        field=field,
        stage=stage.value,
    )


def moment(at: datetime) -> datetime:
    """`at` in UTC (a time without a zone is refused)."""
    return validation.utc_time(at, "at")


async def version_at(
    ctx: RequestContext, model: ModelRecord, held: Held, at: datetime
) -> VersionRecord | None:
    """The version that held PRODUCTION or the alias at `at` (UTC); None if none did.

    Changes made at `at` itself count as done. Batched across models.
    """
    if at < model.created_at:
        return None
    found = await ctx.loaders.held_at.load((model.id, held.alias, at))
    if found.version is None:
        return None
    if any(moved is not None and moved <= at for moved in (found.left_at, found.deleted_at)):
        return None
    record = await ctx.loaders.version_by_model_id.load((model.id, found.version))
    if record is None:
        deleted = timestamp(found.deleted_at) if found.deleted_at is not None else None
        raise NotFound(
            f"version {found.version} of {model.name!r} held {held.describe()} at "
            f"{timestamp(at)} but has been deleted since",
            model=model.name,
            version=found.version,
            deletedAt=deleted,
        )
    return record
