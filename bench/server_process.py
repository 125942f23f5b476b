"""Run a server under test in its own process group and wait until it answers."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

POLL_INTERVAL_S = 0.2
STOP_GRACE_S = 10.0


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_server(
    command: Sequence[str],
    env: Mapping[str, str],
    health_url: str,
    log_path: Path,
    startup_timeout_s: float,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `command`, wait for `health_url` to answer 200, and always stop it after.

    Yields the process (the leader of its own process group), for benchmarks
    that read its workers' memory or CPU time from /proc.
    """
    with log_path.open("wb") as log:
        # A new session makes the server its own process group, so stopping it
        # also stops the worker processes it forks.
        process = subprocess.Popen(
            command, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_until_healthy(process, health_url, log_path, startup_timeout_s)
        yield process
    finally:
        stop_process_group(process)


def _wait_until_healthy(
    process: subprocess.Popen[bytes], health_url: str, log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {process.returncode}; log:\n{_tail(log_path)}"
                )
            try:
                if client.get(health_url).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(POLL_INTERVAL_S)
    raise RuntimeError(
        f"{health_url} did not answer 200 in {timeout_s:.0f} s; log:\n{_tail(log_path)}"
    )


def stop_process_group(process: "subprocess.Popen[bytes] | subprocess.Popen[str]") -> None:
    """SIGTERM the group started with `start_new_session=True`, then SIGKILL what is left."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # Workers may outlive their supervisor; the group goes with it.
    _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    # ProcessLookupError: the whole group has already exited.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
