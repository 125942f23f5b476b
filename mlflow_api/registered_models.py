"""registered-models/...: create, rename, update, delete, get, search, latest, tags, aliases."""

from typing import Any

from mlflow_api import shapes
from mlflow_api.filters import parse_filter
from mlflow_api.ordering import parse_order_by
from mlflow_api.paging import max_results, next_token, page_of
from mlflow_api.params import Params, missing
from mlflow_api.stages import stage_of
from resolvers import aliases, models, search, tags
from resolvers.context import RequestContext
from resolvers.latest_versions import latest_versions
from resolvers.model_rename import rename_model
from resolvers.pagination import Page
from storage.records import ModelRecord

Body = dict[str, Any]


async def create(ctx: RequestContext, params: Params) -> Body:
    record = await models.create_model(
        ctx,
        name=params.required("name"),
        description=params.string("description"),
        tags_=params.pairs("tags"),
    )
    return {"registered_model": await shapes.registered_model(ctx, record)}


async def rename(ctx: RequestContext, params: Params) -> Body:
    new_name = params.string("new_name")
    if not new_name:
        raise missing("new_name")
    record = await rename_model(ctx, name=params.required("name"), new_name=new_name)
    return {"registered_model": await shapes.registered_model(ctx, record)}


async def update(ctx: RequestContext, params: Params) -> Body:
    name = params.required("name")
    description = params.string("description")
    if description is None:
        record = await models.get_model(ctx, name)
    else:
        record = await models.update_model(ctx, name=name, description=description)
    return {"registered_model": await shapes.registered_model(ctx, record)}


async def delete(ctx: RequestContext, params: Params) -> Body:
    await models.delete_model(ctx, name=params.required("name"))
    return {}


async def get(ctx: RequestContext, params: Params) -> Body:
    record = await models.get_model(ctx, params.required("name"))
    return {"registered_model": await shapes.registered_model(ctx, record)}


async def search_models(ctx: RequestContext, params: Params) -> Body:
    conditions = parse_filter(params.string("filter"), versions=False)
    order = parse_order_by(params.strings("order_by"), versions=False)
    first = max_results(params, versions=False)

    async def run(token: str | None) -> Page[ModelRecord]:
        return await search.search_models(ctx, conditions, order, first=first, after=token)

    page = await page_of(run, params)
    return {
        "registered_models": await shapes.registered_models(ctx, page.items),
        **next_token(page),
    }


async def get_latest_versions(ctx: RequestContext, params: Params) -> Body:
    name = params.required("name")
    stages = [stage_of(stage) for stage in params.strings("stages")]
    found = await latest_versions(ctx, name, stages)
    return {"model_versions": await shapes.model_versions(ctx, [(name, v) for v in found])}


async def set_tag(ctx: RequestContext, params: Params) -> Body:
    await tags.set_tag(
        ctx,
        name=params.required("name"),
        version=None,
        key=params.required("key"),
        value=params.string("value") or "",
    )
    return {}


async def delete_tag(ctx: RequestContext, params: Params) -> Body:
    await tags.delete_tag(
        ctx, name=params.required("name"), version=None, key=params.required("key")
    )
    return {}


async def set_alias(ctx: RequestContext, params: Params) -> Body:
    await aliases.set_alias(
        ctx,
        name=params.required("name"),
        alias=params.required("alias"),
        version=params.version(),
    )
    return {}


async def delete_alias(ctx: RequestContext, params: Params) -> Body:
    await aliases.delete_alias(ctx, name=params.required("name"), alias=params.required("alias"))
    return {}


async def get_by_alias(ctx: RequestContext, params: Params) -> Body:
    name = params.required("name")
    model = await models.get_model(ctx, name)
    record = await aliases.version_of_alias(ctx, model, params.required("alias"))
    return {"model_version": await shapes.model_version(ctx, model.name, record)}
