"""The conditions of `models(filter: ...)`, and which index drives a filtered page.

A page of models is sorted by name (or a time) and filtered by conditions on
other tables. Two plans answer it, and each is the slow one somewhere:

- *scan*: walk the models in page order and probe each one's tags, versions
  or name, stopping after a page of matches. Cheap when many models match
  (`tier: gold`, a version in ARCHIVED), a walk over every model when few do;
- *driven*: read the few matching models from the filter's own index
  (tags `(key, value, model_id)`, versions `(stage, model_id)`, the name
  search index), then sort them. Cheap when few match, a read of millions
  of version rows for ARCHIVED.

SQLite keeps no statistics per value, and PostgreSQL's cannot see that the
models in STAGING are the ones whose names sort last, so a census decides:
one statement counts, for each filter that can drive, the rows of its index
range up to CENSUS_LIMIT. The filter with the fewest (if below the limit)
drives; otherwise the page scans. Either way a page reads at most about
CENSUS_LIMIT index rows or a page's worth of matches.

Name prefixes are byte-order ranges (`name >= p AND name < successor(p)`) on
the name index (SQLite's BINARY collation; on PostgreSQL `COLLATE "C"` with
its own index). Substrings go through the name search index: pg_trgm's GIN
index on PostgreSQL (used by the LIKE itself), an FTS5 trigram table on SQLite.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    cast,
    column,
    exists,
    func,
    literal_column,
    select,
    table,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import ordered_join
from storage.enums import Stage
from storage.tables import SQLITE_NAME_SEARCH, model_tags, model_versions, models

# Index rows a census counts per filter before it calls the filter common.
# Sorting this many matches (~1 us each) costs about what a scan in page order
# pays to find a page when this many of ~10,000 models match.
CENSUS_LIMIT = 500
# The longest model name: models.name is a String(256) (see resolvers.validation).
NAME_MAX = 256
# FTS5 trigram queries need three characters; shorter substrings scan.
_TRIGRAM = 3

_FILTER_TAG = model_tags.alias("filter_tag")
_CENSUS_TAG = model_tags.alias("census_tag")
_search = table(SQLITE_NAME_SEARCH, column("rowid", Integer()))
_SEARCH_MATCH = literal_column(SQLITE_NAME_SEARCH).op("MATCH")(
    bindparam("name_phrase", type_=String())
)


@dataclass(frozen=True, slots=True)
class ModelFilter:
    name_prefix: str | None = None
    name_contains: str | None = None
    tags: Sequence[tuple[str, str]] = field(default_factory=tuple)
    has_version_in_stage: Stage | None = None


class Driver(StrEnum):
    """The filter whose index a page is read from (SCAN: the page order's index)."""

    SCAN = "scan"
    TAGS = "tags"
    STAGE = "stage"
    CONTAINS = "contains"


@dataclass(frozen=True)
class FilterShape:
    """What a statement depends on: which filters are present and how, never their values."""

    postgresql: bool
    prefix: bool
    contains: bool
    # The substring is long enough for a trigram index (and SQLite's table exists).
    name_search: bool
    tags: bool
    in_stage: bool
    driver: Driver = Driver.SCAN

    @property
    def candidates(self) -> tuple[Driver, ...]:
        """The filters that could drive, in census order."""
        found: list[Driver] = []
        if self.tags:
            found.append(Driver.TAGS)
        if self.in_stage:
            found.append(Driver.STAGE)
        if self.contains and self.name_search:
            found.append(Driver.CONTAINS)
        return tuple(found)


_name_search_present: dict[str, bool] = {}
_sqlite_master = table("sqlite_master", column("name", String()))
_NAME_SEARCH_EXISTS = select(_sqlite_master.c.name).where(
    _sqlite_master.c.name == SQLITE_NAME_SEARCH
)


async def _has_name_search(conn: AsyncConnection) -> bool:
    """Whether this SQLite database has the trigram table (0005 skips it without FTS5)."""
    url = str(conn.engine.url)
    if url not in _name_search_present:
        found = await conn.execute(_NAME_SEARCH_EXISTS)
        _name_search_present[url] = found.first() is not None
    return _name_search_present[url]


async def shape_of(conn: AsyncConnection, model_filter: ModelFilter) -> FilterShape:
    """The shape of `model_filter` with the census's driver (one statement, or none)."""
    postgresql = conn.dialect.name == "postgresql"
    contains = model_filter.name_contains
    name_search = (
        contains is not None
        and len(contains) >= _TRIGRAM
        and (postgresql or await _has_name_search(conn))
    )
    shape = FilterShape(
        postgresql=postgresql,
        prefix=bool(model_filter.name_prefix),
        contains=bool(contains),
        name_search=name_search,
        tags=bool(model_filter.tags),
        in_stage=model_filter.has_version_in_stage is not None,
    )
    if not shape.candidates:
        return shape
    census = _census_statement(shape)
    counts = (await conn.execute(census, parameters(model_filter, shape))).one()
    fewest, driver = min(zip(counts, shape.candidates, strict=True))
    if fewest >= CENSUS_LIMIT:
        return shape
    return FilterShape(**{**_fields(shape), "driver": driver})


def _fields(shape: FilterShape) -> dict[str, Any]:
    return {name: getattr(shape, name) for name in FilterShape.__dataclass_fields__}


def _tag_rows(shape: FilterShape) -> Select[Any]:
    """The model ids of each (key, value) pair's tag rows, up to CENSUS_LIMIT per pair."""
    limit = bindparam("census_limit", type_=Integer())
    if shape.postgresql:
        pairs = (
            func.unnest(
                cast(bindparam("tag_keys"), ARRAY(String())),
                cast(bindparam("tag_values"), ARRAY(String())),
            )
            .table_valued("key", "value")
            .render_derived()
            .alias("pairs")
        )
        # LATERAL with ORDER BY the index and a LIMIT: a generic plan (asyncpg
        # prepares statements) cannot turn it into a hash join over every tag.
        per_pair = (
            select(_CENSUS_TAG.c.model_id)
            .where(_CENSUS_TAG.c.key == pairs.c.key, _CENSUS_TAG.c.value == pairs.c.value)
            .order_by(_CENSUS_TAG.c.model_id)
            .limit(limit)
            .lateral("per_pair")
        )
        return select(per_pair.c.model_id).select_from(pairs).join(per_pair, true())
    # SQLite has no LATERAL: a loop over the pairs, each an index range.
    pairs = func.json_each(bindparam("tag_json", type_=String())).table_valued("value")
    pairs = pairs.alias("pairs")
    key = func.json_extract(pairs.c.value, literal_column("'$[0]'"))
    value = func.json_extract(pairs.c.value, literal_column("'$[1]'"))
    joined = (_CENSUS_TAG.c.key == key) & (_CENSUS_TAG.c.value == value)
    return (
        select(_CENSUS_TAG.c.model_id)
        .select_from(ordered_join(pairs, _CENSUS_TAG, joined))
        .limit(limit)
    )


def _contains_condition(name: ColumnElement[str]) -> ColumnElement[bool]:
    """The LIKE that PostgreSQL's trigram index answers (wildcards escaped in parameters())."""
    pattern = bindparam("name_pattern", type_=String())
    return func.lower(name).like(func.lower(pattern), escape="/")


def _contains_probe(shape: FilterShape) -> ColumnElement[bool]:
    """The same test, made per model during a scan: no index can take it over.

    (A prepared statement's generic plan would otherwise answer the LIKE from
    the trigram index and sort every match, which the census just ruled out.)
    """
    text = func.lower(bindparam("name_text", type_=String()))
    position = func.strpos if shape.postgresql else func.instr
    return position(func.lower(models.c.name), text) > 0


def _driver_rows(shape: FilterShape, driver: Driver) -> Select[Any]:
    """The index rows `driver` would read (model ids), up to CENSUS_LIMIT.

    The census counts them; a driven page reads them. Each is ordered by its
    index and limited, so that a generic plan reads the index too.
    """
    limit = bindparam("census_limit", type_=Integer())
    if driver == Driver.TAGS:
        return _tag_rows(shape)
    if driver == Driver.STAGE:
        stage = model_versions.c.stage == bindparam("stage")
        return (
            select(model_versions.c.model_id)
            .where(stage)
            .order_by(model_versions.c.model_id)
            .limit(limit)
        )
    if shape.postgresql:
        named = models.alias("named")
        return select(named.c.id).where(_contains_condition(named.c.name)).limit(limit)
    return select(_search.c.rowid).where(_SEARCH_MATCH).limit(limit)


def _driven_ids(shape: FilterShape, driver: Driver) -> Select[Any]:
    """The ids of the models that `driver`'s condition matches (the census found few)."""
    rows = _driver_rows(shape, driver).subquery("driver_rows")
    model_id = rows.c[0]
    if driver == Driver.TAGS:
        # The keys of a model's tags are unique: a model has every pair when it has N rows.
        tag_count = bindparam("tag_count", type_=Integer())
        return select(model_id).group_by(model_id).having(func.count() == tag_count)
    return select(model_id)


@lru_cache(maxsize=64)
def _census_statement(shape: FilterShape) -> Select[Any]:
    counts = [
        select(func.count()).select_from(_driver_rows(shape, d).subquery()).scalar_subquery()
        for d in shape.candidates
    ]
    return select(*counts)


def filtered(query: Select[Any], shape: FilterShape) -> Select[Any]:
    """`query` (over `models`) with the filter's conditions, driven as the shape says."""
    if shape.prefix:
        name = models.c.name.collate("C") if shape.postgresql else models.c.name
        query = query.where(
            name >= bindparam("name_prefix", type_=String()),
            name < bindparam("name_prefix_end", type_=String()),
        )
    if shape.driver != Driver.SCAN:
        driven = _driven_ids(shape, shape.driver)
        if shape.postgresql:
            # An array evaluated once: the planner cannot turn it back into a scan.
            ids = func.array(driven.scalar_subquery(), type_=ARRAY(models.c.id.type))
            query = query.where(models.c.id == any_(ids))
        else:
            query = query.where(models.c.id.in_(driven))
    if shape.contains and shape.driver != Driver.CONTAINS:
        query = query.where(_contains_probe(shape))
    if shape.tags and shape.driver != Driver.TAGS:
        # One correlated count for all the tags, not one EXISTS per tag: PostgreSQL
        # plans N semi-joins in time exponential in N (20 tags took 2.7 s to plan),
        # and the statement would differ for every N. The keys of a model's tags
        # are unique, so all the pairs match exactly when the count reaches theirs.
        matched = (
            select(func.count())
            .select_from(_FILTER_TAG)
            .where(
                _FILTER_TAG.c.model_id == models.c.id,
                tuple_(_FILTER_TAG.c.key, _FILTER_TAG.c.value).in_(
                    bindparam("tag_pairs", expanding=True)
                ),
            )
            .scalar_subquery()
        )
        query = query.where(matched == bindparam("tag_count", type_=Integer()))
    if shape.in_stage and shape.driver != Driver.STAGE:
        query = query.where(
            exists().where(
                model_versions.c.model_id == models.c.id,
                model_versions.c.stage == bindparam("stage"),
            )
        )
    return query


def prefix_end(prefix: str) -> str:
    """A string above every name that starts with `prefix`, in code point order.

    Code point order is SQLite's BINARY and PostgreSQL's "C" order of UTF-8 text.
    Usually the least such string (the last character moved up by one). A
    prefix of only U+10FFFF has none: names hold at most NAME_MAX characters,
    so the prefix followed by more U+10FFFF than that is above all of them.
    """
    rest = prefix
    while rest:
        last = ord(rest[-1])
        if last < 0x10FFFF:
            following = last + 1 if last + 1 != 0xD800 else 0xE000  # no surrogates in UTF-8
            return rest[:-1] + chr(following)
        rest = rest[:-1]
    return prefix + "\U0010ffff" * (NAME_MAX + 1)


def parameters(model_filter: ModelFilter, shape: FilterShape) -> dict[str, Any]:
    found: dict[str, Any] = {"census_limit": CENSUS_LIMIT}
    if model_filter.name_prefix:
        found["name_prefix"] = model_filter.name_prefix
        found["name_prefix_end"] = prefix_end(model_filter.name_prefix)
    if model_filter.name_contains:
        text = model_filter.name_contains
        escaped = "".join(f"/{c}" if c in "%_/" else c for c in text)
        found["name_pattern"] = f"%{escaped}%"
        found["name_phrase"] = '"' + text.replace('"', '""') + '"'
        found["name_text"] = text
    if model_filter.tags:
        pairs = list(dict.fromkeys((key, value) for key, value in model_filter.tags))
        found["tag_pairs"] = pairs
        found["tag_count"] = len(pairs)
        if shape.postgresql:
            found["tag_keys"] = [key for key, _ in pairs]
            found["tag_values"] = [value for _, value in pairs]
        else:
            found["tag_json"] = json.dumps(pairs)
    if model_filter.has_version_in_stage is not None:
        found["stage"] = model_filter.has_version_in_stage.value
    return found
