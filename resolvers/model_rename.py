"""Renaming a model (MLflow's `registered-models/rename`).

The model keeps its id, so its versions, stage history, aliases, policies and
transition requests follow it; `models:/OLD/...` URIs stop resolving. The
caller must be allowed to change both names (a token limited to `fraud-*`
cannot move a model out of its patterns, nor into them).
"""

from resolvers import validation
from resolvers.context import RequestContext
from resolvers.errors import Conflict
from resolvers.events import model_event
from resolvers.models import locked_model
from storage.clock import utcnow
from storage.enums import Role
from storage.queries import model_names
from storage.records import ModelRecord


async def rename_model(ctx: RequestContext, *, name: str, new_name: str) -> ModelRecord:
    ctx.authorize(Role.WRITER, model=name)
    ctx.authorize(Role.WRITER, model=new_name)
    validation.model_name(name)
    validation.model_name(new_name, "newName")
    async with ctx.transaction() as conn:
        model = await locked_model(conn, ctx, name)
        renamed = await model_names.rename_model(
            conn, model.id, new_name, actor=ctx.actor, now=utcnow()
        )
        if renamed is None:
            raise Conflict(f"model {new_name!r} already exists", model=new_name)
        event = model_event("updated", renamed)
        event.data["previousName"] = name
        await ctx.publish(conn, new_name, [event])
    ctx.loaders.prime_model(renamed)
    return renamed
