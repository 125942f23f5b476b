"""Stopping and starting: SIGTERM loses nothing acknowledged, exits 0; a bad database is refused.

The processes are real (`modelreg serve`, `modelreg worker`), signalled as a
container runtime or service manager would.
"""

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from server.app import create_app
from server.secret_keys import secret_keys
from server.settings import Settings
from storage.clock import utcnow
from storage.database import Database, create_database
from storage.migrate import head_revision
from storage.queries import deliveries
from storage.tables import webhook_attempts, webhook_deliveries
from tests.conftest import FAST_WEBHOOKS, serving, with_test_key
from tests.graphql import CREATE_VERSION
from tests.receiver import Receiver, Reply
from tests.test_serve_process import MODELREG, create_token, free_port, wait_until_ready
from tests.webhook_client import create_webhook, eventually
from webhooks.dispatcher import SHUTDOWN_INTERRUPTED, Dispatcher


def _env(database: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MODELREG_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "MODELREG_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        **extra,
    }


def _migrated(database: Path) -> None:
    subprocess.run([MODELREG, "db", "upgrade"], env=_env(database), check=True, capture_output=True)


@dataclass
class Answer:
    """What one request of the burst got."""

    source: str
    answered_at: float | None = None
    version: int | None = None
    status: int | None = None
    unanswered: str | None = None  # the connection error of a request never answered


# httpx's words for a request that got no response at all: the server had
# closed the connection, or stopped listening, before reading it; or the
# connection was reset (a connection still in the listening socket's backlog
# when the socket closed, or one closed with the request unread in it). A
# response cut short would be "peer closed connection without sending
# complete message body", or a body that does not parse.
NEVER_ANSWERED = (
    "without sending a response",
    "Connection refused",
    "All connection attempts",
    "Connection reset",
)


async def _burst(base: str, token: str, count: int, concurrency: int) -> list[Answer]:
    replies = [Answer(f"s3://burst/{i}") for i in range(count)]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=60, headers={"authorization": f"Bearer {token}"}
    ) as client:

        async def one(reply: Answer) -> None:
            payload = {"modelName": "burst", "source": reply.source}
            async with gate:
                try:
                    response = await client.post(
                        "/graphql", json={"query": CREATE_VERSION, "variables": {"input": payload}}
                    )
                except httpx.TransportError as error:
                    # httpx words a reset as a ReadError with no message.
                    said = str(error) or "Connection reset"
                    if isinstance(error, httpx.TimeoutException):
                        said = "timed out"  # answered by nobody: fails the test below
                    reply.unanswered = f"{type(error).__name__}: {said} at {time.monotonic()}"
                    return
            reply.answered_at = time.monotonic()
            reply.status = response.status_code
            body = response.json()  # a truncated body would not parse
            if response.status_code == 200 and "errors" not in body:
                reply.version = body["data"]["createModelVersion"]["modelVersion"]["version"]

        await asyncio.gather(*(one(r) for r in replies))
    return replies


def _committed_sources(database: Path) -> set[str]:
    with sqlite3.connect(database) as conn:
        return {row[0] for row in conn.execute("SELECT source FROM model_versions")}


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_during_a_burst_of_mutations_loses_nothing_acknowledged(
    tmp_path: Path, workers: int
) -> None:
    database = tmp_path / "burst.db"
    _migrated(database)
    env = _env(database)
    _, token = await asyncio.to_thread(create_token, env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.stderr"
    process = _start(["serve", "--port", str(port), "--workers", str(workers)], env, log)
    try:
        await asyncio.to_thread(wait_until_ready, process, f"{base}/readyz")
        burst = asyncio.create_task(_burst(base, token, count=400, concurrency=16))
        # Signal once the burst is well under way: some answered, many in flight.
        await eventually(lambda: _answered_count(database), lambda n: n >= 40, 60)
        signalled_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(180):  # a server that hangs fails here, not in an hour
            replies = await burst
        returncode = await asyncio.to_thread(process.wait, 60)
    finally:
        killed = _stop_for_good(process)
        process.wait(timeout=30)
        err = log.read_bytes()
        if killed:  # shown with the failure: the stacks of the hang
            print(err.decode()[-20_000:])
    assert returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in err

    acknowledged = [r for r in replies if r.version is not None]
    refused = [r for r in replies if r.status is not None and r.version is None]
    unanswered = [r for r in replies if r.unanswered is not None]
    assert not refused, [(r.status, r.source) for r in refused]
    for reply in unanswered:
        error = reply.unanswered or ""
        assert any(words in error for words in NEVER_ANSWERED), (
            f"{error} (signalled at {signalled_at}); the server said:\n{err.decode()[-5000:]}"
        )
    assert len(acknowledged) + len(unanswered) == len(replies)
    # Requests in flight at the signal were finished, not cut off.
    assert any(r.answered_at is not None and r.answered_at > signalled_at for r in acknowledged)
    assert unanswered, "the burst outlasted the server: nothing was left unanswered"
    committed = _committed_sources(database)
    assert {r.source for r in acknowledged} <= committed
    versions = sorted(r.version for r in acknowledged if r.version is not None)
    assert len(set(versions)) == len(versions)


async def _answered_count(database: Path) -> int:
    return await asyncio.to_thread(lambda: len(_committed_sources(database)))


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The command in a session of its own (the server and its workers can be
    signalled together), its stderr into `log`.

    A file, not a pipe: nobody reads a pipe while the server runs, and once its
    64 KB fill up (a few hundred request log lines) every write to it blocks,
    the event loops that log included: the server would hang, not stop.
    """
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [MODELREG, *command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )


def _stop_for_good(process: subprocess.Popen[bytes]) -> bool:
    """Kill a server that did not stop, workers included, after it wrote every stack.

    The stacks (SIGUSR1, see server/lifecycle.py) end up in its stderr, which
    the failing assertion shows: what each thread of each process waited for.
    """
    if process.poll() is not None:
        return False
    os.killpg(process.pid, signal.SIGUSR1)
    time.sleep(1)
    os.killpg(process.pid, signal.SIGKILL)
    return True


@contextmanager
def _worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = _start(["worker"], env, log)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


async def _leased(db: Database) -> list[int]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(webhook_deliveries.c.id).where(
                webhook_deliveries.c.lease_expires_at.is_not(None)
            )
        )
        return sorted(rows.scalars())


async def _delivery_rows(db: Database) -> dict[int, tuple[str, int, bool, list[str | None]]]:
    """Each delivery: (status, attempt count, leased, attempt errors)."""
    d, a = webhook_deliveries, webhook_attempts
    found: dict[int, tuple[str, int, bool, list[str | None]]]
    async with db.read() as conn:
        found = {
            row.id: (row.status, row.attempt_count, row.lease_expires_at is not None, [])
            for row in await conn.execute(
                select(d.c.id, d.c.status, d.c.attempt_count, d.c.lease_expires_at)
            )
        }
        for row in await conn.execute(select(a.c.delivery_id, a.c.error).order_by(a.c.id)):
            found[row.delivery_id][3].append(row.error)
    return found


async def _hold_one_send_and_queue_another(api_db: Database, receiver: Receiver) -> None:
    """Two endpoints at one origin: with one connection per origin, one send holds it.

    The first delivery's request reaches the receiver, which never answers; the
    second is claimed and waits for the connection: claimed, not sent.
    """
    settings = Settings(webhook_dispatcher=False, webhook_allow_private_networks=True)
    async with serving(api_db, settings) as api:
        await create_webhook(api, receiver.script("/a", Reply(hang=True)), ["model.created"])
        await create_webhook(api, receiver.script("/b", Reply(hang=True)), ["model.created"])
        await api.data(CREATE_VERSION, {"input": {"modelName": "held", "source": "s3://held"}})


# One connection per endpoint origin, long attempts, a long lease: only the stop frees them.
HOLDING = {
    "MODELREG_WEBHOOK_CONCURRENCY_PER_ENDPOINT": "1",
    "MODELREG_WEBHOOK_TIMEOUT_SECONDS": "60",
    "MODELREG_WEBHOOK_POLL_INTERVAL_SECONDS": "0.1",
    "MODELREG_SHUTDOWN_GRACE_SECONDS": "1",
}


async def test_sigterm_to_a_worker_hands_back_its_claims_and_exits_0(
    tmp_path: Path, receiver: Receiver
) -> None:
    database = tmp_path / "worker.db"
    _migrated(database)
    db = create_database(f"sqlite+aiosqlite:///{database}")
    try:
        await _hold_one_send_and_queue_another(db, receiver)
        log = tmp_path / "worker.stderr"
        with _worker(_env(database, **HOLDING), log) as process:
            await receiver.wait_for(lambda got: len(got) == 1, 30)
            await eventually(lambda: _leased(db), lambda ids: len(ids) == 2, 30)
            stopped_at = time.monotonic()
            process.send_signal(signal.SIGTERM)
            returncode = await asyncio.to_thread(process.wait, 30)
            took = time.monotonic() - stopped_at
            err = log.read_text()
        assert returncode == 0, err[-2000:]
        assert took < 15  # the 1 s grace, not the 60 s attempt timeout or the lease
        rows = await _delivery_rows(db)
        sent = receiver.received[0].path
        by_path = _by_path(rows, sent)
        # The one whose request went out: an attempt that says it may have arrived.
        assert by_path["sent"] == ("PENDING", 1, False, [SHUTDOWN_INTERRUPTED])
        # The one still waiting for the connection: handed back untouched.
        assert by_path["unsent"] == ("PENDING", 0, False, [])
        async with db.transaction() as conn:
            claimable = await deliveries.claim(
                conn, now=utcnow(), lease_until=utcnow(), limit=10, room={}, per_webhook=10
            )
        assert len(claimable) == 2  # both at once: no lease to wait out
        assert "Traceback" not in err
        lines = [json.loads(line) for line in err.splitlines()]
        assert any("handed back" in line["message"] for line in lines)
    finally:
        await db.dispose()


def _by_path(
    rows: dict[int, tuple[str, int, bool, list[str | None]]], sent_path: str
) -> dict[str, tuple[str, int, bool, list[str | None]]]:
    """The deliveries keyed sent/unsent (delivery ids follow webhook creation: /a, /b)."""
    first, second = (rows[i] for i in sorted(rows))
    return (
        {"sent": first, "unsent": second}
        if sent_path == "/a"
        else {"sent": second, "unsent": first}
    )


async def test_a_dispatcher_stopped_mid_send_hands_back_in_the_same_way(
    db: Database, receiver: Receiver
) -> None:
    await _hold_one_send_and_queue_another(db, receiver)
    settings = with_test_key(
        Settings(
            webhook_allow_private_networks=True,
            webhook_timeout_seconds=60,
            webhook_poll_interval_seconds=0.05,
            webhook_concurrency_per_endpoint=1,
        ),
        db,
    )
    config = settings.delivery_config(secret_keys(settings, db.url).keys)
    dispatcher = Dispatcher(db, config)
    await dispatcher.start()
    await receiver.wait_for(lambda got: len(got) == 1, 30)
    await eventually(lambda: _leased(db), lambda ids: len(ids) == 2, 30)
    await dispatcher.stop(grace_seconds=0.2)
    by_path = _by_path(await _delivery_rows(db), receiver.received[0].path)
    assert by_path["sent"] == ("PENDING", 1, False, [SHUTDOWN_INTERRUPTED])
    assert by_path["unsent"] == ("PENDING", 0, False, [])


async def test_readyz_reports_the_dispatcher(db: Database) -> None:
    app = create_app(with_test_key(FAST_WEBHOOKS, db), database=db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://modelreg") as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"]["dispatcher"]["ok"] is True
            app.state.dispatcher.stop_claiming()
            stopped = await http.get("/readyz")
            assert stopped.status_code == 503
            assert stopped.json()["checks"]["dispatcher"] == {
                "ok": False,
                "detail": "the webhook dispatcher has stopped",
            }
            assert (await http.get("/healthz")).status_code == 200  # liveness is not readiness
    without = create_app(with_test_key(Settings(webhook_dispatcher=False), db), database=db)
    async with without.router.lifespan_context(without):
        transport = httpx.ASGITransport(app=without)
        async with httpx.AsyncClient(transport=transport, base_url="http://modelreg") as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 200
            assert "not run in this process" in ready.json()["checks"]["dispatcher"]["detail"]


@pytest.mark.parametrize("command", [["serve"], ["worker"]])
def test_a_missing_database_is_refused_in_one_line_and_not_created(
    tmp_path: Path, command: list[str]
) -> None:
    database = tmp_path / "absent" / "new.db"
    database.parent.mkdir()
    port = ["--port", str(free_port())] if command == ["serve"] else []
    result = subprocess.run(
        [MODELREG, *command, *port], env=_env(database), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"modelreg: cannot {'serve' if command == ['serve'] else 'start the worker'}: "
        f"the database file {database} does not exist: run `modelreg db upgrade` to create it"
    )
    assert list(database.parent.iterdir()) == []  # no empty database, lock or key file


@pytest.mark.parametrize("command", [["serve"], ["worker"]])
def test_an_unmigrated_database_is_refused_in_one_line(tmp_path: Path, command: list[str]) -> None:
    database = tmp_path / "empty.db"
    sqlite3.connect(database).close()  # a file, but no schema
    port = ["--port", str(free_port())] if command == ["serve"] else []
    result = subprocess.run(
        [MODELREG, *command, *port], env=_env(database), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.endswith(
        f"the database schema is at nothing, this modelreg needs {head_revision()}: "
        "run `modelreg db upgrade`"
    )
    assert "Traceback" not in result.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"empty.db"}
