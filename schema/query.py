"""Root query fields."""

from datetime import datetime

import strawberry

from resolvers import comparison, models, uris, versions
from schema.audit_fields import AuditQuery
from schema.comparison_types import VersionComparison
from schema.connections import Connection, connection
from schema.enums import OrderDirection
from schema.event_fields import EventQuery
from schema.inputs import ModelFilter, ModelOrder
from schema.policy_fields import PolicyQuery
from schema.request_fields import RequestQuery
from schema.selection import selects_field
from schema.token_fields import TokenQuery
from schema.types import Ctx, ModelVersion, RegisteredModel
from schema.webhook_fields import WebhookQuery
from storage.queries.models import ModelFilter as StorageModelFilter
from storage.queries.models import ModelOrder as StorageModelOrder


@strawberry.type
class Query(WebhookQuery, TokenQuery, AuditQuery, PolicyQuery, RequestQuery, EventQuery):
    @strawberry.field(description="A model by name; NOT_FOUND if there is none.")
    async def model(self, info: Ctx, name: str) -> RegisteredModel:
        wanted = selects_field(info, "productionVersion")
        return RegisteredModel.of(
            await models.get_model(info.context, name, with_production=wanted)
        )

    @strawberry.field(description="Models, filtered and sorted (default: by name).")
    async def models(
        self,
        info: Ctx,
        first: int | None = 20,
        after: str | None = None,
        filter: ModelFilter | None = None,
        order_by: ModelOrder | None = None,
    ) -> Connection[RegisteredModel]:
        model_filter = filter or ModelFilter()
        order = order_by or ModelOrder()
        page = await models.list_models(
            info.context,
            model_filter=StorageModelFilter(
                name_prefix=model_filter.name_starts_with,
                name_contains=model_filter.name_contains,
                tags=[(t.key, t.value) for t in model_filter.tags],
                has_version_in_stage=model_filter.has_version_in_stage,
            ),
            order=StorageModelOrder(order.field.value),
            descending=order.direction == OrderDirection.DESC,
            first=first,
            after=after,
        )
        return connection(page, RegisteredModel.of, after=after)

    @strawberry.field(description="One version of a model; NOT_FOUND if there is none.")
    async def model_version(self, info: Ctx, name: str, version: int) -> ModelVersion:
        return ModelVersion.of(await versions.get_version(info.context, name, version))

    @strawberry.field(
        description="Resolve models:/NAME/VERSION, models:/NAME/STAGE, models:/NAME/latest "
        "or models:/NAME@ALIAS (stage names are case-insensitive). With `at`: what the URI "
        "named at that time (as RegisteredModel.versionAt; a version number if it existed "
        "then), for /Production, @ALIAS and numbers only; NOT_FOUND when nothing matched then."
    )
    async def resolve_model_uri(
        self, info: Ctx, uri: str, at: datetime | None = None
    ) -> ModelVersion:
        return ModelVersion.of(await uris.resolve_model_uri(info.context, uri, at))

    @strawberry.field(
        description="Compare versions of a model (at most 10): each metric and param, the "
        "value of each version and its delta against `baseline` (default: the current "
        "PRODUCTION version). NOT_FOUND names the versions that do not exist."
    )
    async def compare_model_versions(
        self, info: Ctx, name: str, versions: list[int], baseline: int | None = None
    ) -> VersionComparison:
        found = await comparison.compare_versions(info.context, name, versions, baseline)
        return VersionComparison.of(found)
