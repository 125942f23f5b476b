"""Root mutation fields: each takes one `input` and returns a payload."""

import strawberry

from resolvers import aliases, limits, models, stages, tags, versions
from resolvers.aliases import Override
from resolvers.model_cards import UNCHANGED
from resolvers.versions import NewVersion
from schema import inputs, payloads
from schema.policy_fields import PolicyMutation
from schema.request_fields import RequestMutation
from schema.token_fields import TokenMutation
from schema.types import Alias, Ctx, ModelVersion, RegisteredModel, Tag
from schema.webhook_fields import WebhookMutation


def _pairs(entries: list[inputs.TagInput] | list[inputs.ParamInput]) -> list[tuple[str, str]]:
    return [(entry.key, entry.value) for entry in entries]


@strawberry.type
class Mutation(WebhookMutation, TokenMutation, PolicyMutation, RequestMutation):
    @strawberry.mutation
    async def create_model(
        self, info: Ctx, input: inputs.CreateModelInput
    ) -> payloads.CreateModelPayload:
        record = await models.create_model(
            info.context, name=input.name, description=input.description, tags_=_pairs(input.tags)
        )
        return payloads.CreateModelPayload(model=RegisteredModel.of(record))

    @strawberry.mutation(description="Register a version (MLflow register_model semantics).")
    async def create_model_version(
        self, info: Ctx, input: inputs.CreateModelVersionInput
    ) -> payloads.CreateModelVersionPayload:
        record = await versions.create_version(
            info.context,
            NewVersion(
                model_name=input.model_name,
                source=input.source,
                run_id=input.run_id,
                digest=input.digest,
                logged_model_id=input.model_id,
                run_link=input.run_link,
                description=input.description,
                tags=_pairs(input.tags),
                metrics=[(m.key, m.value) for m in input.metrics],
                params=_pairs(input.params),
                model_card=input.model_card,
            ),
        )
        return payloads.CreateModelVersionPayload(model_version=ModelVersion.of(record))

    @strawberry.mutation
    async def transition_stage(
        self, info: Ctx, input: inputs.TransitionStageInput
    ) -> payloads.TransitionStagePayload:
        result = await stages.transition_stage(
            info.context,
            name=input.model_name,
            version=input.version,
            stage=input.stage,
            archive_existing=input.archive_existing,
            comment=input.comment,
            force=input.force,
            reason=input.reason,
        )
        return payloads.TransitionStagePayload(
            model_version=ModelVersion.of(result.version),
            archived=[ModelVersion.of(v) for v in result.archived[: limits.LISTED_ARCHIVED]],
        )

    @strawberry.mutation(description="Put the previous (or a given) version back in PRODUCTION.")
    async def rollback(self, info: Ctx, input: inputs.RollbackInput) -> payloads.RollbackPayload:
        result = await stages.rollback(
            info.context, name=input.model_name, to_version=input.to_version, comment=input.comment
        )
        return payloads.RollbackPayload(
            restored=ModelVersion.of(result.restored), demoted=ModelVersion.of(result.demoted)
        )

    @strawberry.mutation
    async def set_tag(self, info: Ctx, input: inputs.SetTagInput) -> payloads.SetTagPayload:
        change = await tags.set_tag(
            info.context,
            name=input.model_name,
            version=input.version,
            key=input.key,
            value=input.value,
        )
        return payloads.SetTagPayload(
            model=RegisteredModel.of(change.model),
            model_version=ModelVersion.of(change.version) if change.version else None,
            tag=Tag.of(change.tag),
        )

    @strawberry.mutation
    async def delete_tag(
        self, info: Ctx, input: inputs.DeleteTagInput
    ) -> payloads.DeleteTagPayload:
        change = await tags.delete_tag(
            info.context, name=input.model_name, version=input.version, key=input.key
        )
        return payloads.DeleteTagPayload(
            model=RegisteredModel.of(change.model),
            model_version=ModelVersion.of(change.version) if change.version else None,
            key=change.tag.key,
        )

    @strawberry.mutation(
        description="Point an alias at a version, moving it if it exists. A protected alias "
        "moves through requestTransition (or an admin force)."
    )
    async def set_alias(self, info: Ctx, input: inputs.SetAliasInput) -> payloads.SetAliasPayload:
        change = await aliases.set_alias(
            info.context,
            name=input.model_name,
            alias=input.alias,
            version=input.version,
            override=Override(input.comment, input.force, input.reason),
        )
        return payloads.SetAliasPayload(
            alias=Alias.of(change.alias), previous_version=change.previous_version
        )

    @strawberry.mutation
    async def delete_alias(
        self, info: Ctx, input: inputs.DeleteAliasInput
    ) -> payloads.DeleteAliasPayload:
        change = await aliases.delete_alias(
            info.context,
            name=input.model_name,
            alias=input.alias,
            override=Override(input.comment, input.force, input.reason),
        )
        return payloads.DeleteAliasPayload(
            model=RegisteredModel.of(change.model),
            alias=change.alias.alias,
            version=change.alias.version,
        )

    @strawberry.mutation
    async def update_model(
        self, info: Ctx, input: inputs.UpdateModelInput
    ) -> payloads.UpdateModelPayload:
        record = await models.update_model(
            info.context, name=input.name, description=input.description
        )
        return payloads.UpdateModelPayload(model=RegisteredModel.of(record))

    @strawberry.mutation(
        description="Only the description and the model card can change; the rest is immutable."
    )
    async def update_model_version(
        self, info: Ctx, input: inputs.UpdateModelVersionInput
    ) -> payloads.UpdateModelVersionPayload:
        card = input.model_card
        record = await versions.update_version(
            info.context,
            name=input.model_name,
            version=input.version,
            description=input.description,
            model_card=UNCHANGED if card is strawberry.UNSET else card,
        )
        return payloads.UpdateModelVersionPayload(model_version=ModelVersion.of(record))

    @strawberry.mutation(description="Delete a model with all its versions, tags and history.")
    async def delete_model(
        self, info: Ctx, input: inputs.DeleteModelInput
    ) -> payloads.DeleteModelPayload:
        record = await models.delete_model(info.context, name=input.name)
        return payloads.DeleteModelPayload(name=record.name)

    @strawberry.mutation(description="Delete a version; its number is never reused.")
    async def delete_model_version(
        self, info: Ctx, input: inputs.DeleteModelVersionInput
    ) -> payloads.DeleteModelVersionPayload:
        record = await versions.delete_version(
            info.context, name=input.model_name, version=input.version
        )
        return payloads.DeleteModelVersionPayload(
            model_name=input.model_name, version=record.version
        )
