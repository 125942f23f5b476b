"""The registry's tables (SQLAlchemy Core). Alembic migrations mirror this file."""

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from storage.column_types import UTCDateTime

# Deterministic constraint names so migrations can refer to them on both backends.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite needs an INTEGER PRIMARY KEY to alias the rowid; PostgreSQL wants a bigint.
IdType = BigInteger().with_variant(Integer(), "sqlite")

STAGE_CHECK = "stage IN ('NONE', 'STAGING', 'PRODUCTION', 'ARCHIVED')"

models = Table(
    "models",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("description", Text, nullable=False, server_default=""),
    # The version counter row: incremented in the transaction that registers a
    # version, so numbers are distinct, gapless and never reused.
    Column("last_version", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("updated_by", String(256), nullable=False),
    Index("ix_models_created_at_id", "created_at", "id"),
    Index("ix_models_updated_at_id", "updated_at", "id"),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("model_id", IdType, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("stage", String(16), nullable=False, server_default="NONE"),
    Column("source", Text, nullable=False),
    Column("run_id", String(256), nullable=True),
    Column("digest", String(71), nullable=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("metrics", JSON, nullable=False),
    Column("params", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("updated_by", String(256), nullable=False),
    UniqueConstraint("model_id", "version"),
    CheckConstraint(STAGE_CHECK, name="stage"),
    Index("ix_model_versions_model_id_stage_version", "model_id", "stage", "version"),
    # The database itself refuses a second Production version of a model.
    Index(
        "uq_model_versions_one_production",
        "model_id",
        unique=True,
        sqlite_where=text("stage = 'PRODUCTION'"),
        postgresql_where=text("stage = 'PRODUCTION'"),
    ),
)

model_tags = Table(
    "model_tags",
    metadata,
    Column("model_id", IdType, ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("value", Text, nullable=False),
)

version_tags = Table(
    "version_tags",
    metadata,
    Column(
        "version_id",
        IdType,
        ForeignKey("model_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(256), primary_key=True),
    Column("value", Text, nullable=False),
)

aliases = Table(
    "aliases",
    metadata,
    Column("model_id", IdType, ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(256), primary_key=True),
    Column(
        "version_id",
        IdType,
        ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)

# Immutable: rows are only ever inserted. The version is a number, not a foreign
# key, so "who was in Production when" survives the deletion of a version.
stage_history = Table(
    "stage_history",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("model_id", IdType, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("from_stage", String(16), nullable=False),
    Column("to_stage", String(16), nullable=False),
    Column("cause", String(32), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("comment", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_stage_history_model_id_id", "model_id", "id"),
    Index("ix_stage_history_model_id_version_id", "model_id", "version", "id"),
)
