"""GET /metrics: the guard, and the samples that requests, changes and deliveries leave.

The in-process app keeps its metrics in this test process's registry, so
each test compares a scrape after with a scrape before.
"""

import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from resolvers import tokens
from resolvers.context import RequestContext
from server import request_metrics
from server.metrics_processes import (
    DIRECTORY_PREFIX,
    DIRECTORY_VARIABLE,
    forget_dead_workers,
    share_between_workers,
)
from server.settings import Settings
from storage.database import Database, create_database
from storage.enums import Role
from tests.conftest import FAST_WEBHOOKS, issue_token, serving
from tests.graphql import GraphQLClient, register, transition
from tests.receiver import Receiver, Reply
from tests.request_client import REJECT, approve, fraud_in_production, gated_team, request
from tests.scrape import Samples, parse, scrape, value
from tests.test_database_unavailable import (
    BUSY_TIMEOUT_MS,
    CREATE_MODEL,
    exclusive_lock,
    sqlite_file,
)
from tests.test_serve_process import (
    MODELREG,
    create_token,
    environment,
    free_port,
    wait_until_ready,
)
from tests.webhook_client import create_webhook, eventually
from webhooks.events import Event
from webhooks.metrics import outcome_label
from webhooks.sender import Outcome


class Changes:
    """What moved between two scrapes."""

    def __init__(self, before: Samples, after: Samples) -> None:
        self.before, self.after = before, after

    def __call__(self, name: str, **labels: str) -> float:
        return value(self.after, name, **labels) - value(self.before, name, **labels)


async def changes_during(api: GraphQLClient, before: Samples) -> Changes:
    return Changes(before, await scrape(api))


# --- The guard ---------------------------------------------------------------


async def _both_refuse(api: GraphQLClient, headers: dict[str, str]) -> None:
    """/metrics refuses `headers` with the very answer /graphql gives."""
    graphql = await api.http.post(
        "/graphql", json={"query": "{ viewer { name } }"}, headers=headers
    )
    metrics = await api.http.get("/metrics", headers=headers)
    assert graphql.status_code == metrics.status_code == 401
    assert metrics.json() == graphql.json()
    assert metrics.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for header in ("www-authenticate", "content-type"):
        assert metrics.headers[header] == graphql.headers[header]
    assert metrics.headers["x-request-id"].startswith("req_")
    assert "modelreg_" not in metrics.text


async def test_metrics_want_a_token_and_refuse_others_as_graphql_does(
    api: GraphQLClient, db: Database
) -> None:
    before = await scrape(api)
    expired = await tokens.issue(
        db,
        name="expired",
        role=Role.READER,
        model_patterns=[],
        expires_in=timedelta(seconds=-60),
        actor="test",
    )
    revoked = await issue_token(db, "revoked", Role.READER)
    await tokens.revoke_directly(db, "revoked", actor="test")
    refused = {
        "missing": {},
        "malformed": {"authorization": "Basic dXNlcjpwYXNz"},
        "unknown": {"authorization": "Bearer mr_not_a_token_we_issued"},
        "expired": {"authorization": f"Bearer {expired.token}"},
        "revoked": {"authorization": f"Bearer {revoked}"},
    }
    for headers in refused.values():
        await _both_refuse(api, headers)

    # Any valid token will do, whatever its role (Prometheus gets a reader's).
    reader = api.as_token(await issue_token(db, "prometheus", Role.READER))
    changed = await changes_during(reader, before)
    for reason in refused:
        assert changed("modelreg_auth_refusals_total", reason=reason) == 2, reason
    assert changed("modelreg_graphql_requests_total", operation="none", outcome="UNAUTHENTICATED")


async def test_metrics_off_is_404_and_open_needs_no_token(db: Database) -> None:
    async with serving(db, Settings(metrics="off")) as api:
        assert (await api.http.get("/metrics", headers=api.headers)).status_code == 404
    async with serving(db, Settings(metrics="open")) as api:
        anyone = api.as_token(None)
        assert value(await scrape(anyone), "modelreg_webhook_endpoints", state="active") == 0


# --- Requests ----------------------------------------------------------------

PROBE = "query MetricsProbe { models(first: 1) { totalCount } }"
LONG_NAME = "Q" * 65


async def test_requests_are_counted_by_operation_and_outcome(api: GraphQLClient) -> None:
    before = await scrape(api)
    for _ in range(3):
        await api.data(PROBE)
    await api.data("{ models(first: 1) { totalCount } }")
    await api.data(f"query {LONG_NAME} {{ models(first: 1) {{ totalCount }} }}")
    await register(api, "iris")
    stay = """mutation StayPut { transitionStage(input: {modelName: "iris", version: 1,
      stage: NONE}) { modelVersion { stage } } }"""
    assert await api.code(stay) == "INVALID_TRANSITION"
    too_long = "{ models(first: 1) { totalCount } }" + " " * 100_001
    assert await api.code(too_long, status=400) == "QUERY_TOO_COMPLEX"

    changed = await changes_during(api, before)
    requests = "modelreg_graphql_requests_total"
    assert changed(requests, operation="MetricsProbe", outcome="ok") == 3
    assert changed("modelreg_graphql_request_duration_seconds_count", operation="MetricsProbe") == 3
    assert changed("modelreg_graphql_request_duration_seconds_sum", operation="MetricsProbe") > 0
    # An unnamed operation is known by its root field; a name too long to be a label is "other".
    assert changed(requests, operation="models", outcome="ok") == 1
    assert changed(requests, operation="other", outcome="ok") == 1
    assert changed(requests, operation="StayPut", outcome="INVALID_TRANSITION") == 1
    assert changed(requests, operation="none", outcome="QUERY_TOO_COMPLEX") == 1
    assert changed("modelreg_graphql_query_cost_refusals_total") == 1


def test_operation_labels_are_bounded() -> None:
    labels = request_metrics.OperationLabels(limit=2)
    assert [labels("a"), labels("b"), labels("c"), labels("a")] == ["a", "b", "other", "a"]
    assert labels(None) == "none"
    fresh = request_metrics.OperationLabels(limit=5)
    assert fresh("x" * 65) == "other"
    assert fresh("models,viewer") == "other"
    assert fresh("créer") == "other"


# --- Registry changes --------------------------------------------------------

ROLLBACK = 'mutation { rollback(input: {modelName: "fraud"}) { restored { version } } }'


async def test_registry_changes_are_counted(api: GraphQLClient) -> None:
    before = await scrape(api)
    await register(api, "fraud", 2)
    await transition(api, "fraud", 1, "STAGING")
    await transition(api, "fraud", 1, "PRODUCTION")
    await transition(api, "fraud", 2, "PRODUCTION")
    await api.data(ROLLBACK)
    again = 'mutation { transitionStage(input: {modelName: "fraud", version: 1, stage: PRODUCTION}) { modelVersion { stage } } }'  # noqa: E501
    assert await api.code(again) == "INVALID_TRANSITION"

    changed = await changes_during(api, before)
    moves = "modelreg_stage_transitions_total"
    assert changed("modelreg_versions_created_total") == 2
    assert changed(moves, to_stage="STAGING", cause="transition") == 1
    assert changed(moves, to_stage="PRODUCTION", cause="transition") == 2
    assert changed(moves, to_stage="ARCHIVED", cause="archive_existing") == 1
    assert changed(moves, to_stage="PRODUCTION", cause="rollback") == 1
    assert changed(moves, to_stage="ARCHIVED", cause="rollback") == 1
    assert changed("modelreg_rollbacks_total") == 1


async def test_transition_requests_and_approvals_are_counted(db: Database) -> None:
    async with gated_team(db) as team:
        await fraud_in_production(team, 3)
        before = await scrape(team.admin)
        first = await request(team.writer, "fraud", 2, "PRODUCTION")
        await approve(team.maya, first["id"])
        second = await request(team.writer, "fraud", 3, "STAGING")
        await team.maya.data(REJECT, {"id": second["id"], "comment": "not yet"})

        changed = await changes_during(team.admin, before)
    requests = "modelreg_transition_requests_total"
    assert changed(requests, status="PENDING") == 2
    assert changed(requests, status="COMPLETED") == 1
    assert changed(requests, status="REJECTED") == 1
    assert changed("modelreg_approvals_total") == 1
    assert changed("modelreg_stage_transitions_total", to_stage="PRODUCTION", cause="approval") == 1


def _created() -> float:
    return REGISTRY.get_sample_value("modelreg_versions_created_total") or 0.0


async def test_a_change_counts_only_once_committed(db: Database) -> None:
    context = RequestContext(db=db)
    created = Event("model_version.created", {})

    async def publish(then_fail: bool) -> None:
        async with context.transaction() as conn:
            await context.publish(conn, None, [created])
            if then_fail:
                raise RuntimeError("rolled back after publishing")

    before = _created()
    with pytest.raises(RuntimeError):
        await publish(then_fail=True)
    assert _created() == before
    await publish(then_fail=False)
    assert _created() == before + 1
    await context.close()


# --- Webhooks ----------------------------------------------------------------


@pytest.fixture
async def hooks_api(db: Database) -> AsyncIterator[GraphQLClient]:
    async with serving(db, FAST_WEBHOOKS) as client:
        yield client


async def test_deliveries_are_counted_and_timed(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    await create_webhook(hooks_api, receiver.url(), ["model_version.created"])
    failing = receiver.script("/failing", Reply(status=503))
    await create_webhook(hooks_api, failing, ["model_version.created"])
    before = await scrape(hooks_api)
    await register(hooks_api, "fraud", 3)

    def delivered(samples: Samples) -> bool:
        changed = Changes(before, samples)
        return (
            changed("modelreg_webhook_attempts_total", outcome="2xx") >= 3
            and changed("modelreg_webhook_attempts_total", outcome="5xx") >= 1
        )

    after = await eventually(lambda: scrape(hooks_api), delivered)
    changed = Changes(before, after)
    assert changed("modelreg_webhook_attempts_total", outcome="2xx") == 3
    assert changed("modelreg_webhook_delivery_latency_seconds_count") == 3
    assert changed("modelreg_webhook_delivery_latency_seconds_sum") > 0
    assert changed("modelreg_webhook_delivery_latency_seconds_bucket", le="+Inf") == 3
    assert value(after, "modelreg_webhook_endpoints", state="active") == 2


async def test_the_backlog_is_read_from_the_database(
    db: Database, receiver: Receiver, frozen_clock: list[Any]
) -> None:
    held = FAST_WEBHOOKS.model_copy(update={"webhook_dispatcher": False})
    async with serving(db, held) as api:
        webhook_id, _ = await create_webhook(api, receiver.url(), ["model_version.created"])
        await register(api, "fraud", 2)
        frozen_clock.append(frozen_clock[-1] + timedelta(seconds=30))
        samples = await scrape(api)
    assert value(samples, "modelreg_webhook_deliveries_pending", webhook=webhook_id) == 2
    assert value(samples, "modelreg_webhook_dispatch_lag_seconds") == 30
    assert value(samples, "modelreg_webhook_endpoints", state="active") == 1
    assert value(samples, "modelreg_webhook_endpoints", state="disabled") == 0


def test_attempt_outcomes() -> None:
    def outcome(status: int | None, error: str | None = None) -> str:
        return outcome_label(Outcome(status, 1.0, error, None, None))

    assert [outcome(204), outcome(302), outcome(404), outcome(503)] == ["2xx", "3xx", "4xx", "5xx"]
    assert outcome(None, "timed out after 10 s") == "timeout"
    assert outcome(None, "blocked: 127.0.0.1 is a loopback address") == "blocked"
    assert outcome(None, "ConnectError: refused") == "error"
    assert outcome(None, "cannot sign: no key") == "error"


# --- Database ----------------------------------------------------------------


def _gauge(name: str, pool: str) -> float:
    return REGISTRY.get_sample_value(name, {"pool": pool}) or 0.0


async def test_pools_report_their_limit_and_what_they_lend(database_url: str, backend: str) -> None:
    pools = {"read": 20, "write": 1, "write_nowait": 1} if backend == "sqlite" else {"main": 20}
    limits = {pool: _gauge("modelreg_db_pool_limit", pool) for pool in pools}
    database = create_database(database_url, pool_size=10)
    try:
        for pool, limit in pools.items():
            assert _gauge("modelreg_db_pool_limit", pool) == limits[pool] + limit
        pool = "read" if backend == "sqlite" else "main"
        lent = _gauge("modelreg_db_pool_in_use", pool)
        async with database.read(), database.read():
            assert _gauge("modelreg_db_pool_in_use", pool) == lent + 2
        assert _gauge("modelreg_db_pool_in_use", pool) == lent
    finally:
        await database.dispose()
    for pool in pools:
        assert _gauge("modelreg_db_pool_limit", pool) == limits[pool]


async def test_the_sqlite_writer_wait_is_measured(api: GraphQLClient, backend: str) -> None:
    before = await scrape(api)
    await register(api, "iris")
    changed = await changes_during(api, before)
    waits = "modelreg_db_write_lock_wait_seconds_count"
    expected = 1 if backend == "sqlite" else 0  # PostgreSQL has no database-wide write lock
    assert changed(waits, wait="queue") >= expected
    assert changed(waits, wait="lock") >= expected
    if backend == "postgresql":
        assert changed(waits, wait="queue") == changed(waits, wait="lock") == 0


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_database_errors_are_counted_by_code(database_url: str) -> None:
    database = create_database(database_url, busy_timeout_ms=BUSY_TIMEOUT_MS)
    try:
        async with serving(database) as api:
            before = await scrape(api)
            async with exclusive_lock(sqlite_file(database_url)):
                assert await api.code(CREATE_MODEL) == "DATABASE_BUSY"
            changed = await changes_during(api, before)
    finally:
        await database.dispose()
    assert changed("modelreg_db_errors_total", code="DATABASE_BUSY") == 1
    assert changed(
        "modelreg_graphql_requests_total", operation="createModel", outcome="DATABASE_BUSY"
    )


async def test_the_scrape_is_text_prometheus_reads(api: GraphQLClient) -> None:
    response = await api.http.get("/metrics", headers=api.headers)
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "modelreg_graphql_requests",
        "modelreg_versions_created",
        "modelreg_webhook_attempts",
        "modelreg_webhook_deliveries_pending",
        "modelreg_webhook_dispatch_lag_seconds",
        "modelreg_db_pool_in_use",
        "modelreg_db_write_lock_wait_seconds",
        "modelreg_db_errors",
        "modelreg_auth_refusals",
    } <= names
    # No `_created` series in-process either: one set of names whichever mode serves.
    assert not [name for name, _ in parse(response.text) if name.endswith("_created")]


# --- modelreg serve --workers 2 -----------------------------------------------


def _counted_by_each_worker(directory: Path, probe: str) -> dict[str, float]:
    """The requests each worker counted, read from its own file of the shared directory."""
    counted = {}
    for path in directory.glob("counter_*.db"):
        pid = path.stem.removeprefix("counter_")
        alone = directory.parent / f"worker-{pid}"
        alone.mkdir(exist_ok=True)
        shutil.copyfile(path, alone / path.name)
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in MultiProcessCollector(None, path=str(alone)).collect()  # type: ignore[no-untyped-call]
            for s in family.samples
        }
        counted[pid] = value(
            samples, "modelreg_graphql_requests_total", operation=probe, outcome="ok"
        )
    return counted


def test_two_workers_report_one_view_and_leave_no_directory_behind(tmp_path: Path) -> None:
    env = environment(tmp_path / "served.db")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env["TMPDIR"] = str(temporary)
    subprocess.run([MODELREG, "db", "upgrade"], env=env, check=True, capture_output=True)
    _, token = create_token(env, "reader")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [MODELREG, "serve", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_ready(process, f"{base}/readyz")
        (directory,) = temporary.glob(f"{DIRECTORY_PREFIX}*")
        headers = {"authorization": f"Bearer {token}"}
        probe = {"query": "query ProcessProbe { models(first: 1) { totalCount } }"}

        def ask(_: int) -> None:
            # A connection of its own each time, so that either worker may take it.
            response = httpx.post(f"{base}/graphql", json=probe, headers=headers, timeout=30)
            assert response.status_code == 200, response.text

        sent = 0
        deadline = time.monotonic() + 60
        with ThreadPoolExecutor(max_workers=8) as pool:
            while True:
                list(pool.map(ask, range(16)))
                sent += 16
                counted = _counted_by_each_worker(directory, "ProcessProbe")
                if len(counted) == 2 and all(counted.values()):
                    break
                assert time.monotonic() < deadline, f"one worker took every request: {counted}"
        scraped = httpx.get(f"{base}/metrics", headers=headers, timeout=30)
        samples = parse(scraped.text)
        total = value(
            samples, "modelreg_graphql_requests_total", operation="ProcessProbe", outcome="ok"
        )
        assert total == sent == sum(counted.values())
        # Both workers' pools, added up: each has a reader, a writer and a no-wait writer.
        assert value(samples, "modelreg_db_pool_limit", pool="write") == 2
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert process.returncode == 0
    assert not directory.exists()
    assert not list(temporary.glob(f"{DIRECTORY_PREFIX}*"))


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_worker_serves_the_metrics_of_its_deliveries(
    db: Database, database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **environment(Path(sqlite_file(database_url))),
        "MODELREG_WORKER_METRICS_PORT": str(port),
        "MODELREG_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "MODELREG_WEBHOOK_POLL_INTERVAL_SECONDS": "0.05",
    }
    without_dispatcher = FAST_WEBHOOKS.model_copy(update={"webhook_dispatcher": False})
    async with serving(db, without_dispatcher) as api:  # makes the key file the worker reads
        reader = {"authorization": f"Bearer {await issue_token(db, 'scraper', Role.READER)}"}
        await create_webhook(api, receiver.url(), ["model_version.created"])
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen([MODELREG, "worker"], env=env, stdout=log, stderr=log)  # noqa: ASYNC220
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

                async def scrape_worker() -> httpx.Response | None:
                    try:
                        return await http.get("/metrics", headers=reader)
                    except httpx.TransportError:
                        assert worker.poll() is None, "the worker exited"
                        return None

                await eventually(scrape_worker, lambda answer: answer is not None, 60)
                assert (await http.get("/metrics")).status_code == 401
                await register(api, "fraud")
                await receiver.wait_for(lambda received: len(received) == 1)

                async def attempts() -> float:
                    answer = await scrape_worker()
                    assert answer is not None
                    assert answer.status_code == 200, answer.text
                    samples = parse(answer.text)
                    return value(samples, "modelreg_webhook_attempts_total", outcome="2xx")

                assert await eventually(attempts, lambda counted: counted == 1) == 1
        finally:
            worker.terminate()
            assert worker.wait(timeout=60) == 0, (tmp_path / "worker.log").read_text()


def test_a_scrape_forgets_the_live_gauges_of_dead_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = subprocess.Popen(["true"])  # its pid is free once it is reaped
    dead.wait()
    monkeypatch.setenv(DIRECTORY_VARIABLE, str(tmp_path))
    files = {pid: tmp_path / f"gauge_livesum_{pid}.db" for pid in (dead.pid, os.getpid())}
    counters = tmp_path / f"counter_{dead.pid}.db"
    for path in (*files.values(), counters):
        path.write_bytes(b"")
    forget_dead_workers()
    assert not files[dead.pid].exists()
    assert files[os.getpid()].exists()
    assert counters.exists()  # a dead worker's counts stay in the totals
    assert share_between_workers(1) is None
