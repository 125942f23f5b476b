"""Benchmark settings, from BENCH_* environment variables (the only place that reads them)."""

import os
from dataclasses import dataclass
from pathlib import Path

from bench.operation import OPERATIONS

REPO_ROOT = Path(__file__).resolve().parent.parent
# Gitignored: MLflow's venv, scratch databases and results.json.
BENCH_DIR = REPO_ROOT / ".bench"
PEERS = ("mlflow",)


@dataclass(frozen=True)
class BenchConfig:
    duration_s: int
    warmup_s: int
    peer: str | None
    # BENCH_BASELINE=<git ref>[,<git ref>...]: also measure those commits (before/after in one run).
    baselines: tuple[str, ...]
    # BENCH_ROUNDS=N: measure every server N times, taking turns (A B A B), against drift.
    rounds: int
    # BENCH_OPERATIONS=name,name: only these operations (names as in bench/operation.py).
    operations: tuple[str, ...] | None
    # BENCH_WEBHOOKS=0 skips the webhook delivery benchmark in `make bench`.
    webhooks: bool
    # BENCH_LIVE=0 skips the live subscription benchmark (bench/live.py).
    live: bool

    @classmethod
    def from_env(cls) -> "BenchConfig":
        return cls(
            duration_s=_positive_int("BENCH_DURATION", default=10),
            warmup_s=_positive_int("BENCH_WARMUP", default=2),
            peer=_peer(),
            baselines=tuple(_list("BENCH_BASELINE", "")),
            rounds=_count("BENCH_ROUNDS", default=1),
            operations=_operations(),
            webhooks=os.environ.get("BENCH_WEBHOOKS", "1").strip() != "0",
            live=os.environ.get("BENCH_LIVE", "1").strip() != "0",
        )


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip().removesuffix("s")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise SystemExit(f"{name} must be a whole number of seconds, got {raw!r}")
    return int(raw)


def _operations() -> tuple[str, ...] | None:
    chosen = tuple(_list("BENCH_OPERATIONS", ""))
    unknown = set(chosen) - set(OPERATIONS)
    if unknown:
        raise SystemExit(
            f"BENCH_OPERATIONS: unknown {', '.join(sorted(unknown))}; "
            f"known: {', '.join(OPERATIONS)}"
        )
    return chosen or None


def _peer() -> str | None:
    peer = os.environ.get("BENCH_PEER", "").strip().lower() or None
    if peer is not None and peer not in PEERS:
        raise SystemExit(f"BENCH_PEER must be one of {', '.join(PEERS)}, got {peer!r}")
    return peer


SCALE_BACKENDS = ("sqlite", "postgresql")
DEFAULT_POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class ScaleConfig:
    """`make bench-scale`: registry sizes (versions), backends, and time per read."""

    sizes: tuple[int, ...]
    backends: tuple[str, ...]
    duration_s: int
    warmup_s: int
    # A database the benchmark may CREATE DATABASE from (and DROP its own).
    postgres_admin_url: str
    # BENCH_BASELINE=<git ref>: also measure that commit on the same data, before 0005.
    baseline: str | None = None
    # Each read is measured this many times per size, the sizes taking turns (median kept).
    rounds: int = 3

    @classmethod
    def from_env(cls) -> "ScaleConfig":
        return cls(
            sizes=tuple(_size(s) for s in _list("BENCH_SCALE_SIZES", "1k,100k,1M")),
            backends=_backends(),
            duration_s=_positive_int("BENCH_DURATION", default=10),
            warmup_s=_positive_int("BENCH_WARMUP", default=2),
            postgres_admin_url=os.environ.get("BENCH_POSTGRES_URL", "").strip()
            or DEFAULT_POSTGRES_ADMIN_URL,
            baseline=os.environ.get("BENCH_BASELINE", "").strip() or None,
            rounds=_positive_int("BENCH_SCALE_ROUNDS", default=3),
        )


def _list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def _size(text: str) -> int:
    """`1k`, `100k`, `1M` or a plain number of versions."""
    multiplier = {"k": 1_000, "m": 1_000_000}.get(text[-1].lower(), 1)
    digits = text[:-1] if multiplier > 1 else text
    if not digits.isdigit() or int(digits) * multiplier < 100:
        raise SystemExit(f"BENCH_SCALE_SIZES: {text!r} is not a size like 1k, 100k or 1M")
    return int(digits) * multiplier


def _backends() -> tuple[str, ...]:
    backends = tuple(b.lower() for b in _list("BENCH_SCALE_BACKENDS", ",".join(SCALE_BACKENDS)))
    unknown = set(backends) - set(SCALE_BACKENDS)
    if unknown or not backends:
        raise SystemExit(f"BENCH_SCALE_BACKENDS must name {' and/or '.join(SCALE_BACKENDS)}")
    return backends


@dataclass(frozen=True)
class LiveConfig:
    """bench/live.py: live subscriptions, commit -> subscriber latency and memory."""

    # The big case (the small one is always 1 subscription).
    subscriptions: int
    # 1, as a dashboard page or a `modelreg watch` holds; more packs them tighter.
    per_connection: int
    # Subscriber processes sharing the connections, so the client is not the bottleneck.
    client_processes: int
    # Commits per second while latency is measured (open loop).
    rate_per_s: int
    duration_s: int

    @classmethod
    def from_env(cls) -> "LiveConfig":
        return cls(
            subscriptions=_count("BENCH_LIVE_SUBSCRIPTIONS", default=500),
            per_connection=_count("BENCH_LIVE_PER_CONNECTION", default=1),
            client_processes=_count("BENCH_LIVE_CLIENTS", default=4),
            rate_per_s=_count("BENCH_LIVE_RATE", default=2),
            duration_s=_positive_int("BENCH_LIVE_SECONDS", default=20),
        )


def _count(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise SystemExit(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)
