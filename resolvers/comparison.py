"""Versions of a model side by side: each metric and param, with deltas against a baseline.

The baseline is the version asked for, else the model's current PRODUCTION
version, else none (then there are no deltas). At most
`limits.COMPARED_VERSIONS_MAX` versions are compared at once; they are read in
one batch with the baseline, and the comparison is computed here, so a
dashboard shows what any client would get. Metrics compare as numbers (delta,
relative delta), params as strings (equal or not). Rows are sorted by key and
paged by key.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from resolvers import limits, validation
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, NotFound
from resolvers.models import get_model
from resolvers.pagination import Page, decode_cursor, encode_cursor, page_size
from storage.records import ModelRecord, VersionRecord

V = TypeVar("V", float, str)


@dataclass(frozen=True, slots=True)
class Row(Generic[V]):
    """One metric or param: each compared version's value (None: absent) and the baseline's."""

    key: str
    values: tuple[V | None, ...]
    baseline: V | None = None
    # False: no baseline version at all (not merely one without this key).
    has_baseline: bool = False

    @property
    def differs(self) -> bool:
        """Not the same in every version compared and the baseline (absent counts as a value)."""
        seen = {*self.values, self.baseline} if self.has_baseline else set(self.values)
        return len(seen) > 1


@dataclass(frozen=True, slots=True)
class Comparison:
    model: ModelRecord
    versions: list[VersionRecord]
    baseline: VersionRecord | None
    metrics: list[Row[float]]
    params: list[Row[str]]


def delta(value: float | None, baseline: float | None) -> float | None:
    """`value - baseline`; None when either is absent."""
    return None if value is None or baseline is None else value - baseline


def relative_delta(value: float | None, baseline: float | None) -> float | None:
    """The delta as a fraction of the baseline's size; None also when the baseline is 0."""
    change = delta(value, baseline)
    if change is None or not baseline:
        return None
    return change / abs(baseline)


def _numbers(versions: Sequence[int]) -> list[int]:
    if not versions:
        raise BadUserInput("compare at least one version", field="versions")
    limits.at_most(len(versions), limits.COMPARED_VERSIONS_MAX, "versions compared", "versions")
    for number in versions:
        validation.version_number(number, "versions")
    if len(set(versions)) != len(versions):
        raise BadUserInput("a version is given twice", field="versions")
    return list(versions)


async def compare_versions(
    ctx: RequestContext, name: str, versions: Sequence[int], baseline: int | None
) -> Comparison:
    """NOT_FOUND for an unknown model or version (all missing ones named in `versions`)."""
    numbers = _numbers(versions)
    if baseline is not None:
        validation.version_number(baseline, "baseline")
    model = await get_model(ctx, name)
    wanted = [*numbers, *([baseline] if baseline is not None else [])]
    found = await ctx.loaders.version_by_model_id.load_many([(model.id, n) for n in wanted])
    missing = [n for n, record in zip(wanted, found, strict=True) if record is None]
    if missing:
        listed = ", ".join(str(n) for n in missing)
        raise NotFound(f"model {name!r} has no version {listed}", model=name, versions=missing)
    records = [r for r in found if r is not None]
    compared = records[: len(numbers)]
    if baseline is not None:
        base: VersionRecord | None = records[-1]
    else:
        base = await ctx.loaders.production_version.load(model.id)
    return Comparison(
        model=model,
        versions=compared,
        baseline=base,
        metrics=_rows(compared, base, lambda v: v.metrics),
        params=_rows(compared, base, lambda v: v.params),
    )


def _rows(
    versions: Sequence[VersionRecord],
    baseline: VersionRecord | None,
    values_of: Callable[[VersionRecord], dict[str, V]],
) -> list[Row[V]]:
    """A row per key that any compared version (or the baseline) has, sorted by key."""
    tables: list[dict[str, V]] = [values_of(v) for v in versions]
    base: dict[str, V] = values_of(baseline) if baseline is not None else {}
    keys = sorted(set(base).union(*tables))
    return [
        Row(
            key,
            tuple(table.get(key) for table in tables),
            base.get(key),
            has_baseline=baseline is not None,
        )
        for key in keys
    ]


def page_of_rows(
    rows: Sequence[Row[V]], kind: str, *, first: int | None, after: str | None, only_different: bool
) -> Page[Row[V]]:
    """A page of rows by key (`after`: the last key seen); `only_different`: rows that differ."""
    size = page_size(first)
    listed = [r for r in rows if r.differs] if only_different else list(rows)
    following = listed
    if after is not None:
        (last,) = decode_cursor(after, kind, (str,))
        following = [r for r in listed if r.key > last]

    async def count() -> int:
        return len(listed)

    return Page(
        items=following[:size],
        has_next_page=len(following) > size,
        cursor_of=lambda row: encode_cursor(kind, row.key),
        count=count,
    )
