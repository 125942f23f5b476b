"""Fuzzing settings, from FUZZ_* environment variables (the only place that reads them)."""

import os
from dataclasses import dataclass

from bench.config import REPO_ROOT

# Gitignored: schemathesis's own venv and the reports of the last run.
FUZZ_DIR = REPO_ROOT / ".fuzz"
REPORT_DIR = FUZZ_DIR / "last"


@dataclass(frozen=True)
class FuzzConfig:
    # The admin pass; the reader pass gets a sixth of it (at least 10 s).
    seconds: int
    # Test cases per operation and round (schemathesis's --max-examples).
    examples: int
    # Same seed, same generated documents (the server's answers may still differ).
    seed: int | None

    @property
    def reader_seconds(self) -> int:
        return max(10, self.seconds // 6)

    @classmethod
    def from_env(cls) -> "FuzzConfig":
        seed = os.environ.get("FUZZ_SEED", "").strip()
        return cls(
            seconds=_positive_int("FUZZ_SECONDS", default=120),
            examples=_positive_int("FUZZ_EXAMPLES", default=100),
            seed=_positive_int("FUZZ_SEED", default=0) if seed else None,
        )


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip().removesuffix("s")
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) <= 0:
        raise SystemExit(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)
