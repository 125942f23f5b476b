"""Install and run wrk, and read the result line that bench/lua/operation.lua prints."""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.operation import WRK_THREADS, Operation

LUA_SCRIPT = Path(__file__).parent / "lua" / "operation.lua"
THREADS = WRK_THREADS
CONNECTIONS = 8
# Generous, so that slow writes show up in p99 instead of as wrk timeouts.
REQUEST_TIMEOUT = "10s"
RESULT_PREFIX = "BENCH_RESULT "


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    body_errors: int
    socket_errors: int
    # CPU seconds of the server's workers during the run, where the target measures it.
    server_cpu_s: float | None = None

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        if self.server_cpu_s is None or not self.requests:
            return None
        return self.server_cpu_s * 1000 / self.requests

    @property
    def errors(self) -> int:
        """Requests that did not get a 2xx answer."""
        return self.non_2xx + self.socket_errors


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found is not None:
        print(f"wrk: using {found}")
        return found
    print("wrk: not found, running `apt-get install -y wrk`")
    if _apt_get("install", "-y", "wrk") != 0:
        # A fresh machine may have no package lists yet.
        print("wrk: install failed, running `apt-get update` and trying again")
        _apt_get("update")
        if _apt_get("install", "-y", "wrk") != 0:
            raise RuntimeError("could not install wrk with apt-get")
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    print(f"wrk: installed {found}")
    return found


def _apt_get(*args: str) -> int:
    completed = subprocess.run(
        ["apt-get", "-q", *args],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        print(completed.stdout + completed.stderr)
    return completed.returncode


def run_wrk(
    wrk: str, base_url: str, operation: Operation, duration_s: int, workdir: Path
) -> WrkResult:
    """Load `operation` for `duration_s` seconds at CONNECTIONS connections."""
    bodies_file = "-"
    if operation.bodies:
        path = workdir / f"{operation.name.replace(' ', '-')}.bodies"
        path.write_text("\n".join(operation.bodies) + "\n")
        bodies_file = str(path)
    command = [
        wrk,
        f"--threads={THREADS}",
        f"--connections={CONNECTIONS}",
        f"--duration={duration_s}s",
        f"--timeout={REQUEST_TIMEOUT}",
        f"--script={LUA_SCRIPT}",
        *(f"--header={name}: {value}" for name, value in operation.headers.items()),
        base_url + operation.path,
        "--",
        operation.method,
        bodies_file,
        operation.body_error_marker or "-",
        str(THREADS if operation.per_thread else 1),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    return parse_result(completed.stdout)


def parse_result(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            fields = json.loads(line.removeprefix(RESULT_PREFIX))
            return WrkResult(
                requests=int(fields["requests"]),
                duration_s=fields["duration_us"] / 1e6,
                p50_ms=fields["p50_us"] / 1e3,
                p99_ms=fields["p99_us"] / 1e3,
                max_ms=fields["max_us"] / 1e3,
                non_2xx=int(fields["non_2xx"]),
                body_errors=int(fields["body_errors"]),
                socket_errors=int(
                    fields["connect_errors"]
                    + fields["read_errors"]
                    + fields["write_errors"]
                    + fields["timeouts"]
                ),
            )
    raise RuntimeError(f"wrk printed no {RESULT_PREFIX.strip()} line:\n{output}")
