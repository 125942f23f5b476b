"""Comparing versions of a model, as GraphQL sees it (computed in resolvers/comparison.py)."""

from __future__ import annotations

import strawberry

from resolvers import comparison
from resolvers.comparison import Comparison, Row
from schema.connections import Connection, connection
from schema.types import ModelVersion, RegisteredModel

_METRIC_CURSOR = "comparedMetrics"
_PARAM_CURSOR = "comparedParams"


@strawberry.type(description="One compared version's value of a metric.")
class MetricValue:
    version: int
    value: float | None = strawberry.field(description="Null: the version has no such metric.")
    delta: float | None = strawberry.field(
        description="value - the baseline's value; null when either is missing."
    )
    relative_delta: float | None = strawberry.field(
        description="delta / |the baseline's value| (0.05 is 5% more); null when either is "
        "missing or the baseline's value is 0."
    )


@strawberry.type(description="One metric across the compared versions.")
class MetricComparison:
    key: str
    baseline_value: float | None = strawberry.field(
        description="The baseline version's value; null when it has none or there is no baseline."
    )
    values: list[MetricValue] = strawberry.field(
        description="One per compared version, in the order of `versions`."
    )
    differs: bool = strawberry.field(
        description="Not the same in every compared version and the baseline (missing counts)."
    )

    @staticmethod
    def of(row: Row[float], versions: list[int]) -> MetricComparison:
        return MetricComparison(
            key=row.key,
            baseline_value=row.baseline,
            values=[
                MetricValue(
                    version=number,
                    value=value,
                    delta=comparison.delta(value, row.baseline),
                    relative_delta=comparison.relative_delta(value, row.baseline),
                )
                for number, value in zip(versions, row.values, strict=True)
            ],
            differs=row.differs,
        )


@strawberry.type(description="One compared version's value of a param (params compare as text).")
class ParamValue:
    version: int
    value: str | None = strawberry.field(description="Null: the version has no such param.")
    differs_from_baseline: bool | None = strawberry.field(
        description="The value is not the baseline's (one missing and not the other counts); "
        "null when there is no baseline."
    )


@strawberry.type(description="One param across the compared versions.")
class ParamComparison:
    key: str
    baseline_value: str | None = strawberry.field(
        description="The baseline version's value; null when it has none or there is no baseline."
    )
    values: list[ParamValue] = strawberry.field(
        description="One per compared version, in the order of `versions`."
    )
    differs: bool = strawberry.field(
        description="Not the same in every compared version and the baseline (missing counts)."
    )

    @staticmethod
    def of(row: Row[str], versions: list[int]) -> ParamComparison:
        return ParamComparison(
            key=row.key,
            baseline_value=row.baseline,
            values=[
                ParamValue(
                    version=number,
                    value=value,
                    differs_from_baseline=value != row.baseline if row.has_baseline else None,
                )
                for number, value in zip(versions, row.values, strict=True)
            ],
            differs=row.differs,
        )


@strawberry.type(
    description="Versions of one model side by side: every metric and param any of them (or "
    "the baseline) has, sorted by key, with each version's value and its delta against the "
    "baseline."
)
class VersionComparison:
    _comparison: strawberry.Private[Comparison]
    model: RegisteredModel
    versions: list[ModelVersion] = strawberry.field(description="In the order asked for.")
    baseline: ModelVersion | None = strawberry.field(
        description="What deltas are measured against: the `baseline` asked for, else the "
        "current PRODUCTION version; null when neither exists (then deltas are null)."
    )

    @staticmethod
    def of(found: Comparison) -> VersionComparison:
        return VersionComparison(
            _comparison=found,
            model=RegisteredModel.of(found.model),
            versions=[ModelVersion.of(v) for v in found.versions],
            baseline=ModelVersion.of(found.baseline) if found.baseline else None,
        )

    @strawberry.field(description="Metrics by key; `onlyDifferent` leaves out the equal ones.")
    def metrics(
        self, first: int | None = 100, after: str | None = None, only_different: bool = False
    ) -> Connection[MetricComparison]:
        page = comparison.page_of_rows(
            self._comparison.metrics,
            _METRIC_CURSOR,
            first=first,
            after=after,
            only_different=only_different,
        )
        numbers = [v.version for v in self._comparison.versions]
        return connection(page, lambda row: MetricComparison.of(row, numbers), after=after)

    @strawberry.field(description="Params by key; `onlyDifferent` leaves out the equal ones.")
    def params(
        self, first: int | None = 100, after: str | None = None, only_different: bool = False
    ) -> Connection[ParamComparison]:
        page = comparison.page_of_rows(
            self._comparison.params,
            _PARAM_CURSOR,
            first=first,
            after=after,
            only_different=only_different,
        )
        numbers = [v.version for v in self._comparison.versions]
        return connection(page, lambda row: ParamComparison.of(row, numbers), after=after)
