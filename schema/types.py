"""The registry's object types. Thin: fields read a record or call a DataLoader."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from resolvers import alias_history as alias_history_use_cases
from resolvers import history as history_use_cases
from resolvers import history_at as history_at_use_cases
from resolvers import limits
from resolvers import model_cards as card_use_cases
from resolvers import transition_requests as request_use_cases
from resolvers import versions as version_use_cases
from resolvers.context import RequestContext
from schema.connections import Connection, connection
from schema.enums import AliasMoveCause, RequestStatus, Stage, StageChangeCause
from storage.records import (
    AliasHistoryRecord,
    AliasRecord,
    CardRevisionRecord,
    HistoryRecord,
    ModelRecord,
    TagRecord,
    VersionRecord,
)

if TYPE_CHECKING:
    from schema.request_types import TransitionRequest

Ctx = Info[RequestContext, None]


@strawberry.type
class Tag:
    key: str
    value: str

    @staticmethod
    def of(record: TagRecord) -> Tag:
        return Tag(key=record.key, value=record.value)


@strawberry.type
class Metric:
    key: str
    value: float


@strawberry.type
class Param:
    key: str
    value: str


@strawberry.type(description="A registered model: a named line of versions.")
class RegisteredModel:
    _record: strawberry.Private[ModelRecord]
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str

    @staticmethod
    def of(record: ModelRecord) -> RegisteredModel:
        return RegisteredModel(
            _record=record,
            name=record.name,
            description=record.description,
            created_at=record.created_at,
            updated_at=record.updated_at,
            created_by=record.created_by,
            updated_by=record.updated_by,
        )

    @strawberry.field
    async def tags(self, info: Ctx) -> list[Tag]:
        return [Tag.of(t) for t in await info.context.loaders.model_tags.load(self._record.id)]

    @strawberry.field
    async def aliases(self, info: Ctx) -> list[Alias]:
        found = await info.context.loaders.model_aliases.load(self._record.id)
        return [Alias.of(a) for a in found]

    @strawberry.field(description="Versions, newest first; optionally only those in `stage`.")
    async def versions(
        self,
        info: Ctx,
        first: int | None = 20,
        after: str | None = None,
        stage: Stage | None = None,
    ) -> Connection[ModelVersion]:
        page = await version_use_cases.page_of_versions(
            info.context, self._record.id, stage=stage, first=first, after=after
        )
        return connection(page, ModelVersion.of, after=after)

    @strawberry.field(description="The highest-numbered version, in any stage.")
    async def latest_version(self, info: Ctx) -> ModelVersion | None:
        found = await info.context.loaders.latest_version.load(self._record.id)
        return ModelVersion.of(found) if found else None

    @strawberry.field
    async def production_version(self, info: Ctx) -> ModelVersion | None:
        found = await info.context.loaders.production_version.load(self._record.id)
        return ModelVersion.of(found) if found else None

    @strawberry.field(
        description="Versions in STAGING, newest first (at most 100: "
        "`versions(stage: STAGING)` pages through all)."
    )
    async def staging_versions(self, info: Ctx) -> list[ModelVersion]:
        found = await info.context.loaders.staging_versions.load(self._record.id)
        shown = limits.newest_first(found, limits.LISTED_STAGING_VERSIONS)
        return [ModelVersion.of(v) for v in shown]

    @strawberry.field(
        description="The version that was in `stage` (PRODUCTION only: the other stages hold "
        "several versions) or held `alias` at the time `at` (give exactly one of them), from "
        "the stage and alias history; changes made at `at` count. Null when none did, "
        "including before the model existed. NOT_FOUND (with `version` and `deletedAt`) "
        "when the version that did has been deleted since."
    )
    async def version_at(
        self,
        info: Ctx,
        at: datetime,
        stage: Stage | None = None,
        alias: str | None = None,
    ) -> ModelVersion | None:
        held = history_at_use_cases.held_thing(stage, alias)
        moment = history_at_use_cases.moment(at)
        found = await history_at_use_cases.version_at(info.context, self._record, held, moment)
        return ModelVersion.of(found) if found else None

    @strawberry.field(
        description="Every move of the model's aliases (of `alias` only, when given), newest first."
    )
    async def alias_history(
        self,
        info: Ctx,
        first: int | None = 20,
        after: str | None = None,
        alias: str | None = None,
    ) -> Connection[AliasMove]:
        page = await alias_history_use_cases.alias_history(
            info.context, self._record.id, alias=alias, first=first, after=after
        )
        return connection(page, AliasMove.of, after=after)

    @strawberry.field(description="Every stage change of every version, newest first.")
    async def stage_history(
        self, info: Ctx, first: int | None = 20, after: str | None = None
    ) -> Connection[StageTransition]:
        page = await history_use_cases.model_history(
            info.context, self._record.id, first=first, after=after
        )
        return connection(page, StageTransition.of, after=after)


@strawberry.type(description="One registered version of a model.")
class ModelVersion:
    _record: strawberry.Private[VersionRecord]
    version: int
    stage: Stage
    source: str
    run_id: str | None
    digest: str | None = strawberry.field(description="sha256:<hex>, when registered with one.")
    model_id: str | None = strawberry.field(
        description="MLflow 3's logged model id (m-...), when registered from one."
    )
    run_link: str | None = strawberry.field(
        description="A link to the run on the tracking server, when registered with one."
    )
    description: str
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str

    @staticmethod
    def of(record: VersionRecord) -> ModelVersion:
        return ModelVersion(
            _record=record,
            version=record.version,
            stage=record.stage,
            source=record.source,
            run_id=record.run_id,
            digest=record.digest,
            model_id=record.logged_model_id,
            run_link=record.run_link,
            description=record.description,
            created_at=record.created_at,
            updated_at=record.updated_at,
            created_by=record.created_by,
            updated_by=record.updated_by,
        )

    @strawberry.field
    async def model(self, info: Ctx) -> RegisteredModel:
        found = await info.context.loaders.model_by_id.load(self._record.model_id)
        assert found is not None, "a version's model exists while the version does"
        return RegisteredModel.of(found)

    @strawberry.field
    def metrics(self) -> list[Metric]:
        return [Metric(key=k, value=v) for k, v in sorted(self._record.metrics.items())]

    @strawberry.field
    def params(self) -> list[Param]:
        return [Param(key=k, value=v) for k, v in sorted(self._record.params.items())]

    @strawberry.field
    async def tags(self, info: Ctx) -> list[Tag]:
        return [Tag.of(t) for t in await info.context.loaders.version_tags.load(self._record.id)]

    @strawberry.field
    async def aliases(self, info: Ctx) -> list[str]:
        found = await info.context.loaders.version_aliases.load(self._record.id)
        return [a.alias for a in found]

    @strawberry.field(description="This version's stage changes, newest first.")
    async def stage_history(
        self, info: Ctx, first: int | None = 20, after: str | None = None
    ) -> Connection[StageTransition]:
        page = await history_use_cases.version_history(
            info.context, self._record.model_id, self._record.version, first=first, after=after
        )
        return connection(page, StageTransition.of, after=after)

    @strawberry.field(
        description="The model card: Markdown for reviewers (training data, fairness metrics, "
        "known limitations), at most 64 KiB; null when there is none. Render it as untrusted "
        "text: Markdown to sanitised HTML, no raw HTML."
    )
    async def model_card(self, info: Ctx) -> str | None:
        return await info.context.loaders.model_card.load(self._record.id)

    @strawberry.field(
        description="Every change of the model card (who, when, before and after), newest first."
    )
    async def model_card_history(
        self, info: Ctx, first: int | None = 20, after: str | None = None
    ) -> Connection[ModelCardRevision]:
        page = await card_use_cases.card_history(
            info.context, self._record.id, first=first, after=after
        )
        return connection(page, ModelCardRevision.of, after=after)

    @strawberry.field(
        description="Transition requests of this version, newest first (the latest 100)."
    )
    async def transition_requests(
        self, info: Ctx, status: RequestStatus | None = None
    ) -> list[Annotated[TransitionRequest, strawberry.lazy("schema.request_types")]]:
        from schema.request_types import TransitionRequest

        found = await request_use_cases.requests_of_version(
            info.context, self._record.model_id, self._record.version, status
        )
        shown = limits.newest_first(found, limits.LISTED_REQUESTS_OF_VERSION)
        return [TransitionRequest.of(r) for r in shown]


@strawberry.type(description="A movable name for one version of a model.")
class Alias:
    _record: strawberry.Private[AliasRecord]
    alias: str
    version: int

    @staticmethod
    def of(record: AliasRecord) -> Alias:
        return Alias(_record=record, alias=record.alias, version=record.version)

    @strawberry.field
    async def model_version(self, info: Ctx) -> ModelVersion:
        found = await info.context.loaders.version_by_id.load(self._record.version_id)
        assert found is not None, "an alias points at an existing version"
        return ModelVersion.of(found)


@strawberry.type(description="One immutable entry of the stage history.")
class StageTransition:
    _record: strawberry.Private[HistoryRecord]
    version: int
    from_stage: Stage
    to_stage: Stage
    cause: StageChangeCause
    actor: str
    comment: str | None
    override_reason: str | None = strawberry.field(
        description="Set when an admin forced this change past the stage policy."
    )
    created_at: datetime

    @staticmethod
    def of(record: HistoryRecord) -> StageTransition:
        return StageTransition(
            _record=record,
            version=record.version,
            from_stage=record.from_stage,
            to_stage=record.to_stage,
            cause=StageChangeCause(record.cause.value),
            actor=record.actor,
            comment=record.comment,
            override_reason=record.override_reason,
            created_at=record.created_at,
        )

    @strawberry.field(description="The version, unless it has been deleted since.")
    async def model_version(self, info: Ctx) -> ModelVersion | None:
        found = await info.context.loaders.version_by_model_id.load(
            (self._record.model_id, self._record.version)
        )
        return ModelVersion.of(found) if found else None


@strawberry.type(description="One immutable entry of the alias history: an alias moved or went.")
class AliasMove:
    alias: str
    from_version: int | None = strawberry.field(
        description="Where it pointed before; null: it did not exist."
    )
    to_version: int | None = strawberry.field(
        description="Where it points since; null: it was deleted."
    )
    cause: AliasMoveCause
    actor: str
    comment: str | None
    override_reason: str | None = strawberry.field(
        description="Set when an admin forced this move past the alias policy."
    )
    transition_request_id: strawberry.ID | None = strawberry.field(
        description="The request whose approval made this move (cause APPROVAL)."
    )
    created_at: datetime

    @staticmethod
    def of(record: AliasHistoryRecord) -> AliasMove:
        request_id = record.transition_request_id
        return AliasMove(
            alias=record.alias,
            from_version=record.from_version,
            to_version=record.to_version,
            cause=AliasMoveCause(record.cause.value),
            actor=record.actor,
            comment=record.comment,
            override_reason=record.override_reason,
            transition_request_id=strawberry.ID(str(request_id)) if request_id else None,
            created_at=record.created_at,
        )


@strawberry.type(description="One change of a version's model card.")
class ModelCardRevision:
    model_card: str | None = strawberry.field(description="The card after it; null: removed.")
    previous_model_card: str | None = strawberry.field(
        description="The card before it; null: there was none."
    )
    actor: str
    created_at: datetime

    @staticmethod
    def of(record: CardRevisionRecord) -> ModelCardRevision:
        return ModelCardRevision(
            model_card=record.model_card,
            previous_model_card=record.previous_model_card,
            actor=record.actor,
            created_at=record.created_at,
        )
