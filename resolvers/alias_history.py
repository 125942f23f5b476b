"""Pages of the alias history: every move of a model's aliases, or of one of them."""

from resolvers import validation
from resolvers.context import RequestContext
from resolvers.pagination import Page, encode_cursor, make_page, page_request
from storage.records import AliasHistoryRecord

_KIND = "aliasHistory"


def _cursor_of(record: AliasHistoryRecord) -> str:
    return encode_cursor(_KIND, record.id)


async def alias_history(
    ctx: RequestContext,
    model_id: int,
    *,
    alias: str | None,
    first: int | None,
    after: str | None,
) -> Page[AliasHistoryRecord]:
    """The model's alias moves (only `alias`'s when given), newest first."""
    page = page_request(first, after, _KIND, (int,), descending=True)
    if alias is None:
        rows = await ctx.loaders.alias_history_page.load((model_id, page))

        async def count() -> int:
            return await ctx.loaders.alias_history_count.load(model_id)

        return make_page(rows, page, _cursor_of, count)
    key = (model_id, validation.alias_name(alias))
    rows = await ctx.loaders.one_alias_history_page.load((key, page))

    async def count_of_alias() -> int:
        return await ctx.loaders.one_alias_history_count.load(key)

    return make_page(rows, page, _cursor_of, count_of_alias)
