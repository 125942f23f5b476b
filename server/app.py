"""The FastAPI application factory (`uvicorn --factory server.app:create_app`)."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server.graphql_http import GraphQLEndpoint
from server.health import router as health_router
from server.settings import Settings, get_settings
from storage.database import Database, create_database
from storage.migrate import current_revision, head_revision

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


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app; pass `database` to share one the caller owns (tests)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database or create_database(
            settings.database_url,
            pool_size=settings.db_pool_size,
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        )
        try:
            await ensure_migrated(db)
            app.state.db = db
            yield
        finally:
            if database is None:
                await db.dispose()

    app = FastAPI(title="modelreg", lifespan=lifespan, docs_url=None, redoc_url=None)
    endpoint = GraphQLEndpoint(settings)
    app.add_api_route("/graphql", endpoint.post, methods=["POST"], include_in_schema=False)
    app.add_api_route("/graphql", endpoint.get, methods=["GET"], include_in_schema=False)
    app.include_router(health_router)
    return app
