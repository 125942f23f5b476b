"""Log records as JSON objects or text lines, for modelreg's loggers and uvicorn's.

`MODELREG_LOG_FORMAT=json` writes one object per line: `time` (ISO-8601
UTC), `level`, `logger`, `message`, and for records made while a request is
served its `request_id`, `actor`, `operation` and `duration_ms`. `text`
writes readable lines. The default is text when stderr is a terminal, JSON
otherwise (a container, a service manager, a pipe).

Nothing here adds what a record does not carry, and nothing gives a logger
a token, a secret or GraphQL variables: the per-request record names the
operation, never its query or variables, and uvicorn's access lines lose
their query string (a token pasted into a URL stays out of the log).
"""

import logging
import logging.config
import sys
from datetime import UTC, datetime
from typing import IO, Any, Literal

import orjson

from server import request_scope
from server.settings import Settings

LogFormat = Literal["json", "text"]

# What a record may carry through `extra=` that the JSON object shows as fields.
_FIELDS = (
    "request_id",
    "actor",
    "operation",
    "duration_ms",
    "method",
    "path",
    "status",
    "outcome",
    "operation_type",
    "client",
    "http_version",
    "file",
    "delivery_id",
    "webhook_id",
)


def resolve_format(configured: LogFormat | None, stream: IO[str] | None = None) -> LogFormat:
    """The configured format, or text on a terminal and JSON anywhere else."""
    if configured is not None:
        return configured
    stream = stream if stream is not None else sys.stderr
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no stream, or a closed one
        return "json"


def format_of(settings: Settings) -> LogFormat:
    """MODELREG_LOG_FORMAT, or what suits this process's stderr."""
    return resolve_format(settings.log_format)


def _time(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = record.__dict__
        scope = request_scope.current()
        if "request_id" not in fields and scope is not None:
            entry["request_id"] = scope.request_id
            if scope.actor is not None:
                entry["actor"] = scope.actor
            if scope.operation is not None:
                entry["operation"] = scope.operation
            entry["duration_ms"] = round(scope.duration_ms, 2)
        for name in _FIELDS:
            value = fields.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time level logger message`, and the request id of records made in a request."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        scope = request_scope.current()
        request_id = record.__dict__.get("request_id") or (scope and scope.request_id)
        if not request_id:
            return line
        first, newline, rest = line.partition("\n")  # keep a traceback below the line
        return f"{first} [{request_id}]{newline}{rest}"


def _access_fields(record: logging.LogRecord) -> None:
    """uvicorn's access record, with its path cut before any query string."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 5:
        client, method, full_path, http_version, status = args
        path = str(full_path).partition("?")[0]
        record.__dict__.update(
            client=client, method=method, path=path, http_version=http_version, status=status
        )
        record.msg, record.args = "%s %s %s", (method, path, status)


class JsonAccessFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        _access_fields(record)
        return super().format(record)


class TextAccessFormatter(TextFormatter):
    def format(self, record: logging.LogRecord) -> str:
        _access_fields(record)
        return super().format(record)


def logging_config(
    log_format: LogFormat, level: str, *, migrations: bool = False
) -> dict[str, Any]:
    """A `logging.config.dictConfig` for modelreg and uvicorn (its `log_config`).

    uvicorn applies it in every worker process it starts, so the workers of
    `serve --workers N` write the same format as the parent. Alembic's INFO
    lines are kept for `db` commands (`migrations`) and dropped elsewhere:
    each schema check (every /readyz) would log two.
    """
    json = log_format == "json"
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "default": {"()": JsonFormatter if json else TextFormatter},
            "access": {"()": JsonAccessFormatter if json else TextAccessFormatter},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
            "alembic": {"level": level if migrations else "WARNING"},
        },
    }


def configure(log_format: LogFormat, level: str, *, migrations: bool = False) -> None:
    """Send this process's records to stderr in `log_format`."""
    logging.config.dictConfig(logging_config(log_format, level, migrations=migrations))
