"""Benchmark settings, from BENCH_* environment variables (the only place that reads them)."""

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Gitignored: MLflow's venv, scratch databases and results.json.
BENCH_DIR = REPO_ROOT / ".bench"
PEERS = ("mlflow",)


@dataclass(frozen=True)
class BenchConfig:
    duration_s: int
    warmup_s: int
    peer: str | None
    # BENCH_BASELINE=<git ref>: also measure that commit (before/after in one run).
    baseline: str | None
    # BENCH_WEBHOOKS=0 skips the webhook delivery benchmark in `make bench`.
    webhooks: bool

    @classmethod
    def from_env(cls) -> "BenchConfig":
        return cls(
            duration_s=_positive_int("BENCH_DURATION", default=10),
            warmup_s=_positive_int("BENCH_WARMUP", default=2),
            peer=_peer(),
            baseline=os.environ.get("BENCH_BASELINE", "").strip() or None,
            webhooks=os.environ.get("BENCH_WEBHOOKS", "1").strip() != "0",
        )


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip().removesuffix("s")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise SystemExit(f"{name} must be a whole number of seconds, got {raw!r}")
    return int(raw)


def _peer() -> str | None:
    peer = os.environ.get("BENCH_PEER", "").strip().lower() or None
    if peer is not None and peer not in PEERS:
        raise SystemExit(f"BENCH_PEER must be one of {', '.join(PEERS)}, got {peer!r}")
    return peer
