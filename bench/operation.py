"""What one benchmarked operation sends: the same shape for every server under test."""

import json
from dataclasses import dataclass, field
from typing import Any

# Names shared by every server, so results line up in the comparison table.
CREATE_VERSION = "create version"
TRANSITION_STAGE = "transition stage"
READ_PRODUCTION = "read production version"
LIST_VERSIONS = "list 25 versions"
CEILING = "ceiling (health check)"


@dataclass(frozen=True)
class Operation:
    """One HTTP request shape that wrk repeats; several bodies are sent in turn."""

    name: str
    method: str
    path: str
    bodies: list[str] = field(default_factory=list)
    # Text in a 2xx body that means the request failed anyway (GraphQL's "errors").
    body_error_marker: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_body(payload: Any) -> str:
    """One line of JSON: the Lua script reads one body per line."""
    return json.dumps(payload, separators=(",", ":"))
