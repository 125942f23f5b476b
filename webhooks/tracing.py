"""Spans around webhook sends: nothing until `server.tracing` installs a span factory.

The seam keeps OpenTelemetry out of `webhooks/` (and out of the base
install): the dispatcher asks for a span by name and attributes, and gets
either a real one or a stand-in that ignores what it is told.
"""

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

Attribute = str | int | float | bool


class Span(Protocol):
    def set_attribute(self, key: str, value: Attribute) -> None: ...


class _NoSpan:
    def set_attribute(self, key: str, value: Attribute) -> None:
        return None


SpanFactory = Callable[[str, Mapping[str, Attribute]], AbstractContextManager[Span]]
_NO_SPAN = _NoSpan()


def _no_span(name: str, attributes: Mapping[str, Attribute]) -> AbstractContextManager[Span]:
    return nullcontext(_NO_SPAN)


_factory: SpanFactory = _no_span


def install(factory: SpanFactory | None) -> None:
    """Make spans with `factory` from now on (None: stop making them)."""
    global _factory
    _factory = factory or _no_span


def start_span(name: str, attributes: Mapping[str, Attribute]) -> AbstractContextManager[Span]:
    """A span for the block it opens, current while the block runs."""
    return _factory(name, attributes)
