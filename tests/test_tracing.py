"""OpenTelemetry spans, exported to the SDK's in-memory exporter (the dev extra installs it)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "opentelemetry.sdk.trace",
    reason="tracing is the otel extra; the dev extra installs its SDK (pip install -e '.[dev]')",
)

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind

from server import tracing
from server.settings import Settings
from storage.database import Database
from tests.conftest import FAST_WEBHOOKS, serving
from tests.graphql import CREATE_VERSION
from tests.receiver import Receiver
from tests.webhook_client import create_webhook, eventually


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.enable(exporter)
    try:
        yield exporter
    finally:
        tracing.disable()


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def graphql_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]


async def test_a_request_is_a_server_span_and_its_sql_statements_are_children(
    db: Database, exported: InMemorySpanExporter
) -> None:
    async with serving(db) as api:
        exported.clear()
        payload = {"modelName": "traced", "source": "s3://traced/1"}
        response = await api.post(CREATE_VERSION, {"input": payload})
        assert "errors" not in response.json()
    request_id = response.headers["x-request-id"]
    (server,) = [
        s for s in graphql_spans(exported) if attributes(s)["modelreg.request_id"] == request_id
    ]
    assert server.name == "mutation createModelVersion"
    assert attributes(server)["graphql.operation.name"] == "createModelVersion"
    assert attributes(server)["graphql.operation.type"] == "mutation"
    assert attributes(server)["modelreg.outcome"] == "ok"
    assert attributes(server)["modelreg.actor"] == api.actor
    assert server.context is not None
    sql = [
        s
        for s in exported.get_finished_spans()
        if s.instrumentation_scope is not None
        and "sqlalchemy" in s.instrumentation_scope.name
        and s.context is not None
        and s.context.trace_id == server.context.trace_id
    ]
    assert sql, "no SQL spans in the request's trace"
    assert all(attributes(s)[tracing.REQUEST_ID] == request_id for s in sql)
    assert any("INSERT" in str(attributes(s).get("db.statement", s.name)) for s in sql)
    variables_text = "s3://traced/1"
    assert all(variables_text not in str(attributes(s)) for s in exported.get_finished_spans())


async def test_a_callers_traceparent_is_continued(
    db: Database, exported: InMemorySpanExporter
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with serving(db) as api:
        exported.clear()
        response = await api.http.post(
            "/graphql",
            json={"query": "query Who { viewer { name } }"},
            headers={**api.headers, "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
        )
        assert response.status_code == 200
    (server,) = graphql_spans(exported)
    assert server.name == "query Who"
    assert server.context is not None
    assert f"{server.context.trace_id:032x}" == trace_id


async def test_webhook_sends_are_spans_and_urls_keep_only_their_origin(
    db: Database, exported: InMemorySpanExporter, receiver: Receiver
) -> None:
    secret_path = "/hooks/T000-token-in-the-path"
    async with serving(db, FAST_WEBHOOKS) as api:
        await create_webhook(api, receiver.url(secret_path), ["model_version.created"])
        payload = {"modelName": "traced", "source": "s3://traced/1"}
        registered = await api.post(CREATE_VERSION, {"input": payload})
        assert "errors" not in registered.json()
        await receiver.wait_for(lambda got: len(got) == 1)

        def sends() -> list[ReadableSpan]:
            return [s for s in exported.get_finished_spans() if s.name == "webhook send"]

        async def finished() -> list[ReadableSpan]:
            return sends()

        (send,) = await eventually(finished, lambda found: len(found) == 1)
    assert send.kind is SpanKind.CLIENT
    message_id = receiver.received[0].headers["webhook-id"]
    assert attributes(send)["modelreg.webhook.message_id"] == message_id
    assert attributes(send)["modelreg.event.type"] == "model_version.created"
    assert attributes(send)["http.response.status_code"] == 200
    # The request whose change the event announces, though the send came later.
    assert attributes(send)[tracing.REQUEST_ID] == registered.headers["x-request-id"]
    assert send.context is not None
    http = [
        s
        for s in exported.get_finished_spans()
        if s.parent is not None and s.parent.span_id == send.context.span_id
    ]
    assert http, "the httpx instrumentation made no span under the send"
    for span in exported.get_finished_spans():
        assert "token-in-the-path" not in str(attributes(span))
    urls = [attributes(s).get("url.full") or attributes(s).get("http.url") for s in http]
    assert urls == [f"http://127.0.0.1:{receiver.port}/"]


def test_tracing_is_on_only_when_otel_variables_ask_for_it() -> None:
    assert not tracing.wanted(Settings())
    assert tracing.wanted(Settings(otel_exporter_otlp_endpoint="http://collector:4318"))
    assert tracing.wanted(Settings(otel_traces_exporter="console"))
    assert not tracing.wanted(Settings(otel_traces_exporter="none"))
    assert not tracing.wanted(Settings(otel_traces_exporter="console", otel_sdk_disabled=True))


STARTS_WITHOUT_THE_SDK = """
import asyncio, sys
from server.app import create_app
from server.settings import Settings

async def main():
    app = create_app(Settings(database_url=sys.argv[1]))
    async with app.router.lifespan_context(app):
        pass

asyncio.run(main())
loaded = sorted(
    m for m in sys.modules
    if m.startswith(("opentelemetry.sdk", "opentelemetry.instrumentation", "opentelemetry.exp"))
)
print(loaded)
"""


def test_without_otel_variables_the_sdk_is_never_imported(
    tmp_path: Path, sqlite_template: Path
) -> None:
    database = tmp_path / "plain.db"
    database.write_bytes(sqlite_template.read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", STARTS_WITHOUT_THE_SDK, f"sqlite+aiosqlite:///{database}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_exporters_come_from_otel_traces_exporter(caplog: pytest.LogCaptureFixture) -> None:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    (console,) = tracing._exporters(Settings(otel_traces_exporter="console"))
    assert isinstance(console, ConsoleSpanExporter)
    assert tracing._exporters(Settings(otel_traces_exporter="zipkin-please")) == []
    assert "does not know" in caplog.text
    # OTLP without the otel extra's exporters (as in a dev install): a warning, not a crash.
    made = tracing._exporters(Settings(otel_exporter_otlp_endpoint="http://127.0.0.1:9"))
    assert len(made) == 1 or "pip install 'modelreg[otel]'" in caplog.text
