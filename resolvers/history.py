"""Pages of the stage history, for a model or for one of its versions."""

from resolvers.context import RequestContext
from resolvers.pagination import Page, encode_cursor, make_page, page_request
from storage.records import HistoryRecord

_KIND = "history"


def _cursor_of(record: HistoryRecord) -> str:
    return encode_cursor(_KIND, record.id)


async def model_history(
    ctx: RequestContext, model_id: int, *, first: int | None, after: str | None
) -> Page[HistoryRecord]:
    """The model's stage changes, newest first."""
    page = page_request(first, after, _KIND, (int,), descending=True)
    rows = await ctx.loaders.history_page.load((model_id, page))

    async def count() -> int:
        return await ctx.loaders.history_count.load(model_id)

    return make_page(rows, page, _cursor_of, count)


async def version_history(
    ctx: RequestContext, model_id: int, version: int, *, first: int | None, after: str | None
) -> Page[HistoryRecord]:
    """One version's stage changes, newest first."""
    page = page_request(first, after, _KIND, (int,), descending=True)
    rows = await ctx.loaders.version_history_page.load(((model_id, version), page))

    async def count() -> int:
        return await ctx.loaders.version_history_count.load((model_id, version))

    return make_page(rows, page, _cursor_of, count)
