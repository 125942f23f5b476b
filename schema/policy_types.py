"""Stage and alias policies as GraphQL sees them."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.alias_gate import AliasPolicy as AliasPolicyRecord
from resolvers.policies import Policy
from resolvers.policy_rules import PolicySource
from schema.enums import Role, Stage


@strawberry.enum(description="Where the policy in force comes from.")
class StagePolicySource(Enum):
    DEFAULT = PolicySource.DEFAULT.value
    GLOBAL = PolicySource.GLOBAL.value
    MODEL = PolicySource.MODEL.value


@strawberry.type(description="What a transition into a stage needs.")
class StagePolicy:
    stage: Stage
    required_approvals: int = strawberry.field(
        description="Approvals by maintainers other than the requester."
    )
    required_checks: list[str] = strawberry.field(
        description="Checks whose latest report must be SUCCESS."
    )
    require_model_card: bool = strawberry.field(
        description="A version needs a model card to enter the stage (MODEL_CARD_REQUIRED)."
    )
    source: StagePolicySource
    gated: bool = strawberry.field(
        description="True when transitionStage is refused and a transition request is needed."
    )

    @staticmethod
    def of(policy: Policy) -> StagePolicy:
        return StagePolicy(
            stage=policy.stage,
            required_approvals=policy.required_approvals,
            required_checks=list(policy.required_checks),
            require_model_card=policy.require_model_card,
            source=StagePolicySource(policy.source.value),
            gated=policy.gated,
        )


@strawberry.input
class SetStagePolicyInput:
    stage: Stage
    model_name: str | None = strawberry.field(
        default=None, description="Set this model's override; default: the global policy."
    )
    required_approvals: int = 0
    required_checks: list[str] = strawberry.field(default_factory=list)
    require_model_card: bool = strawberry.field(
        default=False,
        description="Refuse transitionStage and requestTransition into the stage (and the "
        "execution of a request) for a version without a model card: MODEL_CARD_REQUIRED.",
    )


@strawberry.input
class ClearStagePolicyInput:
    model_name: str
    stage: Stage


@strawberry.type
class StagePolicyPayload:
    policy: StagePolicy = strawberry.field(description="The policy in force now.")


@strawberry.type(description="A protected alias: what moving or deleting it needs, and who may.")
class AliasPolicy:
    alias: str
    required_approvals: int = strawberry.field(
        description="Approvals by maintainers (or `role`, if higher) other than the requester."
    )
    required_checks: list[str] = strawberry.field(
        description="Checks whose latest report must be SUCCESS."
    )
    role: Role = strawberry.field(
        description="Who may move it directly when nothing is required, and decide on "
        "requests for it (never below MAINTAINER)."
    )
    source: StagePolicySource = strawberry.field(description="GLOBAL or MODEL.")
    gated: bool = strawberry.field(
        description="True when setAlias and deleteAlias are refused and a transition request "
        "(or an admin force) is needed."
    )

    @staticmethod
    def of(policy: AliasPolicyRecord) -> AliasPolicy:
        return AliasPolicy(
            alias=policy.alias,
            required_approvals=policy.required_approvals,
            required_checks=list(policy.required_checks),
            role=policy.role,
            source=StagePolicySource(policy.source.value),
            gated=policy.gated,
        )


@strawberry.input
class SetAliasPolicyInput:
    alias: str
    model_name: str | None = strawberry.field(
        default=None, description="Protect the alias of this model only; default: of every model."
    )
    required_approvals: int = 1
    required_checks: list[str] = strawberry.field(default_factory=list)
    role: Role = strawberry.field(default=Role.MAINTAINER)


@strawberry.input
class ClearAliasPolicyInput:
    alias: str
    model_name: str | None = strawberry.field(
        default=None, description="Drop this model's override; default: the global policy."
    )


@strawberry.type
class AliasPolicyPayload:
    policy: AliasPolicy | None = strawberry.field(
        description="The policy in force now; null: the alias is unprotected."
    )
