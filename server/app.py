"""The FastAPI application factory (`uvicorn --factory server.app:create_app`)."""

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from resolvers.live.closing import SHUTTING_DOWN, Closed
from resolvers.live.hub import EventHub, HubConfig
from resolvers.token_cache import TokenCache
from server import heap, tracing
from server.dashboard import add_dashboard_routes
from server.graphql_http import GraphQLEndpoint, transport_error_500
from server.graphql_ws import GraphQLWebSocket
from server.health import router as health_router
from server.lifecycle import Shutdown, dump_stacks_on_sigusr1
from server.metrics_endpoint import add_metrics_route
from server.mlflow_http import PREFIX as MLFLOW_PREFIX
from server.mlflow_http import MlflowEndpoint
from server.secret_keys import secret_keys
from server.settings import Settings, get_settings
from storage.database import Database, create_database
from storage.migrate import current_revision, head_revision
from storage.queries import events
from storage.sqlite_changes import wal_watcher
from storage.wal_notify import wal_listener
from webhooks.dispatcher import Dispatcher
from webhooks.listener import postgres_listener
from webhooks.runtime import WebhookRuntime

logger = logging.getLogger("modelreg")


class SchemaOutOfDate(RuntimeError):
    pass


async def ensure_migrated(db: Database) -> None:
    """Refuse to serve a database that `modelreg db upgrade` has not brought to head."""
    current, head = await current_revision(db.writer), head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing'}, this modelreg needs {head}: "
            "run `modelreg db upgrade`"
        )


def start_dispatcher(db: Database, runtime: WebhookRuntime) -> Dispatcher:
    """A dispatcher for `db`, woken across processes by PostgreSQL NOTIFY where there is one."""
    listen = postgres_listener(db.url) if db.writer.dialect.name == "postgresql" else None
    return Dispatcher(db, runtime.config, listen=listen)


def start_hub(db: Database, settings: Settings) -> EventHub:
    """The live event hub of this process, woken by other processes' commits where it can be."""
    postgresql = db.writer.dialect.name == "postgresql"
    return EventHub(
        db,
        HubConfig(
            poll_interval_seconds=settings.live_poll_interval_seconds,
            queue_size=settings.live_queue_size,
            subscriptions_per_token=settings.live_subscriptions_per_token,
        ),
        listen=postgres_listener(db.url, channel=events.NOTIFY_CHANNEL) if postgresql else None,
        # SQLite: inotify hints at other workers' writes; the stat is for where it cannot.
        hints=wal_listener(db.url),
        changed=wal_watcher(db.url),
    )


class RegistryApp(FastAPI):
    """FastAPI, with POST /graphql and the MLflow API answered before its middleware and routing.

    Those layers (error and exception middleware, the exit stack, routing,
    dependency solving) were a fifth of a read's time here (py-spy under wrk),
    and neither door needs them: each parses its own body, maps its own
    errors and builds its own response. Every other path goes through FastAPI.
    """

    graphql: GraphQLEndpoint
    mlflow: MlflowEndpoint
    live: GraphQLWebSocket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/graphql":
            scope["app"] = self
            await self.live(scope, receive, send)
            return
        if scope["type"] == "http":
            path = scope["path"]
            if scope["method"] == "POST" and path == "/graphql":
                scope["app"] = self
                try:
                    response = await self.graphql.post(Request(scope, receive))
                except Exception:
                    logger.exception("unexpected error in POST /graphql")
                    response = transport_error_500()
                await response(scope, receive, send)
                return
            if path.startswith(MLFLOW_PREFIX):
                scope["app"] = self
                response = await self.mlflow.handle(Request(scope, receive))
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app; pass `database` to share one the caller owns (tests)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database or create_database(
            settings.database_url,
            pool_size=settings.db_pool_size,
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        runtime: WebhookRuntime | None = None
        dispatcher: Dispatcher | None = None
        hub: EventHub | None = None
        shutdown = Shutdown(settings.shutdown_grace_seconds)
        untrace = tracing.start(settings, db)
        dump_stacks_on_sigusr1()  # each worker of `serve --workers N` too
        try:
            await ensure_migrated(db)
            # A missing key stops the start-up (`modelreg serve` said why in one line before).
            runtime = WebhookRuntime(settings.delivery_config(secret_keys(settings, db.url).keys))
            if settings.webhook_dispatcher:
                dispatcher = start_dispatcher(db, runtime)
                await dispatcher.start()
                runtime.wake = dispatcher.wake
            hub = start_hub(db, settings)
            await hub.start()
            shutdown.watch(dispatcher, hub)
            app.state.dispatcher = dispatcher
            app.state.live_hub = hub
            app.state.db = db
            app.state.webhooks = runtime
            app.state.token_cache = TokenCache(settings.auth_cache_seconds)
            # A process serving on its own (not an app inside a test's process):
            # its long-lived objects are frozen out of the collector's way.
            async with heap.settled() if database is None else contextlib.nullcontext():
                yield
        finally:
            if hub is not None:
                hub.close_all(Closed(SHUTTING_DOWN, "the server is stopping"))
                await hub.stop()
            if dispatcher is not None:
                await dispatcher.stop(shutdown.remaining())
            if runtime is not None:
                await runtime.aclose()
            untrace()
            if database is None:
                await db.dispose()

    app = RegistryApp(title="modelreg", lifespan=lifespan, docs_url=None, redoc_url=None)
    endpoint = app.graphql = GraphQLEndpoint(settings)
    app.mlflow = MlflowEndpoint(settings)
    app.live = GraphQLWebSocket(settings, endpoint.executor, endpoint.throttle)
    app.add_api_route("/graphql", endpoint.post, methods=["POST"], include_in_schema=False)
    app.add_api_route("/graphql", endpoint.get, methods=["GET"], include_in_schema=False)
    app.include_router(health_router)
    add_metrics_route(app, settings)
    add_dashboard_routes(app)
    return app
