"""model-versions/...: create, update, delete, get, search, transition-stage, download URI, tags."""

from typing import Any

from mlflow_api import shapes
from mlflow_api.filters import parse_filter
from mlflow_api.ordering import parse_order_by
from mlflow_api.paging import max_results, next_token, page_of
from mlflow_api.params import Params
from mlflow_api.stages import stage_of
from resolvers import search, stages, tags, versions
from resolvers.context import RequestContext
from resolvers.pagination import Page
from resolvers.search import FoundVersion
from resolvers.versions import NewVersion

Body = dict[str, Any]


async def create(ctx: RequestContext, params: Params) -> Body:
    """Register the next version; `source` is kept as given (`models:/m-...`, `runs:/...`)."""
    name = params.required("name")
    record = await versions.create_version(
        ctx,
        NewVersion(
            model_name=name,
            source=params.required("source"),
            run_id=params.string("run_id") or None,
            description=params.string("description"),
            tags=params.pairs("tags"),
            logged_model_id=params.string("model_id") or None,
            run_link=params.string("run_link") or None,
        ),
    )
    return {"model_version": await shapes.model_version(ctx, name, record)}


async def update(ctx: RequestContext, params: Params) -> Body:
    name, number = params.required("name"), params.version()
    description = params.string("description")
    if description is None:
        record = await versions.get_version(ctx, name, number)
    else:
        record = await versions.update_version(
            ctx, name=name, version=number, description=description
        )
    return {"model_version": await shapes.model_version(ctx, name, record)}


async def delete(ctx: RequestContext, params: Params) -> Body:
    await versions.delete_version(ctx, name=params.required("name"), version=params.version())
    return {}


async def get(ctx: RequestContext, params: Params) -> Body:
    name = params.required("name")
    record = await versions.get_version(ctx, name, params.version())
    return {"model_version": await shapes.model_version(ctx, name, record)}


async def search_versions(ctx: RequestContext, params: Params) -> Body:
    conditions = parse_filter(params.string("filter"), versions=True)
    order = parse_order_by(params.strings("order_by"), versions=True)
    first = max_results(params, versions=True)

    async def run(token: str | None) -> Page[FoundVersion]:
        return await search.search_versions(ctx, conditions, order, first=first, after=token)

    page = await page_of(run, params)
    found = [(item.model_name, item.version) for item in page.items]
    return {"model_versions": await shapes.model_versions(ctx, found), **next_token(page)}


async def transition_stage(ctx: RequestContext, params: Params) -> Body:
    """Move a version; a gated stage is PERMISSION_DENIED saying how to request approval.

    `archive_existing_versions` archives the other STAGING versions; PRODUCTION
    always archives the previous PRODUCTION version (one Production version).
    """
    name, number = params.required("name"), params.version()
    stage = stage_of(params.required("stage"))
    result = await stages.transition_stage(
        ctx,
        name=name,
        version=number,
        stage=stage,
        archive_existing=params.boolean("archive_existing_versions"),
        comment=None,
    )
    return {"model_version": await shapes.model_version(ctx, name, result.version)}


async def get_download_uri(ctx: RequestContext, params: Params) -> Body:
    """The source as registered: the client resolves it through its own tracking server."""
    record = await versions.get_version(ctx, params.required("name"), params.version())
    return {"artifact_uri": record.source}


async def set_tag(ctx: RequestContext, params: Params) -> Body:
    await tags.set_tag(
        ctx,
        name=params.required("name"),
        version=params.version(),
        key=params.required("key"),
        value=params.string("value") or "",
    )
    return {}


async def delete_tag(ctx: RequestContext, params: Params) -> Body:
    await tags.delete_tag(
        ctx, name=params.required("name"), version=params.version(), key=params.required("key")
    )
    return {}
