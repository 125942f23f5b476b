"""`modelreg watch` against a real `modelreg serve`: lines, --exec once per change, resuming."""

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from storage.database import Database
from tests.graphql import register, transition
from tests.live_servers import live_env, replicas, serving_process
from tests.test_serve_process import MODELREG
from tests.webhook_client import eventually

RUN = 'echo "$MODELREG_MODEL $MODELREG_VERSION $MODELREG_SOURCE $MODELREG_URI" >> runs.txt'
URI = "models:/fraud/Production"


@asynccontextmanager
async def watching(
    base: str, token: str, workdir: Path, *args: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {**os.environ, "MODELREG_URL": base, "MODELREG_TOKEN": token}
    process = await asyncio.create_subprocess_exec(
        MODELREG, "watch", *args, env=env, cwd=workdir,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0


async def line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    found: dict[str, Any] = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
    return found


async def runs(workdir: Path, count: int) -> list[str]:
    """The command's runs so far, once there are `count` of them."""
    path = workdir / "runs.txt"

    async def read() -> list[str]:
        return path.read_text().splitlines() if path.exists() else []

    return await eventually(read, lambda lines: len(lines) >= count, 30)


async def applied(workdir: Path, version: int) -> dict[str, Any]:
    """The state file, once it records `version` as run.

    The command's line in runs.txt comes before the watch sees it exit and
    saves its state; a watch stopped in between runs it again when it
    restarts (at least once), which is not what these tests look at.
    """
    path = workdir / "state.json"

    async def read() -> dict[str, Any]:
        return json.loads(path.read_text()) if path.exists() else {}

    return await eventually(read, lambda state: state.get("version") == version, 30)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_watch_runs_its_command_once_per_change_and_resumes_from_its_state(
    db: Database, tmp_path: Path
) -> None:
    async with replicas(db) as ([server], api):
        await register(api, "fraud", 2)
        await transition(api, "fraud", 1, "PRODUCTION")
        options = ("--exec", RUN, "--state-file", "state.json")
        async with watching(server.base, api.token or "", tmp_path, URI, *options) as watch:
            first = await line(watch)
            assert (first["model"], first["version"], first["uri"]) == ("fraud", 1, URI)
            assert first["source"] == "s3://models/fraud"
            assert set(first) == {"uri", "model", "version", "source", "runId", "digest", "cursor"}
            await transition(api, "fraud", 2, "PRODUCTION")
            assert (await line(watch))["version"] == 2
            await api.data(
                'mutation { rollback(input: {modelName: "fraud"}) { restored { version } } }'
            )
            assert (await line(watch))["version"] == 1
            assert await runs(tmp_path, 3) == [
                f"fraud {v} s3://models/fraud {URI}" for v in (1, 2, 1)
            ]
            state = await applied(tmp_path, 1)
        assert state["uri"] == URI

        # Promoted while nobody watched: the restarted watch runs it, once.
        await transition(api, "fraud", 2, "PRODUCTION")
        async with watching(server.base, api.token or "", tmp_path, URI, *options) as watch:
            assert (await line(watch))["version"] == 2
            assert (await runs(tmp_path, 4))[3] == f"fraud 2 s3://models/fraud {URI}"
            await applied(tmp_path, 2)
        # Unchanged since: the line is printed, the command does not run again.
        async with watching(server.base, api.token or "", tmp_path, URI, *options) as watch:
            assert (await line(watch))["version"] == 2
            await transition(api, "fraud", 1, "PRODUCTION")
            assert (await line(watch))["version"] == 1
            assert (await runs(tmp_path, 5))[4:] == [f"fraud 1 s3://models/fraud {URI}"]
        assert len((tmp_path / "runs.txt").read_text().splitlines()) == 5


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_watch_reconnects_when_the_registry_restarts(db: Database, tmp_path: Path) -> None:
    """Its server stops; a promotion goes through another replica; the server comes back."""
    async with replicas(db, count=2) as ([other, server], api):
        await register(api, "fraud", 2)
        await transition(api, "fraud", 1, "PRODUCTION")
        async with watching(server.base, api.token or "", tmp_path, URI, "--exec", RUN) as watch:
            assert (await line(watch))["version"] == 1
            server.process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(server.process.wait, 30) == 0
            await transition(api, "fraud", 2, "PRODUCTION")  # through `other`
            env = live_env(db.url)
            with serving_process(env, port=server.port):
                assert (await line(watch))["version"] == 2
                assert [r.split()[1] for r in await runs(tmp_path, 2)] == ["1", "2"]
        assert watch.stderr is not None
        assert "reconnecting in" in (await watch.stderr.read()).decode()
        assert other.process.poll() is None


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_watch_fails_with_the_error_code(db: Database, tmp_path: Path) -> None:
    async with replicas(db) as ([server], api):
        for token, uri, expected in (
            (api.token or "", "models:/fraud", "BAD_USER_INPUT"),
            ("mr_forged", URI, "UNAUTHENTICATED: unknown token"),
        ):
            async with watching(server.base, token, tmp_path, uri) as watch:
                assert await asyncio.wait_for(watch.wait(), 30) == 1
                assert watch.stderr is not None
                assert expected in (await watch.stderr.read()).decode()
        # A state file of another URI is refused before anything is watched.
        (tmp_path / "other.json").write_text(json.dumps({"uri": "models:/churn/Production"}))
        options = ("--state-file", "other.json")
        async with watching(server.base, api.token or "", tmp_path, URI, *options) as watch:
            assert await asyncio.wait_for(watch.wait(), 30) == 1
