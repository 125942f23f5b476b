"""GET /metrics in the Prometheus text format, as MODELREG_METRICS allows.

`token` (the default) wants any valid token, as Prometheus sends it from a
scrape config's `authorization: {credentials: ...}`, and refuses others
exactly as /graphql does (401 UNAUTHENTICATED, counted and audited); `open`
wants none; `off` leaves the route out (404).

What the processes counted comes from prometheus_client (summed over the
workers in multiprocess mode); the webhook backlog is read from the
database at scrape time, one aggregate over the pending deliveries.
"""

import logging
from collections.abc import Iterator
from datetime import datetime

import orjson
from fastapi import FastAPI
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response

from resolvers import unauthenticated
from resolvers.audit_throttle import AuditThrottle
from resolvers.authentication import authenticate
from resolvers.context import RequestContext
from resolvers.errors import DatabaseError
from server import metrics_processes
from server.graphql_http import REQUEST_ID_HEADER, unauthenticated_response
from server.settings import Settings
from storage.clock import utcnow
from storage.database import Database
from storage.queries import delivery_stats
from storage.queries.delivery_stats import Backlog

logger = logging.getLogger("modelreg.metrics")

# The classic text format, which every Prometheus reads (what generate_latest writes
# for names like ours); prometheus_client's CONTENT_TYPE_LATEST now says version=1.0.0.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Endpoints with the most pending deliveries get a series each; the rest add up to "other".
TOP_WEBHOOKS = 20

# Multiprocess mode has no `_created` series; without them in-process too, both read the same.
disable_created_metrics()  # type: ignore[no-untyped-call]


def add_metrics_route(app: FastAPI, settings: Settings) -> None:
    """Serve GET /metrics on `app` unless MODELREG_METRICS is off."""
    if settings.metrics == "off":
        return
    guarded = settings.metrics == "token" and settings.auth == "enabled"
    throttle = AuditThrottle()

    async def metrics(request: Request) -> Response:
        if guarded:
            refused = await _refusal(request, throttle)
            if refused is not None:
                return refused
        return Response(await exposition(request.app.state.db), media_type=CONTENT_TYPE)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)


async def _refusal(request: Request, throttle: AuditThrottle) -> Response | None:
    """None for a valid token; otherwise the answer /graphql would give."""
    context = RequestContext(
        db=request.app.state.db,
        token_cache=request.app.state.token_cache,
        client_address=request.client.host if request.client else None,
    )
    headers = {REQUEST_ID_HEADER: context.request_id}
    try:
        try:
            await authenticate(context, request.headers.get("authorization"))
        except DatabaseError as error:  # the token could not be looked up
            body = {"errors": [{"message": error.message, "extensions": error.extensions}]}
            extra = {"retry-after": "1"} if error.retryable else {}
            return Response(orjson.dumps(body), 503, {**headers, **extra}, "application/json")
        if context.principal is None:
            await unauthenticated.audit_refusal(context, throttle)
            return unauthenticated_response(request, context, headers)
        return None
    finally:
        await context.close()


async def exposition(db: Database) -> bytes:
    """Every metric, as text: what the processes counted and the backlog right now."""
    backlog = await _backlog(db)
    registry = CollectorRegistry(auto_describe=False)
    if metrics_processes.in_use():
        metrics_processes.forget_dead_workers()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counted = b""
    else:
        counted = generate_latest(REGISTRY)
    if backlog is not None:
        registry.register(_BacklogCollector(backlog, utcnow()))
    return counted + generate_latest(registry)


async def _backlog(db: Database) -> Backlog | None:
    try:
        async with db.read() as conn:
            return await delivery_stats.backlog(conn, utcnow())
    except Exception as error:
        # The counters are still worth a scrape when the database is out of reach.
        logger.warning("webhook backlog left out of /metrics: %s", error)
        return None


class _BacklogCollector:
    def __init__(self, backlog: Backlog, now: datetime) -> None:
        self._backlog, self._now = backlog, now

    def collect(self) -> Iterator[Metric]:
        backlog = self._backlog
        pending = GaugeMetricFamily(
            "modelreg_webhook_deliveries_pending",
            f"Deliveries waiting to be sent, per endpoint id (the {TOP_WEBHOOKS} with the "
            'most; the others add up to webhook="other")',
            labels=["webhook"],
        )
        ranked = sorted(backlog.pending_by_webhook.items(), key=lambda item: (-item[1], item[0]))
        for webhook_id, count in ranked[:TOP_WEBHOOKS]:
            pending.add_metric([str(webhook_id)], count)
        if len(ranked) > TOP_WEBHOOKS:
            pending.add_metric(["other"], sum(count for _, count in ranked[TOP_WEBHOOKS:]))
        yield pending
        due = backlog.oldest_due_at
        yield GaugeMetricFamily(
            "modelreg_webhook_dispatch_lag_seconds",
            "How long the longest-waiting due delivery has waited (0: none waits)",
            value=max((self._now - due).total_seconds(), 0.0) if due is not None else 0.0,
        )
        endpoints = GaugeMetricFamily(
            "modelreg_webhook_endpoints", "Webhook endpoints by state", labels=["state"]
        )
        endpoints.add_metric(["active"], backlog.active_endpoints)
        endpoints.add_metric(["disabled"], backlog.disabled_endpoints)
        yield endpoints
