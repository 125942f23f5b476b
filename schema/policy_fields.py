"""The stage-policy fields of Query and Mutation (merged into the root types)."""

import strawberry

from resolvers import policies
from resolvers.models import get_model
from schema.policy_types import (
    ClearStagePolicyInput,
    SetStagePolicyInput,
    StagePolicy,
    StagePolicyPayload,
)
from schema.types import Ctx


@strawberry.type
class PolicyQuery:
    @strawberry.field(
        description="The policy of every stage: a model's (with its overrides) or the global ones."
    )
    async def stage_policies(self, info: Ctx, model_name: str | None = None) -> list[StagePolicy]:
        model_id = (await get_model(info.context, model_name)).id if model_name else None
        found = await policies.stage_policies(info.context, model_id)
        return [StagePolicy.of(p) for p in found]


@strawberry.type
class PolicyMutation:
    @strawberry.mutation(description="Set a stage's global policy or a model's override (admins).")
    async def set_stage_policy(self, info: Ctx, input: SetStagePolicyInput) -> StagePolicyPayload:
        policy = await policies.set_stage_policy(
            info.context,
            model_name=input.model_name,
            stage=input.stage,
            required_approvals=input.required_approvals,
            required_checks=input.required_checks,
        )
        return StagePolicyPayload(policy=StagePolicy.of(policy))

    @strawberry.mutation(description="Drop a model's override; the global policy applies again.")
    async def clear_stage_policy(
        self, info: Ctx, input: ClearStagePolicyInput
    ) -> StagePolicyPayload:
        policy = await policies.clear_stage_policy(
            info.context, model_name=input.model_name, stage=input.stage
        )
        return StagePolicyPayload(policy=StagePolicy.of(policy))
