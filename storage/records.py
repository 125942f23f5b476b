"""Plain immutable rows handed from storage to the layers above."""

from dataclasses import dataclass
from datetime import datetime

from storage.enums import ChangeCause, Stage


@dataclass(frozen=True, slots=True)
class ModelRecord:
    id: int
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str


@dataclass(frozen=True, slots=True)
class VersionRecord:
    id: int
    model_id: int
    version: int
    stage: Stage
    source: str
    run_id: str | None
    digest: str | None
    description: str
    metrics: dict[str, float]
    params: dict[str, str]
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    id: int
    model_id: int
    version: int
    from_stage: Stage
    to_stage: Stage
    cause: ChangeCause
    actor: str
    comment: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TagRecord:
    owner_id: int
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class AliasRecord:
    model_id: int
    alias: str
    version_id: int
    version: int
