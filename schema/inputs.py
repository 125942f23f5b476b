"""Mutation inputs and query filters."""

import strawberry

from schema.enums import ModelOrderField, OrderDirection, Stage


@strawberry.input
class TagInput:
    key: str
    value: str


@strawberry.input
class MetricInput:
    key: str
    value: float


@strawberry.input
class ParamInput:
    key: str
    value: str


@strawberry.input
class CreateModelInput:
    name: str
    description: str | None = None
    tags: list[TagInput] = strawberry.field(default_factory=list)


@strawberry.input(description="Registers the next version; creates the model if it is new.")
class CreateModelVersionInput:
    model_name: str
    source: str = strawberry.field(
        description="Where the artifacts are, e.g. s3://bucket/run/model"
    )
    run_id: str | None = None
    digest: str | None = strawberry.field(default=None, description="sha256 of the artifacts")
    model_id: str | None = strawberry.field(
        default=None, description="MLflow 3's logged model id (m-...), stored as given"
    )
    run_link: str | None = strawberry.field(
        default=None, description="A link to the run on the tracking server, stored as given"
    )
    description: str | None = None
    tags: list[TagInput] = strawberry.field(default_factory=list)
    metrics: list[MetricInput] = strawberry.field(default_factory=list)
    params: list[ParamInput] = strawberry.field(default_factory=list)
    model_card: str | None = strawberry.field(
        default=None,
        description="Markdown for reviewers, at most 64 KiB of UTF-8; can change later.",
    )


@strawberry.input
class TransitionStageInput:
    model_name: str
    version: int
    stage: Stage
    archive_existing: bool = strawberry.field(
        default=False,
        description="With STAGING: archive the other STAGING versions. "
        "PRODUCTION always archives the previous PRODUCTION version.",
    )
    comment: str | None = None
    force: bool = strawberry.field(
        default=False,
        description="Admins: go past a stage policy that wants approvals or checks. "
        "Needs `reason`; the history and the webhook event carry it.",
    )
    reason: str | None = strawberry.field(default=None, description="Why `force` was needed.")


@strawberry.input
class RollbackInput:
    model_name: str
    to_version: int | None = strawberry.field(
        default=None, description="Default: the version that was in PRODUCTION before."
    )
    comment: str | None = None


@strawberry.input(description="Tags the model, or one of its versions when `version` is set.")
class SetTagInput:
    model_name: str
    version: int | None = None
    key: str
    value: str


@strawberry.input
class DeleteTagInput:
    model_name: str
    version: int | None = None
    key: str


@strawberry.input
class SetAliasInput:
    model_name: str
    alias: str
    version: int
    comment: str | None = strawberry.field(
        default=None, description="Kept in the alias history and the webhook event."
    )
    force: bool = strawberry.field(
        default=False,
        description="Admins: move a protected alias without a transition request. Needs "
        "`reason`; the alias history and the webhook event carry it.",
    )
    reason: str | None = strawberry.field(default=None, description="Why `force` was needed.")


@strawberry.input
class DeleteAliasInput:
    model_name: str
    alias: str
    comment: str | None = strawberry.field(
        default=None, description="Kept in the alias history and the webhook event."
    )
    force: bool = strawberry.field(
        default=False,
        description="Admins: delete a protected alias without a transition request. Needs "
        "`reason`.",
    )
    reason: str | None = strawberry.field(default=None, description="Why `force` was needed.")


@strawberry.input
class UpdateModelInput:
    name: str
    description: str


@strawberry.input(description="Give a description, a modelCard or both.")
class UpdateModelVersionInput:
    model_name: str
    version: int
    description: str | None = strawberry.field(
        default=None, description="The new description; absent or null: unchanged."
    )
    model_card: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The new model card (Markdown, at most 64 KiB of UTF-8); null or blank "
        "removes it; absent: unchanged. Every change is kept in modelCardHistory.",
    )


@strawberry.input
class DeleteModelInput:
    name: str


@strawberry.input
class DeleteModelVersionInput:
    model_name: str
    version: int


@strawberry.input
class ModelFilter:
    name_starts_with: str | None = None
    name_contains: str | None = strawberry.field(default=None, description="Case-insensitive.")
    tags: list[TagInput] = strawberry.field(
        default_factory=list, description="Models carrying all of these tags."
    )
    has_version_in_stage: Stage | None = None


@strawberry.input
class ModelOrder:
    field: ModelOrderField = ModelOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC
