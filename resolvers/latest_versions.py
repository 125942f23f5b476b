"""The newest version of a model in each stage (MLflow's `latest_versions`)."""

import asyncio
from collections.abc import Sequence

from resolvers.context import RequestContext
from resolvers.models import get_model
from storage.enums import Stage
from storage.pagination import PageRequest
from storage.records import VersionRecord

_NEWEST = PageRequest(first=1, descending=True)


async def latest_of_models(
    ctx: RequestContext, model_ids: Sequence[int], stages: Sequence[Stage] = tuple(Stage)
) -> dict[int, list[VersionRecord]]:
    """For each model, its highest-numbered version in each of `stages` that holds one.

    One batched statement per stage, however many models (DataLoader).
    """
    wanted = list(dict.fromkeys(stages))
    keys = [(model_id, stage, _NEWEST) for model_id in model_ids for stage in wanted]
    pages = await asyncio.gather(*(ctx.loaders.version_page.load(key) for key in keys))
    found: dict[int, list[VersionRecord]] = {model_id: [] for model_id in model_ids}
    for (model_id, _, _), rows in zip(keys, pages, strict=True):
        if rows:
            found[model_id].append(rows[0])
    return found


async def latest_versions(
    ctx: RequestContext, name: str, stages: Sequence[Stage]
) -> list[VersionRecord]:
    """The model's newest version in each of `stages` (every stage when none is given).

    Production alone (what `load_model("models:/NAME/Production")` asks) is read
    with the model in one statement.
    """
    if set(stages) == {Stage.PRODUCTION}:
        model = await get_model(ctx, name, with_production=True)
        production = await ctx.loaders.production_version.load(model.id)
        return [production] if production is not None else []
    model = await get_model(ctx, name)
    found = await latest_of_models(ctx, [model.id], stages or tuple(Stage))
    return found[model.id]
