"""Structured logs: one JSON object per line, one record per GraphQL request, no secrets."""

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server import logs
from server.request_scope import RequestScope, enter, leave
from storage.database import Database
from tests.conftest import FAST_WEBHOOKS, serving
from tests.graphql import CREATE_VERSION
from tests.receiver import Receiver
from tests.test_serve_process import (
    MODELREG,
    create_token,
    environment,
    free_port,
    wait_until_ready,
)
from tests.webhook_client import create_webhook

MARKER = "variable-value-that-must-not-be-logged"


def formatted(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, object]:
    line = formatter.format(record)
    assert "\n" not in line
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_a_record_is_one_json_object_with_the_request_it_was_made_in() -> None:
    record = logging.LogRecord(
        "modelreg.x", logging.WARNING, __file__, 1, "hello %s", ("you",), None
    )
    scope = RequestScope("req_abc", actor="ci", operation="createModel")
    token = enter(scope)
    try:
        entry = formatted(record, logs.JsonFormatter())
    finally:
        leave(token)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "modelreg.x"
    assert entry["message"] == "hello you"
    assert str(entry["time"]).endswith("Z")
    assert entry["request_id"] == "req_abc"
    assert entry["actor"] == "ci"
    assert entry["operation"] == "createModel"
    assert isinstance(entry["duration_ms"], float)
    outside = formatted(record, logs.JsonFormatter())
    assert "request_id" not in outside
    assert "duration_ms" not in outside


def test_an_exception_stays_inside_its_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("m", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = formatted(record, logs.JsonFormatter())
    assert "ValueError: boom" in str(entry["exception"])


def test_access_lines_lose_their_query_string() -> None:
    args = ("127.0.0.1:5000", "GET", "/graphql?token=mr_secret", "1.1", 405)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", args, None)
    entry = formatted(record, logs.JsonAccessFormatter())
    assert entry["path"] == "/graphql"
    assert entry["status"] == 405
    assert "mr_secret" not in json.dumps(entry)
    text = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", args, None)
    assert "mr_secret" not in logs.TextAccessFormatter().format(text)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_default_format_is_text_on_a_terminal_and_json_elsewhere() -> None:
    assert logs.resolve_format(None, _Terminal()) == "text"
    assert logs.resolve_format(None, io.StringIO()) == "json"
    assert logs.resolve_format("json", _Terminal()) == "json"
    assert logs.resolve_format("text", io.StringIO()) == "text"


async def test_one_record_per_request_without_variables_or_secrets(
    db: Database, caplog: pytest.LogCaptureFixture, receiver: Receiver
) -> None:
    caplog.set_level(logging.INFO)
    async with serving(db, FAST_WEBHOOKS) as api:
        _, secret = await create_webhook(api, receiver.url())
        payload = {"modelName": "logged", "source": f"s3://{MARKER}", "description": MARKER}
        await api.data(CREATE_VERSION, {"input": payload})
        again = await api.post(CREATE_VERSION, {"input": {**payload, "runId": "\x00"}})
        assert again.status_code == 200
        refused = await api.as_token("mr_not_a_token").post("{ viewer { name } }")
        assert refused.status_code == 401
    formatter = logs.JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    everything = "\n".join(lines)
    for kept_out in (MARKER, secret, api.token or "?", "mr_not_a_token"):
        assert kept_out not in everything
    requests = [json.loads(line) for line in lines if '"modelreg.requests"' in line]
    assert [(r.get("operation"), r["status"], r["outcome"]) for r in requests] == [
        ("createWebhook", 200, "ok"),
        ("createModelVersion", 200, "ok"),
        ("createModelVersion", 200, "BAD_USER_INPUT"),
        (None, 401, "UNAUTHENTICATED"),
    ]
    assert all(r["request_id"].startswith("req_") for r in requests)
    assert requests[1]["actor"] == api.actor
    assert requests[1]["operation_type"] == "mutation"
    assert all(isinstance(r["duration_ms"], float) for r in requests)


def test_serve_writes_json_lines_and_keeps_tokens_and_secrets_out(tmp_path: Path) -> None:
    database = tmp_path / "logged.db"
    env = {**environment(database), "MODELREG_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
    env.pop("MODELREG_LOG_FORMAT", None)  # stderr is a pipe here: JSON is the default
    subprocess.run([MODELREG, "db", "upgrade"], env=env, check=True, capture_output=True)
    _, token = create_token(env)
    port = free_port()
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [MODELREG, "serve", "--port", str(port), "--access-log"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(process, f"{base}/readyz")
            headers = {"authorization": f"Bearer {token}"}
            hook = {"url": "http://127.0.0.1:9/hook", "events": ["*"]}
            created = httpx.post(
                f"{base}/graphql?token={token}",
                json={
                    "query": "mutation($i: CreateWebhookInput!) "
                    "{ createWebhook(input: $i) { secret } }",
                    "variables": {"i": hook},
                },
                headers=headers,
                timeout=30,
            )
            secret = created.json()["data"]["createWebhook"]["secret"]
            payload = {"modelName": "logged", "source": f"s3://{MARKER}"}
            registered = httpx.post(
                f"{base}/graphql",
                json={"query": CREATE_VERSION, "variables": {"input": payload}},
                headers=headers,
                timeout=30,
            )
            assert "errors" not in registered.json()
        finally:
            process.terminate()
            assert process.wait(timeout=60) == 0
    output = log_file.read_text()
    for kept_out in (token, secret, MARKER):
        assert kept_out not in output
    entries = [json.loads(line) for line in output.splitlines()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    requests = [e for e in entries if e["logger"] == "modelreg.requests"]
    assert [r["operation"] for r in requests] == ["createWebhook", "createModelVersion"]
    assert {r["actor"] for r in requests} == {requests[0]["actor"]}
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert {"path": "/graphql", "method": "POST", "status": 200}.items() <= access[-1].items()


def test_first_start_with_json_logs_writes_the_admin_token_to_a_private_file(
    tmp_path: Path,
) -> None:
    database = tmp_path / "first.db"
    env = {**environment(database), "MODELREG_LOG_FORMAT": "json"}
    subprocess.run([MODELREG, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [MODELREG, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, f"{base}/readyz")
        token_file = Path(f"{database}.admin-token")
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        viewer = httpx.post(
            f"{base}/graphql",
            json={"query": "{ viewer { name role } }"},
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert viewer.json()["data"]["viewer"] == {"name": "admin", "role": "ADMIN"}
    finally:
        process.terminate()
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0
    assert token.encode() not in out + err
    entries = [json.loads(line) for line in err.decode().splitlines()]
    named = [e for e in entries if e.get("file") == str(token_file)]
    assert len(named) == 1
    assert "admin token" in named[0]["message"]
    # The next start has a token already: the file is left alone, nothing is made.
    before = token_file.read_text()
    process = subprocess.Popen(
        [MODELREG, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_ready(process, f"{base}/readyz")
    finally:
        process.terminate()
        out, err = process.communicate(timeout=60)
    assert token_file.read_text() == before
    assert b"admin token" not in err


def test_text_logs_print_the_first_admin_token_as_before(tmp_path: Path) -> None:
    database = tmp_path / "printed.db"
    env = {**environment(database), "MODELREG_LOG_FORMAT": "text"}
    subprocess.run([MODELREG, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [MODELREG, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_ready(process, f"http://127.0.0.1:{port}/readyz")
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=60)
    assert b"an admin token named 'admin' was created" in out
    assert b"    mr_" in out
    assert not Path(f"{database}.admin-token").exists()
