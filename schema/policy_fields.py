"""The stage- and alias-policy fields of Query and Mutation (merged into the root types)."""

import strawberry

from resolvers import alias_policies, policies
from resolvers.alias_gate import AliasPolicy as InForce
from resolvers.models import get_model
from schema.policy_types import (
    AliasPolicy,
    AliasPolicyPayload,
    ClearAliasPolicyInput,
    ClearStagePolicyInput,
    SetAliasPolicyInput,
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

    @strawberry.field(
        description="The protected aliases: of a model (its overrides and the global ones) "
        "or the global ones."
    )
    async def alias_policies(self, info: Ctx, model_name: str | None = None) -> list[AliasPolicy]:
        model_id = (await get_model(info.context, model_name)).id if model_name else None
        found = await alias_policies.alias_policies_in_force(info.context, model_id)
        return [AliasPolicy.of(p) for p in found]


def _alias_payload(policy: InForce) -> AliasPolicyPayload:
    return AliasPolicyPayload(policy=AliasPolicy.of(policy) if policy.protected else None)


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
            require_model_card=input.require_model_card,
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

    @strawberry.mutation(
        description="Protect an alias of every model, or of one (admins): moving or deleting "
        "it then needs a transition request or an admin force."
    )
    async def set_alias_policy(self, info: Ctx, input: SetAliasPolicyInput) -> AliasPolicyPayload:
        policy = await alias_policies.set_alias_policy(
            info.context,
            model_name=input.model_name,
            alias=input.alias,
            required_approvals=input.required_approvals,
            required_checks=input.required_checks,
            role=input.role,
        )
        return _alias_payload(policy)

    @strawberry.mutation(
        description="Drop a model's alias policy or the global one (admins); returns what "
        "applies now."
    )
    async def clear_alias_policy(
        self, info: Ctx, input: ClearAliasPolicyInput
    ) -> AliasPolicyPayload:
        policy = await alias_policies.clear_alias_policy(
            info.context, model_name=input.model_name, alias=input.alias
        )
        return _alias_payload(policy)
