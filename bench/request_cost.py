"""CPU time per request of the registry's server processes, robust to a busy machine.

`make bench` measures requests per second, which on a shared 2-core machine
swings by ±30% with whatever else runs. This counts the CPU time the server's
processes (the supervisor and its workers, as `make bench` starts them) spend
on a fixed number of requests, read from /proc before and after: other
processes' load changes it far less than it changes throughput.

    .venv/bin/python -m bench.request_cost [--requests 4000] [--rounds 3]
        [--operations "read production version,ceiling (health check)"]

The client is a few keep-alive connections sending prebuilt requests; its
own CPU is not counted.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.modelreg_target import ModelregTarget
from bench.operation import CEILING, MLFLOW_API_GET_LATEST, READ_PRODUCTION, Operation

DEFAULT_OPERATIONS = (READ_PRODUCTION, MLFLOW_API_GET_LATEST, CEILING)
CONNECTIONS = 8
WARMUP_REQUESTS = 500
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def request_bytes(operation: Operation, host: str) -> list[bytes]:
    """Each body of `operation` as a whole HTTP/1.1 keep-alive request."""
    bodies = operation.bodies or [""]
    requests = []
    for body in bodies:
        data = body.encode()
        lines = [f"{operation.method} {operation.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in operation.headers.items()]
        if operation.method == "POST":
            lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        requests.append(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
    return requests


async def _connection(host: str, port: int, requests: list[bytes], count: int) -> int:
    """Send `count` requests one after the other; the number answered with a 2xx."""
    reader, writer = await asyncio.open_connection(host, port)
    ok = 0
    try:
        for i in range(count):
            writer.write(requests[i % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            ok += 200 <= status < 300 and b'"errors"' not in body and b'"error_code"' not in body
    finally:
        writer.close()
    return ok


async def drive(base_url: str, operation: Operation, total: int) -> int:
    host, _, port = base_url.removeprefix("http://").partition(":")
    requests = request_bytes(operation, host)
    share, extra = divmod(total, CONNECTIONS)
    counts = [share + (1 if i < extra else 0) for i in range(CONNECTIONS)]
    done = await asyncio.gather(*(_connection(host, int(port), requests, n) for n in counts))
    return sum(done)


def server_pids(port: int) -> list[int]:
    """The processes of the session whose leader serves `port` (supervisor and workers)."""
    leader = None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmdline and str(port).encode() in cmdline:
            leader = int(entry.name)
    if leader is None:
        raise RuntimeError(f"no server process found for port {port}")
    return [pid for pid in _all_pids() if _session(pid) == leader]


def _all_pids() -> list[int]:
    return [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]


def _session(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[3]) if fields is not None else None


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state is [0], session is [3])."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime + stime of `pids`, in seconds."""
    ticks = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / _CLOCK_TICKS


def measure(base_url: str, operation: Operation, requests: int) -> float:
    """Milliseconds of server CPU per request over `requests` requests."""
    pids = server_pids(int(base_url.rsplit(":", 1)[1]))
    asyncio.run(drive(base_url, operation, WARMUP_REQUESTS))
    before = cpu_seconds(pids)
    ok = asyncio.run(drive(base_url, operation, requests))
    spent = cpu_seconds(pids) - before
    if ok != requests:
        raise RuntimeError(f"{operation.name}: {requests - ok} of {requests} requests failed")
    return spent * 1000 / requests


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--operations", default=",".join(DEFAULT_OPERATIONS))
    args = parser.parse_args(argv)
    wanted = [name.strip() for name in args.operations.split(",")]
    target = ModelregTarget()
    target.prepare()
    with (
        tempfile.TemporaryDirectory(prefix="modelreg-cost-") as workdir,
        target.serve(Path(workdir)) as base_url,
    ):
        operations = {op.name: op for op in target.seed(base_url)}
        for name in wanted:
            costs = [measure(base_url, operations[name], args.requests) for _ in range(args.rounds)]
            shown = " ".join(f"{c:.3f}" for c in costs)
            print(f"{name}: {statistics.median(costs):.3f} ms CPU/request (rounds: {shown})")


if __name__ == "__main__":
    main()
