"""Progress on stderr: a bar redrawn in place on a terminal, one plain line per model elsewhere."""

import shutil
from typing import TextIO

from resolvers.imports.outcome import ModelOutcome, ModelStatus

_BAR_WIDTH = 30


class Progress:
    def __init__(self, total: int, stream: TextIO, *, dry_run: bool) -> None:
        self.total = total
        self.done = 0
        self._stream = stream
        self._tty = stream.isatty()
        self._verb = "planning" if dry_run else "importing"

    def advance(self, outcome: ModelOutcome) -> None:
        self.done += 1
        if self._tty:
            self._draw(outcome.name)
        else:
            self._stream.write(f"[{self.done}/{self.total}] {outcome.name}: {_said(outcome)}\n")
            self._stream.flush()

    def close(self) -> None:
        """End the bar's line, so what follows starts on a line of its own."""
        if self._tty and self.done:
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, name: str) -> None:
        filled = _BAR_WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        line = f"{self._verb} [{bar}] {self.done}/{self.total} models  {name}"
        width = shutil.get_terminal_size().columns - 1
        # \r and the padding redraw the line over the previous, longer or not.
        self._stream.write("\r" + line[:width].ljust(width))
        self._stream.flush()


def _said(outcome: ModelOutcome) -> str:
    if outcome.status == ModelStatus.REFUSED:
        return f"refused: {outcome.refusal}"
    return (
        f"{outcome.status.value} ({outcome.versions_created} versions created, "
        f"{outcome.versions_updated} updated, {outcome.aliases_created + outcome.aliases_moved} "
        "aliases set)"
    )
