"""event sequences: the database numbers a model's events as they are inserted

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 09:00:00.000000

Until now every change ran a statement of its own before its events' INSERT
to reserve sequence numbers in `event_sequences`: a statement per write,
which cost more than the row itself. A trigger now does it inside the INSERT:
an event of a model inserted without a `sequence` takes the model's next one
from the same counter row (so numbering carries on where it was). On
PostgreSQL a BEFORE trigger sets it on the row; SQLite's triggers cannot
change the row being inserted, so an AFTER trigger updates it. Either way the
counter row stays locked to the writing transaction, as the upsert was.

Events inserted from here on carry the number in their `sequence` column
only; readers add it to `data` (see storage/queries/events.py), as writers did.

SQLite drops a table's triggers when a migration rebuilds the table (alembic's
batch mode): a later migration that rebuilds `webhook_events` must create this
trigger again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGER = """
CREATE TRIGGER webhook_events_sequence AFTER INSERT ON webhook_events
FOR EACH ROW WHEN NEW.model_name IS NOT NULL AND NEW.sequence IS NULL
BEGIN
    INSERT INTO event_sequences (model_name, last_sequence) VALUES (NEW.model_name, 1)
    ON CONFLICT (model_name) DO UPDATE SET last_sequence = last_sequence + 1;
    UPDATE webhook_events
    SET sequence = (SELECT last_sequence FROM event_sequences WHERE model_name = NEW.model_name)
    WHERE id = NEW.id;
END
"""

_POSTGRESQL_FUNCTION = """
CREATE FUNCTION modelreg_event_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_sequences AS s (model_name, last_sequence) VALUES (NEW.model_name, 1)
    ON CONFLICT (model_name) DO UPDATE SET last_sequence = s.last_sequence + 1
    RETURNING s.last_sequence INTO NEW.sequence;
    RETURN NEW;
END
$$
"""

_POSTGRESQL_TRIGGER = """
CREATE TRIGGER webhook_events_sequence BEFORE INSERT ON webhook_events
FOR EACH ROW WHEN (NEW.model_name IS NOT NULL AND NEW.sequence IS NULL)
EXECUTE FUNCTION modelreg_event_sequence()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRESQL_FUNCTION)
        op.execute(_POSTGRESQL_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS webhook_events_sequence" + _ON_TABLE[_dialect()])
    if _dialect() == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS modelreg_event_sequence()")


_ON_TABLE = {"postgresql": " ON webhook_events", "sqlite": ""}


def _dialect() -> str:
    return str(op.get_bind().dialect.name)
