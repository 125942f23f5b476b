"""Processes of the live benchmark: the registry with its workers, and subscriber processes.

Each runs in its own session (process group) and is stopped with its `with`
block, also on failure, so nothing outlives the run.
"""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.config import REPO_ROOT
from bench.server_process import free_port, running_server, stop_process_group
from bench.token import MODELREG

STARTUP_TIMEOUT_S = 60.0
QUIT_GRACE_S = 20.0
SUBSCRIBER = [sys.executable, "-m", "bench.live_subscribers"]


@dataclass(frozen=True)
class Registry:
    base_url: str
    ws_url: str
    # The supervisor of `modelreg serve --workers N` (its workers are its children).
    supervisor: int


@contextmanager
def serve(env: dict[str, str], workers: int, log_path: Path) -> Iterator[Registry]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [str(MODELREG), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    with running_server(command, env, f"{base_url}/healthz", log_path, STARTUP_TIMEOUT_S) as proc:
        yield Registry(base_url, f"ws://127.0.0.1:{port}/graphql", proc.pid)


class SubscriberProcess:
    """The driver's side of one `bench.live_subscribers` process (a line each way)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process

    def _ask(self, command: str) -> str:
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write(command + "\n")
        stdin.flush()
        return self._line()

    def _line(self) -> str:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"subscriber process exited with {self._process.wait()}")
        return line.strip()

    def wait_ready(self) -> None:
        if (line := self._line()) != "ready":
            raise RuntimeError(f"subscriber process said {line!r} instead of ready")

    def count(self) -> int:
        """How many of its subscriptions have received an event so far."""
        return int(self._ask("count"))

    def dump(self) -> dict[str, Any]:
        """Arrivals since the last dump, problems seen, and the process's CPU seconds."""
        dumped: dict[str, Any] = orjson.loads(self._ask("dump"))
        return dumped

    def quit(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write("quit\n")
        self._process.stdin.flush()
        try:
            self._process.wait(timeout=QUIT_GRACE_S)
        except subprocess.TimeoutExpired:
            stop_process_group(self._process)


@contextmanager
def subscribers(
    registry: Registry, token: str, connections: list[int], per_connection: int, log_path: Path
) -> Iterator[list[SubscriberProcess]]:
    """One subscriber process per entry of `connections` (how many connections it opens)."""
    with ExitStack() as stack, log_path.open("ab") as log:
        handles = []
        for count in connections:
            process = subprocess.Popen(
                [*SUBSCRIBER, registry.ws_url, token, str(count), str(per_connection)],
                cwd=REPO_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
            stack.callback(stop_process_group, process)
            handles.append(SubscriberProcess(process))
        started = time.monotonic()
        for handle in handles:
            handle.wait_ready()
        print(f"live: {sum(connections)} connections open in {time.monotonic() - started:.1f} s")
        try:
            yield handles
        finally:
            for handle in handles:
                handle.quit()
