"""`max_results` and `page_token` of MLflow's searches, over resolvers.search's keyset pages."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mlflow_api.params import Params
from resolvers.errors import BadUserInput
from resolvers.pagination import Page
from resolvers.search import SEARCH_PAGE_MAX

T = TypeVar("T")

MODELS_DEFAULT = 100  # MLflow's default, and its limit is SEARCH_PAGE_MAX (1000)
VERSIONS_DEFAULT = 10_000  # the client sends it; a page holds SEARCH_PAGE_MAX at most
VERSIONS_LIMIT = 200_000  # MLflow refuses more


def max_results(params: Params, *, versions: bool) -> int:
    """The page size asked for; a versions' page larger than SEARCH_PAGE_MAX is cut to it.

    MLflow's client asks for 10,000 versions by default: refusing that would
    break every default call, so the page is smaller and `next_page_token`
    leads on. Models keep MLflow's own limit of 1,000.
    """
    default = VERSIONS_DEFAULT if versions else MODELS_DEFAULT
    limit = VERSIONS_LIMIT if versions else SEARCH_PAGE_MAX
    asked = params.integer("max_results", default=default)
    if asked < 1:
        raise BadUserInput(
            f"Invalid value for max_results. It must be a positive integer, but got {asked}",
            field="max_results",
        )
    if asked > limit:
        raise BadUserInput(
            "Invalid value for request parameter max_results. It must be at most "
            f"{limit}, but got value {asked}",
            field="max_results",
        )
    return min(asked, SEARCH_PAGE_MAX)


async def page_of(search: Callable[[str | None], Awaitable[Page[T]]], params: Params) -> Page[T]:
    """Run `search` from the request's page token; a token that is not one is MLflow's error."""
    token = params.string("page_token") or None
    try:
        return await search(token)
    except BadUserInput as error:
        if error.details.get("field") != "after":
            raise
        raise BadUserInput(
            "Invalid page token: pass the next_page_token of the previous page, with the "
            "same filter and order_by",
            field="page_token",
        ) from error


def next_token(page: Page[Any]) -> dict[str, str]:
    """`{"next_page_token": ...}` when more follow, else nothing (as MLflow leaves it out)."""
    if page.has_next_page and page.items:
        return {"next_page_token": page.cursor_of(page.items[-1])}
    return {}
