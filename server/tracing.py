"""OpenTelemetry tracing, when the standard OTEL_* variables ask for it.

Off unless OTEL_TRACES_EXPORTER (otlp, console) or an OTLP endpoint is set,
and OTEL_SDK_DISABLED is not true. The SDK, its exporters and the
instrumentations come with `pip install 'modelreg[otel]'` and are imported
only here, only when tracing is on: a base install never loads them.

Spans: one per GraphQL request (SERVER, named `query listModels`, continuing
a caller's `traceparent`), SQL statements (SQLAlchemy instrumentation),
webhook sends (`webhook send`, with the delivery's ids) and their HTTP
requests (httpx instrumentation). Every span started while a request is
served carries its `modelreg.request_id`. Client URLs are cut to their
origin: a webhook URL may hold a token in its path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from server import request_scope
from server.request_scope import RequestScope
from server.settings import Settings
from storage.database import Database
from webhooks import tracing as webhook_tracing

if TYPE_CHECKING:  # the otel extra may be absent; these names are for the type checker only
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

logger = logging.getLogger("modelreg.tracing")

REQUEST_ID = "modelreg.request_id"
_URL_ATTRIBUTES = ("url.full", "http.url")


class _Tracing:
    """The process's tracer provider, and what was instrumented with it."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("modelreg")

    def span(
        self, name: str, attributes: Mapping[str, webhook_tracing.Attribute], kind: str
    ) -> AbstractContextManager[Any]:
        from opentelemetry.trace import SpanKind

        return self.tracer.start_as_current_span(
            name, attributes=dict(attributes), kind=SpanKind[kind]
        )


_active: _Tracing | None = None


def wanted(settings: Settings) -> bool:
    """Whether the OTEL_* variables ask for traces."""
    if settings.otel_sdk_disabled:
        return False
    exporters = _exporter_names(settings)
    return bool(exporters) and exporters != ["none"]


def _exporter_names(settings: Settings) -> list[str]:
    if settings.otel_traces_exporter:
        return [name.strip() for name in settings.otel_traces_exporter.split(",") if name.strip()]
    if settings.otel_exporter_otlp_endpoint or settings.otel_exporter_otlp_traces_endpoint:
        return ["otlp"]
    return []


def _exporters(settings: Settings) -> list[SpanExporter]:
    made: list[SpanExporter] = []
    for name in _exporter_names(settings):
        try:
            exporter = _exporter(name, settings)
        except ImportError as missing:  # the SDK without its OTLP exporters (the dev extra)
            logger.warning(
                "cannot export traces to %s: %s (pip install 'modelreg[otel]')", name, missing
            )
            continue
        if exporter is not None:
            made.append(exporter)
    return made


def _exporter(name: str, settings: Settings) -> SpanExporter | None:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        protocol = (
            settings.otel_exporter_otlp_traces_protocol
            or settings.otel_exporter_otlp_protocol
            or "http/protobuf"  # the specification's default
        )
        if protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcExporter,
            )

            grpc: SpanExporter = GrpcExporter()  # Any where the otel extra is absent
            return grpc
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpExporter,
        )

        http: SpanExporter = HttpExporter()  # endpoint, headers, timeout: from OTEL_*
        return http
    if name != "none":
        logger.warning("OTEL_TRACES_EXPORTER names %r, which modelreg does not know", name)
    return None


def enable(exporter: SpanExporter | None = None, settings: Settings | None = None) -> bool:
    """Trace this process: into `exporter` (tests), or where the OTEL_* variables say.

    False (with a warning) when the otel extra is not installed.
    """
    global _active
    if _active is not None:
        return True
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as missing:
        logger.warning(
            "OTEL_* variables ask for traces, but the otel extra is not installed "
            "(pip install 'modelreg[otel]'): tracing stays off (%s)",
            missing,
        )
        return False
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "modelreg"}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(_request_processor())
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        for made in _exporters(settings or Settings()):
            provider.add_span_processor(BatchSpanProcessor(made))
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _active = tracing = _Tracing(provider)
    webhook_tracing.install(lambda name, attributes: tracing.span(name, attributes, "CLIENT"))
    return True


def disable() -> None:
    """Flush and stop tracing this process."""
    global _active
    if _active is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    webhook_tracing.install(None)
    HTTPXClientInstrumentor().uninstrument()
    _active.provider.shutdown()
    _active = None


def start(settings: Settings, db: Database) -> Callable[[], None]:
    """Trace this process's database (and, when the OTEL_* variables say so, start tracing).

    Returns what undoes it, for the shutdown. Tracing that a caller enabled
    before (tests) is left on; its database instrumentation is undone.
    """
    started_here = _active is None and wanted(settings) and enable(settings=settings)
    if _active is None:
        return _nothing
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    engines = {id(e): e.sync_engine for e in (db.reader, db.writer, db.impatient_writer)}
    SQLAlchemyInstrumentor().instrument(
        engines=list(engines.values()),
        tracer_provider=_active.provider,
        # It declares sqlalchemy < 2.1 and would instrument nothing on ours; it
        # only listens to the engine's cursor events, which 2.1 keeps.
        skip_dep_check=True,
    )

    def undo() -> None:
        SQLAlchemyInstrumentor().uninstrument()
        if started_here:
            disable()

    return undo


def _nothing() -> None:
    return None


@contextmanager
def request_span(scope: RequestScope, headers: Mapping[str, str]) -> Iterator[None]:
    """A SERVER span around one GraphQL request, named when its operation is known."""
    if _active is None:
        yield
        return
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind, Status, StatusCode

    parent = propagate.extract(dict(headers))
    with _active.tracer.start_as_current_span(
        f"{scope.method} {scope.path}", context=parent, kind=SpanKind.SERVER
    ) as span:
        try:
            yield
        finally:
            if scope.operation_type is not None:
                span.update_name(" ".join(filter(None, (scope.operation_type, scope.operation))))
                span.set_attribute("graphql.operation.type", scope.operation_type)
            if scope.operation is not None:
                span.set_attribute("graphql.operation.name", scope.operation)
            if scope.actor is not None:
                span.set_attribute("modelreg.actor", scope.actor)
            if scope.status is not None:
                span.set_attribute("http.response.status_code", scope.status)
            if scope.outcome is not None:
                span.set_attribute("modelreg.outcome", scope.outcome)
            if scope.status is None or scope.status >= 500:
                span.set_status(Status(StatusCode.ERROR, scope.outcome or "no response"))


def _request_processor() -> Any:
    """A span processor that tags spans with the request id and cuts client URLs."""
    from opentelemetry.sdk.trace import SpanProcessor

    class RequestSpans(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            scope = request_scope.current()
            if scope is not None:
                span.set_attribute(REQUEST_ID, scope.request_id)
            for key in _URL_ATTRIBUTES:
                value = (span.attributes or {}).get(key)
                if isinstance(value, str):
                    span.set_attribute(key, _origin(value))

    return RequestSpans()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/"
