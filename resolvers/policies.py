"""Stage policies: what a transition into a stage needs (approvals, checks), and the gate.

A policy is looked up as: the model's override, else the global row, else the
built-in default (PRODUCTION: one approval; other stages: nothing).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import validation
from resolvers.context import RequestContext
from resolvers.errors import ApprovalRequired, BadUserInput, NotFound
from resolvers.models import get_model
from storage.clock import utcnow
from storage.enums import Role, Stage
from storage.queries import policies
from storage.records import PolicyRecord

DEFAULT_REQUIRED_APPROVALS = {Stage.PRODUCTION: 1}
CHECK_NAME_MAX = 128
CHECKS_MAX = 20
APPROVALS_MAX = 10


class PolicySource(StrEnum):
    DEFAULT = "DEFAULT"
    GLOBAL = "GLOBAL"
    MODEL = "MODEL"


@dataclass(frozen=True, slots=True)
class Policy:
    """The policy in force for one stage of one model (or globally), and where it comes from."""

    stage: Stage
    required_approvals: int
    required_checks: tuple[str, ...]
    source: PolicySource
    record: PolicyRecord | None = None

    @property
    def gated(self) -> bool:
        """Does a transition into this stage need a transition request?"""
        return self.required_approvals > 0 or bool(self.required_checks)

    def describe(self) -> str:
        needs = []
        if self.required_approvals:
            plural = "s" if self.required_approvals > 1 else ""
            needs.append(f"{self.required_approvals} approval{plural}")
        if self.required_checks:
            needs.append("passing checks " + ", ".join(self.required_checks))
        return " and ".join(needs) or "nothing"


def _default(stage: Stage) -> Policy:
    return Policy(stage, DEFAULT_REQUIRED_APPROVALS.get(stage, 0), (), PolicySource.DEFAULT)


def _of(record: PolicyRecord, source: PolicySource) -> Policy:
    return Policy(
        record.stage, record.required_approvals, tuple(record.required_checks), source, record
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


def check_name(name: str, field: str) -> str:
    """A check's name: what CI reports under and what a policy requires."""
    if not 1 <= len(name) <= CHECK_NAME_MAX or not validation.ALIAS_PATTERN.fullmatch(name):
        raise BadUserInput(
            f"check name {name!r} must be 1-{CHECK_NAME_MAX} letters, digits, '_' or '-'",
            field=field,
        )
    return name


def _checked_checks(names: Sequence[str]) -> list[str]:
    checked: list[str] = []
    for name in names:
        check_name(name, "requiredChecks")
        if name in checked:
            raise BadUserInput(f"check {name!r} is given twice", field="requiredChecks")
        checked.append(name)
    if len(checked) > CHECKS_MAX:
        raise BadUserInput(f"at most {CHECKS_MAX} required checks", field="requiredChecks")
    return checked


async def set_stage_policy(
    ctx: RequestContext,
    *,
    model_name: str | None,
    stage: Stage,
    required_approvals: int,
    required_checks: Sequence[str],
) -> Policy:
    """Set the global policy of `stage`, or a model's override of it (admins)."""
    ctx.authorize(Role.ADMIN)
    if not 0 <= required_approvals <= APPROVALS_MAX:
        raise BadUserInput(
            f"requiredApprovals must be between 0 and {APPROVALS_MAX}", field="requiredApprovals"
        )
    checks = _checked_checks(required_checks)
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
