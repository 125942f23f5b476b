"""Mutation payloads: what each mutation returns."""

import strawberry

from schema.types import Alias, ModelVersion, RegisteredModel, Tag


@strawberry.type
class CreateModelPayload:
    model: RegisteredModel


@strawberry.type
class CreateModelVersionPayload:
    model_version: ModelVersion


@strawberry.type
class TransitionStagePayload:
    model_version: ModelVersion
    archived: list[ModelVersion] = strawberry.field(
        description="Versions moved to ARCHIVED by this transition (the first 100)."
    )


@strawberry.type
class RollbackPayload:
    restored: ModelVersion = strawberry.field(description="The version now in PRODUCTION.")
    demoted: ModelVersion = strawberry.field(description="The former PRODUCTION version.")


@strawberry.type
class SetTagPayload:
    model: RegisteredModel
    model_version: ModelVersion | None
    tag: Tag


@strawberry.type
class DeleteTagPayload:
    model: RegisteredModel
    model_version: ModelVersion | None
    key: str


@strawberry.type
class SetAliasPayload:
    alias: Alias
    previous_version: int | None = strawberry.field(
        description="Where the alias pointed before, if it existed."
    )


@strawberry.type
class DeleteAliasPayload:
    model: RegisteredModel
    alias: str
    version: int


@strawberry.type
class UpdateModelPayload:
    model: RegisteredModel


@strawberry.type
class UpdateModelVersionPayload:
    model_version: ModelVersion


@strawberry.type
class DeleteModelPayload:
    name: str


@strawberry.type
class DeleteModelVersionPayload:
    model_name: str
    version: int
