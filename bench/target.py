"""What run.py needs from each server under test."""

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from bench.operation import Operation


class Target(Protocol):
    name: str

    def prepare(self) -> None:
        """Install what the server needs; runs before any server is measured."""

    def version(self) -> str:
        """What exactly was measured, for results.json."""

    def serve(self, workdir: Path) -> AbstractContextManager[str]:
        """Run the server with its data in `workdir`, yielding its base URL."""

    def seed(self, base_url: str) -> list[Operation]:
        """Create the data the operations use, and return the operations."""

    def server_cpu_s(self) -> float | None:
        """CPU seconds the running server's workers have used so far (None: not measured)."""
