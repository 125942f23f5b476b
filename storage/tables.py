"""The registry's tables (SQLAlchemy Core). Alembic migrations mirror this file."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

from storage.column_types import UTCDateTime

# Search structures one backend has and the other has not, made by migration
# 0005 outside this metadata: PostgreSQL's byte-order and trigram indexes on
# model names, SQLite's FTS5 trigram table of model names (and the tables FTS5
# keeps beside it, named after it).
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_models_name_c", "ix_models_name_trgm"})
SQLITE_NAME_SEARCH = "models_name_search"

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
    # MLflow 3's logged model (`m-<id>`) the version was registered from, and the
    # link to its run on the team's tracking server: stored as given, never looked up.
    Column("logged_model_id", String(256), nullable=True),
    Column("run_link", Text, nullable=True),
    UniqueConstraint("model_id", "version"),
    CheckConstraint(STAGE_CHECK, name="stage"),
    Index("ix_model_versions_model_id_stage_version", "model_id", "stage", "version"),
    # models(filter: {hasVersionInStage}) reads the models in a stage from here.
    Index("ix_model_versions_stage_model_id", "stage", "model_id"),
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
    # models(filter: {tags}) reads the models with a tag from here.
    Index("ix_model_tags_key_value_model_id", "key", "value", "model_id"),
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
    # Set when an admin forced a transition past its stage policy: why they did.
    Column("override_reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_stage_history_model_id_id", "model_id", "id"),
    Index("ix_stage_history_model_id_version_id", "model_id", "version", "id"),
    # versionAt(stage: PRODUCTION, at: T): the last promotion of a model at or before T.
    Index(
        "ix_stage_history_model_id_to_stage_created_at_id",
        "model_id",
        "to_stage",
        "created_at",
        "id",
    ),
)

# A version's model card (Markdown): what a reviewer reads. No row: no card.
# Kept apart from model_versions so that lists of versions never read it.
model_cards = Table(
    "model_cards",
    metadata,
    Column(
        "version_id",
        IdType,
        ForeignKey("model_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("model_card", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(256), nullable=False),
)

# Append-only: every change of a version's card, with the text before and after
# (None: no card). They go with the version when it is deleted.
model_card_revisions = Table(
    "model_card_revisions",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column(
        "version_id",
        IdType,
        ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("model_card", Text, nullable=True),
    Column("previous_model_card", Text, nullable=True),
    Column("actor", String(256), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_model_card_revisions_version_id_id", "version_id", "id"),
)

# One row per deleted version: when it went, and from which stage. The stage
# history has no row for a deletion, so this is what tells "was version 3 still
# in Production at time T" once version 3 is gone.
deleted_versions = Table(
    "deleted_versions",
    metadata,
    Column("model_id", IdType, ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("stage", String(16), nullable=False),
    Column("deleted_at", UTCDateTime, nullable=False),
    Column("deleted_by", String(256), nullable=False),
)


# --- Webhooks -------------------------------------------------------------

# The last event sequence number per model name. Keyed by name, not id, so a
# model deleted and registered again keeps counting up and consumers that drop
# "stale" events (sequence <= the last one seen) never drop the new model's.
# A trigger on webhook_events takes the numbers as events are inserted (migration
# 0011; SQLite drops it if a migration rebuilds webhook_events: create it again).
event_sequences = Table(
    "event_sequences",
    metadata,
    Column("model_name", String(256), primary_key=True),
    Column("last_sequence", BigInteger, nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False),
    # Filters; an empty list of model names or stages means "all".
    Column("event_types", JSON, nullable=False),
    Column("model_names", JSON, nullable=False),
    Column("stages", JSON, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    # Sealed (see webhooks/secrets.py): encrypted when MODELREG_SECRET_KEY is set.
    Column("secret", Text, nullable=False),
    # After a rotation the old secret keeps signing beside the new one until then.
    Column("previous_secret", Text, nullable=True),
    Column("previous_secret_expires_at", UTCDateTime, nullable=True),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("disabled_reason", Text, nullable=True),
    # Start of the current run of failed attempts (None after any success).
    Column("failing_since", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("updated_by", String(256), nullable=False),
)

# The event log: every change writes its events here, in its own transaction,
# whether or not anything subscribes (the table keeps the name it had when only
# webhooks read it). Webhook deliveries point at these rows; subscriptions, the
# `events` query and `modelreg watch` read them in log order (see storage/queries/events.py).
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("type", String(64), nullable=False),
    Column("model_name", String(256), nullable=True),
    Column("sequence", BigInteger, nullable=True),
    Column("data", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # The request that made the event (x-request-id), for traces and logs of its sends.
    Column("request_id", String(64), nullable=True),
    # Who made the change, the version it is about and the stage a version moved
    # into (for filters; all three are also somewhere in `data`).
    Column("actor", String(256), nullable=True),
    Column("version", Integer, nullable=True),
    Column("stage", String(16), nullable=True),
    # PostgreSQL: the id of the transaction that wrote the event (pg_current_xact_id);
    # readers order by (xid, id) and never read past the oldest transaction still
    # running, so the log order is one in which nothing can commit behind a reader.
    # SQLite (one writer at a time): 0, and id order is commit order.
    Column("xid", BigInteger, nullable=False, server_default="0"),
    Index("ix_webhook_events_xid_id", "xid", "id"),
    Index("ix_webhook_events_model_name_xid_id", "model_name", "xid", "id"),
    Index("ix_webhook_events_created_at", "created_at"),
)

DELIVERY_STATUS_CHECK = "status IN ('PENDING', 'SUCCEEDED', 'FAILED')"

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    # Sent as `webhook-id`: the same on every attempt and redelivery.
    Column("message_id", String(64), nullable=False, unique=True),
    Column("webhook_id", IdType, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", IdType, ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False),
    # Deliveries with the same (webhook, ordering key) go out one at a time in
    # id order: the key is the model name ("" for events of no model).
    Column("ordering_key", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempt_count", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    # A dispatcher owns the delivery until then; a crashed one's claim expires.
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    CheckConstraint(DELIVERY_STATUS_CHECK, name="status"),
    Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    Index(
        "ix_webhook_deliveries_webhook_id_ordering_key_status_id",
        "webhook_id",
        "ordering_key",
        "status",
        "id",
    ),
    Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),
    Index("ix_webhook_deliveries_event_id", "event_id"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        IdType,
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("attempted_at", UTCDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("duration_ms", Float, nullable=False),
    Column("error", Text, nullable=True),
    # The first 2 KB of the response, for operators; never shown by testWebhook.
    Column("response_body", Text, nullable=True),
    Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"),
)


# --- Governance: tokens, stage policies, transition requests, audit log -----

ROLE_CHECK = "role IN ('reader', 'writer', 'maintainer', 'admin')"

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    # The actor name recorded on everything the token does; never reused.
    Column("name", String(256), nullable=False, unique=True),
    # SHA-256 of the token: the token itself is shown once and never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    # The first characters of the token, so an operator can tell which one leaked.
    Column("prefix", String(16), nullable=False),
    Column("role", String(16), nullable=False),
    # fnmatch patterns of the model names the token may change; empty: all.
    Column("model_patterns", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_by", String(256), nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
    CheckConstraint(ROLE_CHECK, name="role"),
)

# What a transition into a stage needs: a global row per stage, and per-model
# overrides. No row at all means the built-in default (PRODUCTION: 1 approval).
stage_policies = Table(
    "stage_policies",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("model_id", IdType, ForeignKey("models.id", ondelete="CASCADE"), nullable=True),
    Column("stage", String(16), nullable=False),
    Column("required_approvals", Integer, nullable=False),
    Column("required_checks", JSON, nullable=False),
    # A version needs a model card to enter the stage (by transition or request).
    Column("require_model_card", Boolean, nullable=False, server_default=false()),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(256), nullable=False),
    CheckConstraint(STAGE_CHECK, name="stage"),
    CheckConstraint("required_approvals >= 0", name="required_approvals"),
    Index(
        "uq_stage_policies_model_stage",
        "model_id",
        "stage",
        unique=True,
        sqlite_where=text("model_id IS NOT NULL"),
        postgresql_where=text("model_id IS NOT NULL"),
    ),
    Index(
        "uq_stage_policies_global_stage",
        "stage",
        unique=True,
        sqlite_where=text("model_id IS NULL"),
        postgresql_where=text("model_id IS NULL"),
    ),
)

# Protected aliases: what moving or deleting an alias needs. A global row per
# alias name and per-model overrides; no row at all means the alias is unprotected.
alias_policies = Table(
    "alias_policies",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("model_id", IdType, ForeignKey("models.id", ondelete="CASCADE"), nullable=True),
    Column("alias", String(256), nullable=False),
    Column("required_approvals", Integer, nullable=False),
    Column("required_checks", JSON, nullable=False),
    # Who may move the alias directly when nothing is required, and approve requests for it.
    Column("role", String(16), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(256), nullable=False),
    CheckConstraint(ROLE_CHECK, name="role"),
    CheckConstraint("required_approvals >= 0", name="required_approvals"),
    Index(
        "uq_alias_policies_model_alias",
        "model_id",
        "alias",
        unique=True,
        sqlite_where=text("model_id IS NOT NULL"),
        postgresql_where=text("model_id IS NOT NULL"),
    ),
    Index(
        "uq_alias_policies_global_alias",
        "alias",
        unique=True,
        sqlite_where=text("model_id IS NULL"),
        postgresql_where=text("model_id IS NULL"),
    ),
)

ALIAS_CAUSE_CHECK = "cause IN ('set', 'delete', 'approval', 'force', 'version_deleted')"

# Immutable, like the stage history: every move of every alias, protected or
# not. Versions are numbers, so the rows outlive the versions they name, and
# (model, alias, time) answers "which version held @champion at time T".
alias_history = Table(
    "alias_history",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("model_id", IdType, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("alias", String(256), nullable=False),
    # None: the alias did not exist before (from) or was deleted (to).
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=True),
    Column("cause", String(32), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("comment", Text, nullable=True),
    # Set when an admin forced the move past the alias policy: why they did.
    Column("override_reason", Text, nullable=True),
    # The transition request whose approval moved it (cause `approval`).
    Column("transition_request_id", IdType, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(ALIAS_CAUSE_CHECK, name="cause"),
    Index("ix_alias_history_model_id_id", "model_id", "id"),
    Index("ix_alias_history_model_id_alias_id", "model_id", "alias", "id"),
    Index("ix_alias_history_model_id_alias_created_at", "model_id", "alias", "created_at"),
)

REQUEST_STATUS_CHECK = "status IN ('PENDING', 'COMPLETED', 'REJECTED', 'CANCELLED', 'STALE')"
# A request targets a stage (from_stage, to_stage) or an alias, never both.
REQUEST_TARGET_CHECK = (
    "(alias IS NULL AND from_stage IS NOT NULL AND to_stage IS NOT NULL) OR "
    "(alias IS NOT NULL AND from_stage IS NULL AND to_stage IS NULL)"
)

transition_requests = Table(
    "transition_requests",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("model_id", IdType, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    # A number, like the history: a deleted version leaves a STALE request behind.
    Column("version", Integer, nullable=False),
    # Stage requests: the version's stage when requested (if it moves meanwhile,
    # the request is STALE) and the stage asked for.
    Column("from_stage", String(16), nullable=True),
    Column("to_stage", String(16), nullable=True),
    Column("archive_existing", Boolean, nullable=False),
    # Alias requests: the alias to point at `version` (or to delete, when it points
    # there), and where it pointed when requested: if it moves meanwhile, STALE.
    Column("alias", String(256), nullable=True),
    Column("alias_from_version", Integer, nullable=True),
    Column("removes_alias", Boolean, nullable=False, server_default=false()),
    Column("status", String(16), nullable=False),
    Column("comment", Text, nullable=True),
    Column("requested_by", String(256), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolved_by", String(256), nullable=True),
    CheckConstraint(REQUEST_STATUS_CHECK, name="status"),
    CheckConstraint("to_stage IN ('NONE', 'STAGING', 'PRODUCTION', 'ARCHIVED')", name="to_stage"),
    CheckConstraint(REQUEST_TARGET_CHECK, name="target"),
    Index("ix_transition_requests_model_id_status_id", "model_id", "status", "id"),
    Index("ix_transition_requests_status_id", "status", "id"),
    # A model's requests newest first, and a version's.
    Index("ix_transition_requests_model_id_id", "model_id", "id"),
    Index("ix_transition_requests_model_id_version_id", "model_id", "version", "id"),
)

# Approvals, rejections and comments on a request, append-only.
transition_reviews = Table(
    "transition_reviews",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column(
        "request_id",
        IdType,
        ForeignKey("transition_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(16), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("comment", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("kind IN ('APPROVED', 'REJECTED', 'COMMENTED')", name="kind"),
    Index("ix_transition_reviews_request_id_id", "request_id", "id"),
)

# CI check reports on a request, append-only: the latest report per name counts.
check_reports = Table(
    "check_reports",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column(
        "request_id",
        IdType,
        ForeignKey("transition_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("summary", Text, nullable=True),
    Column("details_url", Text, nullable=True),
    Column("reported_by", String(256), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("status IN ('PENDING', 'SUCCESS', 'FAILURE')", name="status"),
    Index("ix_check_reports_request_id_name_id", "request_id", "name", "id"),
)

# Append-only: no code path updates or deletes a row. Model names, not ids,
# so the record of a deleted model stays.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("actor", String(256), nullable=False),
    Column("action", String(64), nullable=False),
    Column("model_name", String(256), nullable=True),
    Column("target", Text, nullable=True),
    # The mutation's input with secrets removed (see resolvers/audit.py).
    Column("input", JSON, nullable=False),
    # OK, or the error code of a refused call.
    Column("result", String(32), nullable=False),
    Column("message", Text, nullable=True),
    Column("request_id", String(64), nullable=False),
    Column("client_address", String(64), nullable=True),
    Index("ix_audit_log_actor_id", "actor", "id"),
    Index("ix_audit_log_model_name_id", "model_name", "id"),
    Index("ix_audit_log_action_id", "action", "id"),
    Index("ix_audit_log_created_at", "created_at"),
)
