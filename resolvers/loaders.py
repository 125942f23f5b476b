"""Per-request DataLoaders: nested fields cost one query per field, not per item.

All batches of a request read through one connection, taken from the pool on
first use and handed back when the request ends (`close`). Sibling fields
resolve concurrently and an AsyncConnection must never be used by two of them
at once, so a lock lets one batch at a time use it. Taking a pooled
connection per batch cost ~120 us each on this machine, a tenth of a typical
read request.
"""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from resolvers import limits
from resolvers.errors import RegistryError, database_errors
from storage.database import Database
from storage.enums import RequestStatus, Stage
from storage.pagination import PageRequest
from storage.queries import (
    alias_history,
    alias_policies,
    aliases,
    history,
    history_at,
    model_cards,
    model_reads,
    models,
    policies,
    reviews,
    tags,
    transition_requests,
    version_labels,
    versions,
)
from storage.queries.history_at import HeldAt
from storage.queries.tags import TagOwner
from storage.queries.version_labels import VersionLabels
from storage.quick_reads import QuickReads
from storage.records import (
    AliasHistoryRecord,
    AliasPolicyRecord,
    AliasRecord,
    CardRevisionRecord,
    CheckReportRecord,
    HistoryRecord,
    ModelRecord,
    PolicyRecord,
    ReviewRecord,
    TagRecord,
    TransitionRequestRecord,
    VersionRecord,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
G = TypeVar("G", bound=Hashable)
R = TypeVar("R")

Fetch = Callable[[AsyncConnection, Sequence[K]], Awaitable[Mapping[K, V]]]
# One key read outside the pool (storage/quick_reads.py); None: read it through the pool.
QuickFetch = Callable[[QuickReads, K], Mapping[K, V] | None]

# (owner, page) keys: the page part groups keys into one statement each.
VersionPageKey = tuple[int, Stage | None, PageRequest]
HistoryPageKey = tuple[int, PageRequest]
VersionHistoryPageKey = tuple[tuple[int, int], PageRequest]
VersionRequestsKey = tuple[tuple[int, int], RequestStatus | None]
AliasHistoryPageKey = tuple[tuple[int, str], PageRequest]
# (model id, alias or None for PRODUCTION, time): what held it then.
HeldAtKey = tuple[int, str | None, datetime]
_NOTHING_HELD = HeldAt(None, None, None)
# Lists shown whole are read as a page of their limit: the rest is never read.
_LISTED_STAGING = PageRequest(first=limits.LISTED_STAGING_VERSIONS, descending=True)


async def _policies_by_model(
    conn: AsyncConnection, model_ids: Sequence[int]
) -> dict[int, list[PolicyRecord]]:
    """Per model: the global policy rows and the model's own overrides."""
    rows = await policies.policies_of(conn, model_ids)
    return {m: [r for r in rows if r.model_id in (None, m)] for m in model_ids}


async def _alias_policies_by_model(
    conn: AsyncConnection, model_ids: Sequence[int]
) -> dict[int, list[AliasPolicyRecord]]:
    """Per model: the global alias policies and the model's own overrides."""
    rows = await alias_policies.alias_policies_of(conn, model_ids)
    return {m: [r for r in rows if r.model_id in (None, m)] for m in model_ids}


async def _held_at(
    conn: AsyncConnection, model_ids: Sequence[int], target: tuple[str | None, datetime]
) -> dict[int, HeldAt]:
    alias, at = target
    if alias is None:
        return await history_at.production_at(conn, model_ids, at)
    return await history_at.alias_at(conn, model_ids, alias, at)


def _retrieve_outcome(task: "asyncio.Future[Any]") -> None:
    """Fetch a read's error even when its cancelled caller no longer waits for it.

    Otherwise asyncio logs "exception was never retrieved" for it.
    """
    if not task.cancelled():
        task.exception()


class Loaders:
    """The DataLoaders of one request."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._connection: AsyncConnection | None = None
        self._connection_lock = asyncio.Lock()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """This request's read connection, for one batch at a time.

        A busy, timed-out or unreachable database raises its DATABASE_* error.
        """
        async with self._connection_lock, database_errors():
            if self._connection is None:
                self._connection = await self._db.reader.connect()
            try:
                yield self._connection
            except RegistryError:
                raise  # a resolver's own answer: the connection is as good as before
            except BaseException:
                await self._discard()
                raise

    async def _discard(self) -> None:
        """Give up the read connection a batch failed in; the next batch takes another.

        graphql-core cancels the sibling fields of a field whose error nulls
        their parent, and strawberry then cancels a batch whose callers have all
        gone: a statement cancelled mid-flight invalidates its connection. On
        PostgreSQL a failed statement also aborts the transaction. Either way
        every later batch of the request would fail (INTERNAL_SERVER_ERROR).
        """
        connection, self._connection = self._connection, None
        if connection is not None:
            # Closing an invalidated connection only tells the pool to forget
            # it; shielded, so that a second cancellation cannot cut it short.
            with contextlib.suppress(Exception):
                await asyncio.shield(connection.close())

    async def close(self) -> None:
        """Hand the read connection back to the pool, once no batch reads through it."""
        async with self._connection_lock:
            if self._connection is not None:
                connection, self._connection = self._connection, None
                await connection.close()

    # Each loader is made on first use: a request touches only a few of them.

    @cached_property
    def model_by_id(self) -> DataLoader[int, ModelRecord | None]:
        return self._loader(models.get_models_by_ids, None)

    @cached_property
    def model_by_name(self) -> DataLoader[str, ModelRecord | None]:
        return self._loader(models.get_models_by_names, None)

    @cached_property
    def model_with_production(self) -> DataLoader[str, model_reads.ModelWithProduction | None]:
        return self._loader(
            model_reads.models_with_production,
            None,
            quick=model_reads.model_with_production_quickly,
        )

    @cached_property
    def version_by_id(self) -> DataLoader[int, VersionRecord | None]:
        return self._loader(versions.get_versions_by_ids, None)

    @cached_property
    def version_by_name(self) -> DataLoader[tuple[str, int], VersionRecord | None]:
        return self._loader(versions.get_versions_by_name, None)

    @cached_property
    def version_by_model_id(self) -> DataLoader[tuple[int, int], VersionRecord | None]:
        return self._loader(versions.get_versions_by_number, None)

    @cached_property
    def production_version(self) -> DataLoader[int, VersionRecord | None]:
        return self._loader(versions.production_versions, None)

    @cached_property
    def latest_version(self) -> DataLoader[int, VersionRecord | None]:
        return self._loader(versions.latest_versions, None)

    @cached_property
    def staging_versions(self) -> DataLoader[int, list[VersionRecord]]:
        return self._loader(
            lambda c, ids: versions.version_pages(c, ids, Stage.STAGING, _LISTED_STAGING), []
        )

    @cached_property
    def model_tags(self) -> DataLoader[int, list[TagRecord]]:
        return self._loader(lambda c, ids: tags.tags_of(c, TagOwner.MODEL, ids), [])

    @cached_property
    def version_tags(self) -> DataLoader[int, list[TagRecord]]:
        return self._loader(lambda c, ids: tags.tags_of(c, TagOwner.VERSION, ids), [])

    @cached_property
    def model_aliases(self) -> DataLoader[int, list[AliasRecord]]:
        return self._loader(aliases.aliases_of_models, [])

    @cached_property
    def version_aliases(self) -> DataLoader[int, list[AliasRecord]]:
        return self._loader(aliases.aliases_of_versions, [])

    @cached_property
    def version_labels(self) -> DataLoader[int, VersionLabels]:
        return self._loader(
            version_labels.labels_of_versions,
            VersionLabels(),
            quick=version_labels.labels_of_version_quickly,
        )

    @cached_property
    def version_page(self) -> DataLoader[VersionPageKey, list[VersionRecord]]:
        return self._grouped(
            lambda key: (key[1], key[2]),
            lambda c, ids, group: versions.version_pages(c, ids, group[0], group[1]),
        )

    @cached_property
    def version_count(self) -> DataLoader[tuple[int, Stage | None], int]:
        return self._grouped(lambda key: key[1], versions.count_versions, default=0)

    @cached_property
    def history_page(self) -> DataLoader[HistoryPageKey, list[HistoryRecord]]:
        return self._grouped(lambda key: key[1], history.history_pages)

    @cached_property
    def history_count(self) -> DataLoader[int, int]:
        return self._loader(history.count_history, 0)

    @cached_property
    def version_history_page(self) -> DataLoader[VersionHistoryPageKey, list[HistoryRecord]]:
        return self._grouped(lambda key: key[1], history.version_history_pages)

    @cached_property
    def version_history_count(self) -> DataLoader[tuple[int, int], int]:
        return self._loader(history.count_version_history, 0)

    @cached_property
    def transition_request(self) -> DataLoader[int, TransitionRequestRecord | None]:
        return self._loader(transition_requests.get_requests, None)

    @cached_property
    def version_requests(self) -> DataLoader[VersionRequestsKey, list[TransitionRequestRecord]]:
        return self._grouped(
            lambda key: key[1],
            lambda c, keys, status: transition_requests.requests_of_versions(
                c, keys, status, limit=limits.LISTED_REQUESTS_OF_VERSION
            ),
        )

    @cached_property
    def request_reviews(self) -> DataLoader[int, list[ReviewRecord]]:
        return self._loader(reviews.reviews_of, [])

    @cached_property
    def request_checks(self) -> DataLoader[int, list[CheckReportRecord]]:
        return self._loader(reviews.check_reports_of, [])

    @cached_property
    def model_policies(self) -> DataLoader[int, list[PolicyRecord]]:
        return self._loader(_policies_by_model, [])

    @cached_property
    def model_alias_policies(self) -> DataLoader[int, list[AliasPolicyRecord]]:
        return self._loader(_alias_policies_by_model, [])

    @cached_property
    def alias_history_page(self) -> DataLoader[HistoryPageKey, list[AliasHistoryRecord]]:
        return self._grouped(lambda key: key[1], alias_history.history_pages)

    @cached_property
    def alias_history_count(self) -> DataLoader[int, int]:
        return self._loader(alias_history.count_history, 0)

    @cached_property
    def one_alias_history_page(self) -> DataLoader[AliasHistoryPageKey, list[AliasHistoryRecord]]:
        return self._grouped(lambda key: key[1], alias_history.alias_history_pages)

    @cached_property
    def one_alias_history_count(self) -> DataLoader[tuple[int, str], int]:
        return self._loader(alias_history.count_alias_history, 0)

    @cached_property
    def model_card(self) -> DataLoader[int, str | None]:
        return self._loader(model_cards.cards_of, None)

    @cached_property
    def card_revision_page(self) -> DataLoader[HistoryPageKey, list[CardRevisionRecord]]:
        return self._grouped(lambda key: key[1], model_cards.revision_pages)

    @cached_property
    def card_revision_count(self) -> DataLoader[int, int]:
        return self._loader(model_cards.count_revisions, 0)

    @cached_property
    def held_at(self) -> DataLoader[HeldAtKey, HeldAt]:
        return self._grouped(lambda key: (key[1], key[2]), _held_at, default=_NOTHING_HELD)

    async def _read_through(self, read: Callable[[AsyncConnection], Awaitable[R]]) -> R:
        """Run a batch's reads to their end, even when the batch is cancelled.

        strawberry cancels a batch whose callers have all gone (graphql-core
        cancels the sibling fields of a field whose error nulls their parent),
        sometimes more than once. SQLAlchemy's async connections do not survive
        a statement cancelled mid-flight: the connection is invalidated, and a
        second cancellation during that hung the request or left a closed
        connection in the pool for a later request (INTERNAL_SERVER_ERROR,
        HTTP 500). A batch's statements are short and bounded: they finish in a
        task of their own, and `close` waits for them.
        """

        async def run() -> R:
            async with self.reading() as conn:
                return await read(conn)

        task = asyncio.ensure_future(run())
        task.add_done_callback(_retrieve_outcome)
        return await asyncio.shield(task)

    def _loader(
        self, fetch: Fetch[K, V], default: V, *, quick: QuickFetch[K, V] | None = None
    ) -> DataLoader[K, V]:
        """A loader reading through the request's connection; `quick`: one key may skip it."""
        quick_reads = self._db.quick if quick is not None else None

        async def load(keys: list[K]) -> list[V]:
            found = None
            if quick is not None and quick_reads is not None and len(keys) == 1:
                found = quick(quick_reads, keys[0])
            if found is None:
                found = await self._read_through(lambda conn: fetch(conn, keys))
            return [found.get(key, default) for key in keys]

        return DataLoader(load_fn=load)

    def _grouped(
        self,
        group_of: Callable[[Any], G],
        fetch: Callable[[AsyncConnection, Sequence[Any], G], Awaitable[Mapping[Any, Any]]],
        default: Any = None,
    ) -> DataLoader[Any, Any]:
        """A loader whose keys are (owner, *params): one statement per distinct params."""

        async def load(keys: list[Any]) -> list[Any]:
            owners_by_group: dict[G, list[Any]] = defaultdict(list)
            for key in keys:
                owners_by_group[group_of(key)].append(key[0])
            found: dict[tuple[Any, G], Any] = {}

            async def read(conn: AsyncConnection) -> None:
                for group, owners in owners_by_group.items():
                    rows = await fetch(conn, list(dict.fromkeys(owners)), group)
                    for owner, value in rows.items():
                        found[(owner, group)] = value

            await self._read_through(read)
            empty = [] if default is None else default
            return [found.get((key[0], group_of(key)), empty) for key in keys]

        return DataLoader(load_fn=load)

    def prime_version(self, record: VersionRecord) -> None:
        """Remember a version just read or written, so its fields need no query."""
        self.version_by_id.prime(record.id, record, force=True)

    def prime_model(self, record: ModelRecord) -> None:
        self.model_by_id.prime(record.id, record, force=True)
        self.model_by_name.prime(record.name, record, force=True)

    def prime_production(self, model: ModelRecord, version: VersionRecord | None) -> None:
        """Remember a model's PRODUCTION version (None: it has none) read with the model."""
        self.production_version.prime(model.id, version, force=True)
