"""What a fuzzing pass provoked, read from schemathesis's HAR file and the server's log.

Every request and response is in the HAR file (schemathesis records them all).
A response counts as a finding when it is an HTTP 5xx, never came (status 0
in the HAR: schemathesis gave up waiting, after --request-timeout) or any of
its errors has `extensions.code == "INTERNAL_SERVER_ERROR"`; findings are grouped by the
operation (root field) that failed, keeping the shortest document as the
reproduction.
"""

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INTERNAL = "INTERNAL_SERVER_ERROR"
# What schema/execution.py logs, with its traceback, for every masked error;
# what uvicorn logs for an exception that escaped the app (a plain 500); what
# asyncio logs for a task that failed with nobody waiting for it.
UNEXPECTED = ("unexpected error", "Exception in ASGI application", "exception was never retrieved")
# The HAR's status of a request that got no response.
NO_RESPONSE = 0
# No `errors` in the body.
OK = "OK"
# A body that is not a GraphQL response (e.g. a plain-text 500).
NOT_GRAPHQL = "(not a GraphQL response)"
# A log record of the server (logging's format) or of uvicorn begins a line so.
_RECORD_START = re.compile(r"^(\d{4}-\d{2}-\d{2} |[A-Z]+: )")
_NOISE = ("Traceback", "During handling", "The above exception")


@dataclass
class Finding:
    operation: str
    count: int
    status: int
    query: str
    variables: Any
    response: str


@dataclass
class Tally:
    requests: int = 0
    seconds: float = 0.0
    codes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    findings: dict[str, Finding] = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    @property
    def unanswered(self) -> int:
        return self.statuses[NO_RESPONSE]

    @property
    def internal_errors(self) -> int:
        return sum(finding.count for finding in self.findings.values())

    def read_har(self, path: Path) -> None:
        entries = json.loads(path.read_text())["log"]["entries"]
        for entry in entries:
            self._count(entry)

    def _count(self, entry: dict[str, Any]) -> None:
        self.requests += 1
        self.seconds += entry["time"] / 1000
        status: int = entry["response"]["status"]
        self.statuses[status] += 1
        body = _json(entry["response"]["content"].get("text", ""))
        codes = _codes(body)
        # Per response: a response with two errors of one code counts once.
        self.codes.update(set(codes))
        if NO_RESPONSE < status < 500 and INTERNAL not in codes:
            return
        request = _json(entry["request"].get("postData", {}).get("text", "")) or {}
        query = str(request.get("query", ""))
        operation = _operation(query, body)
        known = self.findings.get(operation)
        if known is None or len(query) < len(known.query):
            self.findings[operation] = Finding(
                operation,
                (known.count if known else 0),
                status,
                query,
                request.get("variables"),
                entry["response"]["content"].get("text", "")[:500],
            )
        self.findings[operation].count += 1


def unexpected_errors(log: str) -> list[str]:
    """Each record of the server's log that names an unexpected error, with its exception."""
    lines = log.splitlines()
    found = []
    for index, line in enumerate(lines):
        if not any(marker in line for marker in UNEXPECTED):
            continue
        # The traceback runs until the next log record; its last unindented line
        # names the exception (of the last one in a chain).
        exception = ""
        for following in lines[index + 1 :]:
            if _RECORD_START.match(following):
                break
            if following and not following[0].isspace() and not following.startswith(_NOISE):
                exception = following
        found.append(f"{line.strip()} -> {exception.strip()}")
    return found


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _codes(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return [NOT_GRAPHQL]
    errors = body.get("errors")
    if not errors:
        return [OK]
    return [str((error.get("extensions") or {}).get("code")) for error in errors]


def _operation(query: str, body: Any) -> str:
    """The root field of the error that was masked, else the document's first root field."""
    if isinstance(body, dict):
        for error in body.get("errors") or []:
            if (error.get("extensions") or {}).get("code") == INTERNAL and error.get("path"):
                return str(error["path"][0])
    match = re.search(r"\{\s*(\w+)", query)
    return match.group(1) if match else "(unknown)"
