"""`modelreg worker`: a dispatcher without the HTTP server, for scale-out.

Several workers (and `serve` processes) may run against one PostgreSQL: each
claims deliveries with FOR UPDATE SKIP LOCKED and a lease.
"""

import asyncio
import logging
import signal

from server import tracing
from server.app import ensure_migrated, start_dispatcher
from server.secret_keys import secret_keys
from server.settings import Settings
from server.worker_metrics import serve_worker_metrics
from storage.database import create_database
from webhooks.runtime import WebhookRuntime

logger = logging.getLogger("modelreg")


async def run_worker(settings: Settings) -> None:
    """Deliver webhooks until SIGTERM or SIGINT, then finish what is in flight.

    Sends in flight get MODELREG_SHUTDOWN_GRACE_SECONDS to finish; claimed
    deliveries not yet sent are handed back at once (see `Dispatcher.stop`).
    """
    db = create_database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    untrace = tracing.start(settings, db)
    try:
        await ensure_migrated(db)
        keys = secret_keys(settings, db.url).keys
        dispatcher = start_dispatcher(db, WebhookRuntime(settings.delivery_config(keys)))
        await dispatcher.start()
        stop_metrics = await serve_worker_metrics(settings, db)
        logger.info("webhook worker started")
        await stopping.wait()
        logger.info("webhook worker stopping")
        await stop_metrics()
        await dispatcher.stop(settings.shutdown_grace_seconds)
        logger.info("webhook worker stopped")
    finally:
        untrace()
        await db.dispose()
