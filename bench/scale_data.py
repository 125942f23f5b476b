"""The scale benchmark's registry: rows generated in memory, in the real tables' shape.

A registry of `total_versions` versions: three big models of up to 20,000
versions each, the rest in models of 100 versions. Every model's story is the
same: each version was staged, then promoted to PRODUCTION, archiving the one
before it; one model in ten also has a newer version in NONE (picked by a hash
of the id, so not by name), and the RARE_MODELS rare ones a newer version in
STAGING (a candidate under review is the exception, not the rule). That makes
about three stage-history rows per version, as years of use would.

Rows are plain tuples in the column order of `COLUMNS`, so that both loaders
(SQLite executemany, PostgreSQL COPY) take them as they are. Timestamps are
datetimes; the SQLite loader turns them into the text SQLAlchemy stores.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

BIG_MODELS = 3
BIG_MODEL_MAX_VERSIONS = 20_000
VERSIONS_PER_MODEL = 100
ACTOR = "bench-loader"
START = datetime(2024, 1, 1, tzinfo=UTC)

# Names are "<domain>-<task>-<number>": prefix filters match one domain (a
# twentieth of the models at every size); the RARE_MODELS rare models are
# "<RARE_DOMAIN>-<RARE_TASK>-<number>" at every size, so a prefix or a
# substring search for them finds the same few models in 1k versions as in 1M.
# Every filter is measured both ways: a fixed handful of models (the same
# answer at every size: what the 1M/1k ratio is about) and a fixed share of
# them (an answer that grows with the registry until the page is full).
DOMAINS = tuple(
    f"{word}"
    for word in (
        "ads", "billing", "churn", "credit", "delivery", "email", "forecast", "growth",
        "health", "images", "inventory", "ledger", "maps", "news", "orders", "pricing",
        "quality", "search", "support", "video",
    )
)  # fmt: skip
TASKS = ("ranker", "scorer", "embedder", "classifier", "regressor", "tagger", "detector")
RARE_DOMAIN = "riskops"
RARE_TASK = "fraudwatch"
RARE_MODELS = 5
TEAMS = tuple(f"team-{i:02d}" for i in range(20))
# A tag value only RARE_MODELS models carry.
RARE_OWNER = "risk-office"

COLUMNS = {
    "models": (
        "id", "name", "description", "last_version",
        "created_at", "updated_at", "created_by", "updated_by",
    ),
    "model_versions": (
        "id", "model_id", "version", "stage", "source", "run_id", "digest", "description",
        "metrics", "params", "created_at", "updated_at", "created_by", "updated_by",
    ),
    "stage_history": (
        "id", "model_id", "version", "from_stage", "to_stage", "cause", "actor",
        "comment", "override_reason", "created_at",
    ),
    "model_tags": ("model_id", "key", "value"),
    "version_tags": ("version_id", "key", "value"),
    "transition_requests": (
        "id", "model_id", "version", "from_stage", "to_stage", "archive_existing",
        "alias", "alias_from_version", "removes_alias", "status", "comment",
        "requested_by", "created_at", "updated_at", "resolved_at", "resolved_by",
    ),
}  # fmt: skip

_METRICS = json.dumps({"accuracy": 0.93, "loss": 0.21})
_PARAMS = json.dumps({"learning_rate": "0.001", "epochs": "10"})


@dataclass(frozen=True)
class ModelPlan:
    """One model to generate: its id, name and number of versions."""

    id: int
    name: str
    versions: int

    @property
    def tail(self) -> str:
        """What follows the PRODUCTION version: a STAGING one, a NONE one, or nothing."""
        if self.name.startswith(f"{RARE_DOMAIN}-"):
            return "STAGING"
        # Scattered over the models (not every tenth id: names follow ids).
        return "NONE" if self.id * 2654435761 % 2**32 % 10 == 1 else ""

    def stage_of(self, version: int) -> str:
        production = self.versions - (1 if self.tail else 0)
        if version == production:
            return "PRODUCTION"
        return self.tail if version > production else "ARCHIVED"


def big_model_name(index: int) -> str:
    return f"bench-big-{index}"


def plan(total_versions: int) -> list[ModelPlan]:
    """The models of a registry of `total_versions` versions."""
    big = min(BIG_MODEL_MAX_VERSIONS, total_versions // 10)
    plans = [ModelPlan(i + 1, big_model_name(i), big) for i in range(BIG_MODELS)]
    regular = max(RARE_MODELS, (total_versions - BIG_MODELS * big) // VERSIONS_PER_MODEL)
    for i in range(regular):
        rare = i < RARE_MODELS
        domain = RARE_DOMAIN if rare else DOMAINS[i % len(DOMAINS)]
        task = RARE_TASK if rare else TASKS[i % len(TASKS)]
        name = f"{domain}-{task}-{i:05d}"
        plans.append(ModelPlan(len(plans) + 1, name, VERSIONS_PER_MODEL))
    return plans


def _time(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


def model_rows(plans: list[ModelPlan]) -> Iterator[tuple[object, ...]]:
    for m in plans:
        created = _time(m.id)
        updated = _time(m.id * 1000 + m.versions)
        description = f"{m.name}: generated for the scale benchmark"
        yield (m.id, m.name, description, m.versions, created, updated, ACTOR, ACTOR)


def version_id(m: ModelPlan, version: int, first_ids: dict[int, int]) -> int:
    return first_ids[m.id] + version - 1


def first_version_ids(plans: list[ModelPlan]) -> dict[int, int]:
    """The id of each model's version 1 (versions of a model have consecutive ids)."""
    ids, next_id = {}, 1
    for m in plans:
        ids[m.id] = next_id
        next_id += m.versions
    return ids


def version_rows(plans: list[ModelPlan]) -> Iterator[tuple[object, ...]]:
    next_id = 1
    for m in plans:
        for v in range(1, m.versions + 1):
            at = _time(m.id * 1000 + v)
            yield (
                next_id, m.id, v, m.stage_of(v), f"s3://bench/{m.name}/{v}/model",
                f"run-{m.id}-{v}", None, "", _METRICS, _PARAMS, at, at, ACTOR, ACTOR,
            )  # fmt: skip
            next_id += 1


def history_rows(plans: list[ModelPlan]) -> Iterator[tuple[object, ...]]:
    """Each version staged, then promoted (archiving the one before); ids in time order."""
    next_id = 1
    for m in plans:
        for v in range(1, m.versions + 1):
            at = _time(m.id * 1000 + v)
            stage = m.stage_of(v)
            changes: list[tuple[int, str, str, str]] = []
            if stage != "NONE":
                changes.append((v, "NONE", "STAGING", "transition"))
            if stage in ("PRODUCTION", "ARCHIVED"):
                changes.append((v, "STAGING", "PRODUCTION", "transition"))
                if v > 1:
                    changes.append((v - 1, "PRODUCTION", "ARCHIVED", "archive_existing"))
            for version, before, after, cause in changes:
                yield (next_id, m.id, version, before, after, cause, ACTOR, None, None, at)
                next_id += 1


def expected_history_rows(plans: list[ModelPlan]) -> int:
    total = 0
    for m in plans:
        promoted = m.versions - (1 if m.tail else 0)
        staged = m.versions - (1 if m.tail == "NONE" else 0)
        total += staged + promoted + (promoted - 1)
    return total


def model_tag_rows(plans: list[ModelPlan]) -> Iterator[tuple[object, ...]]:
    for m in plans:
        yield (m.id, "team", TEAMS[m.id % len(TEAMS)])
        yield (m.id, "tier", ("gold", "silver", "bronze")[m.id % 3])
        if RARE_TASK in m.name:
            yield (m.id, "owner", RARE_OWNER)


def version_tag_rows(plans: list[ModelPlan]) -> Iterator[tuple[object, ...]]:
    next_id = 1
    for m in plans:
        for v in range(1, m.versions + 1):
            yield (next_id, "git_sha", f"{m.id:08x}{v:08x}")
            next_id += 1


def request_rows(plans: list[ModelPlan]) -> Iterator[tuple[object, ...]]:
    """A completed request for every tenth promotion, and one pending request per model."""
    next_id = 1
    for m in plans:
        promoted = m.versions - (1 if m.tail else 0)
        for v in range(1, promoted + 1):
            if v % 10 and v != promoted:
                continue
            at = _time(m.id * 1000 + v)
            yield (
                next_id, m.id, v, "STAGING", "PRODUCTION", True, None, None, False,
                "COMPLETED", None, ACTOR, at, at, at, ACTOR,
            )  # fmt: skip
            next_id += 1
        at = _time(m.id * 1000 + m.versions)
        yield (
            next_id, m.id, m.versions, m.stage_of(m.versions), "ARCHIVED", False, None, None,
            False, "PENDING", "retire?", ACTOR, at, at, None, None,
        )  # fmt: skip
        next_id += 1


TABLE_ROWS = {
    "models": model_rows,
    "model_versions": version_rows,
    "stage_history": history_rows,
    "model_tags": model_tag_rows,
    "version_tags": version_tag_rows,
    "transition_requests": request_rows,
}
