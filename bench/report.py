"""Markdown tables for the terminal and results.json for later comparison."""

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.config import BenchConfig
from bench.operation import SAME_CALL
from bench.wrk import CONNECTIONS, THREADS, WrkResult

# Operation name -> its wrk result, for one server.
Results = Mapping[str, WrkResult]


def results_table(results: Results) -> str:
    rows = [
        [
            name,
            f"{result.requests_per_s:,.0f}",
            f"{result.p50_ms:.1f}",
            f"{result.p99_ms:.1f}",
            str(result.errors),
            str(result.body_errors),
            _cpu(result),
        ]
        for name, result in results.items()
    ]
    header = [
        "operation",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "errors in 2xx body",
        "server CPU ms/req",
    ]
    return markdown(header, rows)


def _cpu(result: WrkResult) -> str:
    cpu_ms = result.server_cpu_ms_per_request
    return "" if cpu_ms is None else f"{cpu_ms:.2f}"


def rounds_table(
    results: Mapping[str, Results], servers: Sequence[str], rounds: int, *, per_second: bool
) -> str:
    """req/s (or server CPU ms per request) of each operation, rounds side by side, and median."""

    def figure(result: WrkResult) -> float | None:
        return result.requests_per_s if per_second else result.server_cpu_ms_per_request

    def runs(server: str, operation: str) -> list[float]:
        names = [server] + [f"{server} #{i}" for i in range(2, rounds + 1)]
        found = [figure(results[n][operation]) for n in names if operation in results[n]]
        return [f for f in found if f is not None]

    number = "{:,.0f}" if per_second else "{:.2f}"

    header = ["operation", *(f"{server} (median)" for server in servers)]
    rows = []
    for operation in results[servers[0]]:
        cells = []
        for server in servers:
            measured = runs(server, operation)
            figures = " / ".join(number.format(r) for r in measured)
            median = number.format(statistics.median(measured)) if measured else ""
            cells.append(f"{figures} ({median})" if measured else "")
        rows.append([operation, *cells])
    return markdown(header, rows)


def comparison_table(ours: Results, peer: Results, peer_name: str) -> str:
    header = [
        "operation",
        "modelreg req/s",
        f"{peer_name} req/s",
        f"ratio modelreg/{peer_name}",
        "modelreg p50 ms",
        f"{peer_name} p50 ms",
        "modelreg p99 ms",
        f"{peer_name} p99 ms",
        # The servers' own CPU per request: what the machine's load sways least.
        "modelreg CPU ms/req",
        f"{peer_name} CPU ms/req",
        f"CPU ratio {peer_name}/modelreg",
    ]
    rows = []
    for name, mine in ours.items():
        theirs = peer.get(name) or peer.get(SAME_CALL.get(name, ""))
        if theirs is None:
            continue
        rows.append(
            [
                name,
                f"{mine.requests_per_s:,.0f}",
                f"{theirs.requests_per_s:,.0f}",
                f"{mine.requests_per_s / theirs.requests_per_s:.2f}x",
                f"{mine.p50_ms:.1f}",
                f"{theirs.p50_ms:.1f}",
                f"{mine.p99_ms:.1f}",
                f"{theirs.p99_ms:.1f}",
                _cpu(mine),
                _cpu(theirs),
                _cpu_ratio(theirs, mine),
            ]
        )
    return markdown(header, rows)


def _cpu_ratio(theirs: WrkResult, mine: WrkResult) -> str:
    """How many times the CPU per request `theirs` spends against `mine`."""
    their_ms, my_ms = theirs.server_cpu_ms_per_request, mine.server_cpu_ms_per_request
    return "" if their_ms is None or not my_ms else f"{their_ms / my_ms:.1f}x"


def write_json(
    path: Path,
    config: BenchConfig,
    versions: Mapping[str, str],
    load_average: float,
    results: Mapping[str, Results],
) -> None:
    document = {
        "load_average_before": load_average,
        "config": {
            "duration_s": config.duration_s,
            "warmup_s": config.warmup_s,
            "wrk_threads": THREADS,
            "wrk_connections": CONNECTIONS,
        },
        "versions": dict(versions),
        "results": {
            server: {name: _result_json(result) for name, result in by_operation.items()}
            for server, by_operation in results.items()
        },
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def merge_json(path: Path, key: str, section: Mapping[str, Any]) -> None:
    """Set `key` in the results file, keeping what other benchmarks wrote there."""
    try:
        document = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        document = {}
    document[key] = dict(section)
    path.write_text(json.dumps(document, indent=2) + "\n")


def _result_json(result: WrkResult) -> dict[str, Any]:
    return {
        **asdict(result),
        "requests_per_s": result.requests_per_s,
        "errors": result.errors,
        "server_cpu_ms_per_request": result.server_cpu_ms_per_request,
    }


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        # Numbers right-aligned so that columns of figures line up.
        padded = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    separator = (
        "|"
        + "|".join("-" * (width + 1) + ("-" if i == 0 else ":") for i, width in enumerate(widths))
        + "|"
    )
    return "\n".join([line(header), separator, *(line(row) for row in rows)])
