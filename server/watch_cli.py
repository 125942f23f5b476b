"""`modelreg watch URI`: follow what a models:/ URI resolves to, and act when it changes.

For serving infrastructure: one JSON line on stdout for the resolution at
start and one per change after; with `--exec CMD`, CMD runs (through the
shell) for each new resolution, one run at a time, with MODELREG_MODEL,
MODELREG_VERSION, MODELREG_SOURCE, MODELREG_URI (and MODELREG_RUN_ID,
MODELREG_DIGEST, MODELREG_CURSOR) in its environment. A change that
arrives while CMD runs waits for it; of several, CMD runs once, for the latest.

It follows `modelUriResolutions` over the registry's WebSocket (MODELREG_URL,
MODELREG_TOKEN). When the connection drops it reconnects with exponential
backoff and jitter, and compares the resolution it gets then with the last
one it acted on: CMD runs for a promotion made while it was away, never twice
for one it already ran. `--state-file` keeps that last resolution (and its
cursor) across restarts, written atomically after CMD succeeded.

Exit codes as the other commands: 1 with `CODE: message` on stderr when the
registry refuses (a bad URI, an invalid or revoked token); SIGINT or SIGTERM
end it with 0.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from server.settings import get_settings

SUBSCRIPTION = """subscription($uri: String!) { modelUriResolutions(uri: $uri) {
  cursor modelVersion { version source runId digest createdAt model { name } } } }"""
# Closed by the registry for good: the token was refused.
TOKEN_REFUSED = 4403
FIRST_DELAY_S, MAX_DELAY_S = 0.5, 30.0


class WatchError(Exception):
    """The registry refused the watch: no retry helps."""


def _ws_url(url: str) -> str:
    base = url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + "/graphql"
    return "ws://" + base.removeprefix("http://") + "/graphql"


def resolution_of(uri: str, answer: dict[str, Any]) -> dict[str, Any]:
    """The line printed (and kept in the state file) for one answer of the registry."""
    found = answer["modelVersion"]
    return {
        "uri": uri,
        "model": found["model"]["name"] if found else None,
        "version": found["version"] if found else None,
        "source": found["source"] if found else None,
        "runId": found["runId"] if found else None,
        "digest": found["digest"] if found else None,
        "createdAt": found["createdAt"] if found else None,
        "cursor": answer["cursor"],
    }


def _same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """The same version (a model deleted and registered again has new versions)."""
    keys = ("model", "version", "createdAt")
    return a is not None and b is not None and all(a[k] == b[k] for k in keys)


class Watch:
    def __init__(self, uri: str, command: str | None, state_file: Path | None) -> None:
        self.uri = uri
        self.command = command
        self.state_file = state_file
        self.applied: dict[str, Any] | None = self._load_state()
        self.seen: dict[str, Any] | None = None  # the last line printed
        self.latest: dict[str, Any] | None = None
        self.changed = asyncio.Event()

    def _load_state(self) -> dict[str, Any] | None:
        if self.state_file is None or not self.state_file.exists():
            return None
        try:
            state: dict[str, Any] = json.loads(self.state_file.read_text())
        except (OSError, ValueError) as error:
            raise WatchError(f"cannot read the state file {self.state_file}: {error}") from error
        if state.get("uri") != self.uri:
            raise WatchError(
                f"the state file {self.state_file} is for {state.get('uri')!r}, not {self.uri!r}"
            )
        return state

    def _save_state(self, resolution: dict[str, Any]) -> None:
        if self.state_file is None:
            return
        directory = self.state_file.resolve().parent
        with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, suffix=".tmp") as out:
            json.dump(resolution, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(out.name, self.state_file)  # readers see the old file or the new one

    def received(self, resolution: dict[str, Any]) -> None:
        """A resolution from the registry: print it if new, and let the runner act on it."""
        if self.seen is None or not _same(self.seen, resolution):
            print(json.dumps({k: v for k, v in resolution.items() if k != "createdAt"}), flush=True)
        self.seen = resolution
        self.latest = resolution
        self.changed.set()

    async def act(self) -> None:
        """Run the command for each resolution not yet acted on, one at a time, forever."""
        while True:
            await self.changed.wait()
            self.changed.clear()
            latest = self.latest
            if latest is None or self._acted_on(latest):
                continue
            runs = self.command is not None and latest["version"] is not None
            if runs and not await self._run(latest):
                self.applied = latest  # not again here; a restart retries it
                continue
            self.applied = latest
            self._save_state(latest)

    def _acted_on(self, latest: dict[str, Any]) -> bool:
        applied = self.applied
        if applied is None:
            return False
        return _same(applied, latest) or applied["version"] is latest["version"] is None

    async def _run(self, resolution: dict[str, Any]) -> bool:
        assert self.command is not None
        env = {
            **os.environ,
            "MODELREG_URI": self.uri,
            "MODELREG_MODEL": str(resolution["model"]),
            "MODELREG_VERSION": str(resolution["version"]),
            "MODELREG_SOURCE": str(resolution["source"]),
            "MODELREG_RUN_ID": resolution["runId"] or "",
            "MODELREG_DIGEST": resolution["digest"] or "",
            "MODELREG_CURSOR": resolution["cursor"],
        }
        process = await asyncio.create_subprocess_shell(self.command, env=env)
        try:
            code = await process.wait()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            await process.wait()
            raise
        if code != 0:
            print(
                f"modelreg: --exec exited with {code} for version {resolution['version']}",
                file=sys.stderr,
            )
        return code == 0


async def _follow(watch: Watch, url: str, token: str | None) -> None:
    """One connection: subscribe, and hand every answer to `watch` until it drops."""
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        variables = {"uri": watch.uri}
        subscribe = {"query": SUBSCRIPTION, "variables": variables}
        await ws.send(json.dumps({"id": "watch", "type": "subscribe", "payload": subscribe}))
        async for raw in ws:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            elif kind == "error":
                first = message["payload"][0]
                code = first.get("extensions", {}).get("code", "ERROR")
                raise WatchError(f"{code}: {first.get('message')}")
            elif kind == "next":
                payload = message["payload"]
                if payload.get("errors"):
                    first = payload["errors"][0]
                    code = first.get("extensions", {}).get("code", "ERROR")
                    raise WatchError(f"{code}: {first.get('message')}")
                watch.received(resolution_of(watch.uri, payload["data"]["modelUriResolutions"]))
            elif kind == "complete":
                return


async def watch_forever(watch: Watch, url: str, token: str | None) -> None:
    delay = FIRST_DELAY_S
    runner = asyncio.create_task(watch.act())
    try:
        while True:
            try:
                await _follow(watch, url, token)
                problem = "the registry ended the watch"
            except ConnectionClosed as closed:
                received = closed.rcvd
                if received is not None and received.code == TOKEN_REFUSED:
                    raise WatchError(f"UNAUTHENTICATED: {received.reason}") from closed
                reason = f"{received.code} {received.reason}" if received else "dropped"
                problem = f"the connection closed ({reason})"
                delay = FIRST_DELAY_S if watch.seen is not None else delay
            except InvalidStatus as error:
                problem = f"the registry answered {error.response.status_code}"
            except (OSError, InvalidHandshake, TimeoutError) as error:
                problem = f"cannot reach the registry at {url}: {error}"
            # Jitter: replicas restarted together must not be hit by every watcher at once.
            wait = delay * random.uniform(0.5, 1.5)
            print(f"modelreg: {problem}; reconnecting in {wait:.1f} s", file=sys.stderr)
            await asyncio.sleep(wait)
            delay = min(delay * 2, MAX_DELAY_S)
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


async def _main(args: argparse.Namespace) -> int:
    settings = get_settings()
    watch = Watch(args.uri, args.exec, Path(args.state_file) if args.state_file else None)
    task = asyncio.create_task(watch_forever(watch, _ws_url(settings.url), settings.token))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return 0


def run_watch(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_main(args))
    except WatchError as error:
        print(f"modelreg: {error}", file=sys.stderr)
        return 1


def add_watch_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    watch = commands.add_parser(
        "watch", help="follow what a models:/ URI resolves to; run a command when it changes"
    )
    watch.add_argument(
        "uri", help="models:/NAME/Production, /Staging, /latest or models:/NAME@ALIAS"
    )
    watch.add_argument(
        "--exec", metavar="CMD", help="run CMD (through the shell) for each new resolution"
    )
    watch.add_argument(
        "--state-file",
        metavar="PATH",
        help="keep the last resolution acted on here, to resume across restarts",
    )
    watch.set_defaults(watch_handler=run_watch)
