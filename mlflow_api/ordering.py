"""MLflow's `order_by` clauses (`name ASC`, `last_updated_timestamp DESC`, ...).

Models sort by `name`, `creation_timestamp` or `last_updated_timestamp`
(`timestamp` is MLflow's other name for the last); versions also by
`version_number`. Ties are broken as MLflow breaks them (resolvers.search).
"""

from resolvers.errors import BadUserInput
from storage.queries.search import Sort, SortKey

ORDER_BY_MAX = 4
_MODEL_KEYS = {
    "name": SortKey.NAME,
    "creation_timestamp": SortKey.CREATED_AT,
    "last_updated_timestamp": SortKey.UPDATED_AT,
    "timestamp": SortKey.UPDATED_AT,
}
_VERSION_KEYS = {
    "name": SortKey.NAME,
    "version_number": SortKey.VERSION,
    "creation_timestamp": SortKey.CREATED_AT,
    "last_updated_timestamp": SortKey.UPDATED_AT,
}
# MLflow's own default order of version searches.
DEFAULT_VERSION_ORDER = (
    Sort(SortKey.UPDATED_AT, descending=True),
    Sort(SortKey.NAME),
    Sort(SortKey.VERSION, descending=True),
)


def parse_order_by(clauses: list[str], *, versions: bool) -> list[Sort]:
    if len(clauses) > ORDER_BY_MAX:
        raise BadUserInput(f"order_by holds at most {ORDER_BY_MAX} clauses", field="orderBy")
    keys = _VERSION_KEYS if versions else _MODEL_KEYS
    order = []
    for clause in clauses:
        words = clause.replace("`", " ").split()
        if not 1 <= len(words) <= 2:
            raise BadUserInput(
                f"Invalid order_by clause '{clause[:300]}'. Could not be parsed.", field="orderBy"
            )
        key = keys.get(words[0])
        if key is None:
            raise BadUserInput(
                f"Invalid order by key '{words[0][:300]}' specified. Valid keys are '{set(keys)}'",
                field="orderBy",
            )
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise BadUserInput(
                f"Invalid ordering key in order_by clause '{clause[:300]}'.", field="orderBy"
            )
        order.append(Sort(key, descending=direction == "desc"))
    if len({sort.key for sort in order}) != len(order):
        raise BadUserInput(f"`order_by` contains duplicate fields: {clauses}", field="orderBy")
    if not order and versions:
        return list(DEFAULT_VERSION_ORDER)
    return order
