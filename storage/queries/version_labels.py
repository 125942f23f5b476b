"""A version's tags and the aliases that point at it, in one statement.

The MLflow API returns both with every version it sends; read as two
DataLoader batches they were two statements and two rounds on the request's
connection (a quarter of a get-latest-versions request's CPU).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.keyed import KeyedStatement
from storage.quick_reads import QuickReads
from storage.tables import aliases, version_tags

_TAG, _ALIAS = 0, 1


@dataclass(frozen=True, slots=True)
class VersionLabels:
    """Tags (key, value) sorted by key, and alias names sorted, of one version."""

    tags: list[tuple[str, str]] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)


def _labels(of: Callable[[ColumnElement[int]], ColumnElement[bool]]) -> Select[Any]:
    tags = select(
        version_tags.c.version_id.label("owner"),
        literal_column(str(_TAG)).label("kind"),
        version_tags.c.key.label("name"),
        version_tags.c.value.label("value"),
    ).where(of(version_tags.c.version_id))
    pointing = select(
        aliases.c.version_id, literal_column(str(_ALIAS)), aliases.c.alias, literal_column("''")
    ).where(of(aliases.c.version_id))
    combined = union_all(tags, pointing).subquery("labels")
    return select(combined).order_by(combined.c.owner, combined.c.kind, combined.c.name)


_LABELS = KeyedStatement(
    one=_labels(lambda column: column == bindparam("key")),
    many=_labels(lambda column: column.in_(bindparam("keys", expanding=True))),
    quick=True,  # a version holds a bounded number of tags and aliases (resolvers/limits.py)
)


async def labels_of_versions(
    conn: AsyncConnection, version_ids: Sequence[int]
) -> dict[int, VersionLabels]:
    return _found(await _LABELS.execute(conn, version_ids))


def labels_of_version_quickly(
    reads: QuickReads, version_id: int
) -> dict[int, VersionLabels] | None:
    """As `labels_of_versions` for one version, or None: read them through the pool."""
    rows = _LABELS.quick_rows(reads, version_id)
    return None if rows is None else _found(rows)


def _found(rows: Iterable[Sequence[Any]]) -> dict[int, VersionLabels]:
    found: dict[int, VersionLabels] = {}
    for owner, kind, name, value in rows:
        labels = found.setdefault(owner, VersionLabels())
        if kind == _TAG:
            labels.tags.append((name, value))
        else:
            labels.aliases.append(name)
    return found
