"""GET /metrics of `modelreg worker`, on MODELREG_WORKER_METRICS_PORT (none when unset).

A worker serves no API, so without this the attempts of its dispatcher would
be in no scrape. The route is the server's own (same guard, same
exposition), served by uvicorn inside the worker's event loop.
"""

import asyncio
from collections.abc import Awaitable, Callable

import uvicorn
from fastapi import FastAPI

from resolvers.token_cache import TokenCache
from server.metrics_endpoint import add_metrics_route
from server.settings import Settings
from storage.database import Database


async def _nothing() -> None:
    return None


async def serve_worker_metrics(settings: Settings, db: Database) -> Callable[[], Awaitable[None]]:
    """Start serving /metrics when a port is set; returns the coroutine function that stops it."""
    if settings.worker_metrics_port is None:
        return _nothing
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.db = db
    app.state.token_cache = TokenCache(settings.auth_cache_seconds)
    add_metrics_route(app, settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.worker_metrics_port,
        lifespan="off",
        access_log=False,
        log_config=None,  # the worker's logging is configured already
    )
    server = uvicorn.Server(config)
    # Not serve(): it takes SIGTERM and SIGINT for the whole process, and the
    # worker's own handlers must keep them. A port that is taken ends the
    # worker (uvicorn exits with code 3 and logs why).
    task = asyncio.create_task(server._serve(), name="worker-metrics")

    async def stop() -> None:
        server.should_exit = True
        await task

    return stop
