"""The use case: import one model, in a transaction of its own, or plan it (dry run)."""

from resolvers import audit
from resolvers.audit import AuditEntry
from resolvers.context import RequestContext
from resolvers.errors import RegistryError
from resolvers.imports.outcome import ModelOutcome
from resolvers.imports.plan import plan_model
from resolvers.imports.source import ImportedModel, checked
from resolvers.imports.target import read_target
from resolvers.imports.writes import write_plan
from storage.clock import utcnow
from storage.enums import Role

ACTION = "importModel"


async def import_model(
    ctx: RequestContext, source: ImportedModel, *, origin: str, dry_run: bool = False
) -> ModelOutcome:
    """Copy `source` here, or say why not; a refusal changes nothing of this model.

    Only admins import: the import passes stage and alias gates (see writes.py).
    A model that would not change is not written at all (no audit row, no
    event), so running an import again changes nothing. `origin` names the
    other registry in history comments and the audit log.
    """
    entry = AuditEntry(ACTION, {"origin": origin, "name": source.name}, model_name=source.name)
    try:
        ctx.authorize(Role.ADMIN, model=source.name, action="importing a model")
        source = checked(source)
        async with ctx.read() as conn:
            plan = plan_model(source, await read_target(conn, ctx, source, lock=False))
        plan.check()
        if dry_run or not plan.changed:
            return ModelOutcome.of_plan(plan)
        ctx.audit = entry
        # Planned again under the model's lock: another writer may have come first.
        async with ctx.transaction() as conn:
            target = await read_target(conn, ctx, source, lock=True)
            plan = plan_model(source, target)
            plan.check()
            await write_plan(conn, ctx, plan, target, origin)
        return ModelOutcome.of_plan(plan)
    except RegistryError as error:
        if not dry_run:
            await audit.write_alone(
                ctx.db, entry, ctx.caller, result=error.code, message=error.message, now=utcnow()
            )
        return ModelOutcome.of_error(source.name, error)
    finally:
        ctx.audit = None
