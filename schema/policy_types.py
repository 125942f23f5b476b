"""Stage policies as GraphQL sees them."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.policies import Policy, PolicySource
from schema.enums import Stage


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


@strawberry.input
class ClearStagePolicyInput:
    model_name: str
    stage: Stage


@strawberry.type
class StagePolicyPayload:
    policy: StagePolicy = strawberry.field(description="The policy in force now.")
