"""Stage policies: what a transition into a stage needs (approvals, checks), and the gate.

A policy is looked up as: the model's override, else the global row, else the
built-in default (PRODUCTION: one approval; other stages: nothing).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import policy_rules as rules
from resolvers.context import RequestContext
from resolvers.errors import ApprovalRequired, NotFound
from resolvers.models import get_model
from resolvers.policy_rules import PolicySource, describe_needs
from storage.clock import utcnow
from storage.enums import Role, Stage
from storage.queries import policies
from storage.records import PolicyRecord

DEFAULT_REQUIRED_APPROVALS = {Stage.PRODUCTION: 1}


@dataclass(frozen=True, slots=True)
class Policy:
    """The policy in force for one stage of one model (or globally), and where it comes from."""

    stage: Stage
    required_approvals: int
    required_checks: tuple[str, ...]
    source: PolicySource
    record: PolicyRecord | None = None
    # A version needs a model card to enter the stage (see resolvers/model_cards.py).
    require_model_card: bool = False

    @property
    def gated(self) -> bool:
        """Does a transition into this stage need a transition request?"""
        return self.required_approvals > 0 or bool(self.required_checks)

    def describe(self) -> str:
        return describe_needs(self.required_approvals, self.required_checks)


def _default(stage: Stage) -> Policy:
    return Policy(stage, DEFAULT_REQUIRED_APPROVALS.get(stage, 0), (), PolicySource.DEFAULT)


def _of(record: PolicyRecord, source: PolicySource) -> Policy:
    return Policy(
        record.stage,
        record.required_approvals,
        tuple(record.required_checks),
        source,
        record,
        record.require_model_card,
    )


def resolve(stage: Stage, global_row: PolicyRecord | None, override: PolicyRecord | None) -> Policy:
    if override is not None:
        return _of(override, PolicySource.MODEL)
    if global_row is not None:
        return _of(global_row, PolicySource.GLOBAL)
    return _default(stage)


def resolve_rows(stage: Stage, rows: Sequence[PolicyRecord]) -> Policy:
    """The policy of `stage` from rows holding the global ones and (at most) one model's."""
    global_row = next((r for r in rows if r.model_id is None and r.stage == stage), None)
    override = next((r for r in rows if r.model_id is not None and r.stage == stage), None)
    return resolve(stage, global_row, override)


async def policy_for(conn: AsyncConnection, model_id: int, stage: Stage) -> Policy:
    """The policy in force for a transition of `model_id` into `stage`."""
    global_row, override = await policies.stored_policies(conn, model_id, stage)
    return resolve(stage, global_row, override)


def approval_required(policy: Policy, model: str, version: int) -> ApprovalRequired:
    return ApprovalRequired(
        f"moving {model!r} version {version} to {policy.stage.value} needs "
        f"{policy.describe()}: ask with requestTransition (or an admin may force it "
        "with a reason)",
        model=model,
        version=version,
        stage=policy.stage.value,
        requiredApprovals=policy.required_approvals,
        requiredChecks=list(policy.required_checks),
    )


async def set_stage_policy(
    ctx: RequestContext,
    *,
    model_name: str | None,
    stage: Stage,
    required_approvals: int,
    required_checks: Sequence[str],
    require_model_card: bool = False,
) -> Policy:
    """Set the global policy of `stage`, or a model's override of it (admins)."""
    ctx.authorize(Role.ADMIN)
    rules.required_approvals(required_approvals)
    checks = rules.checked_checks(required_checks)
    model_id = (await get_model(ctx, model_name)).id if model_name is not None else None
    async with ctx.transaction() as conn:
        record = await policies.set_policy(
            conn,
            model_id=model_id,
            stage=stage,
            required_approvals=required_approvals,
            required_checks=checks,
            actor=ctx.actor,
            now=utcnow(),
            require_model_card=require_model_card,
        )
    return _of(record, PolicySource.MODEL if model_id is not None else PolicySource.GLOBAL)


async def clear_stage_policy(ctx: RequestContext, *, model_name: str, stage: Stage) -> Policy:
    """Drop a model's override of `stage`; return the policy that applies again (admins)."""
    ctx.authorize(Role.ADMIN)
    model = await get_model(ctx, model_name)
    async with ctx.transaction() as conn:
        if not await policies.delete_override(conn, model.id, stage):
            raise NotFound(
                f"model {model_name!r} has no policy of its own for {stage.value}",
                model=model_name,
                stage=stage.value,
            )
        return await policy_for(conn, model.id, stage)


async def stage_policies(ctx: RequestContext, model_id: int | None) -> list[Policy]:
    """The policy of every stage: for one model, or the global ones (model_id None)."""
    async with ctx.read() as conn:
        rows = await policies.policies_of(conn, [model_id] if model_id is not None else [])
    return [resolve_rows(stage, rows) for stage in Stage]
