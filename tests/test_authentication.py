"""Bearer tokens: who may call, what they may change, and that tokens never leak."""

import json
import logging
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage.database import Database
from storage.enums import Role
from tests.audit_rows import audit_rows
from tests.conftest import FAST_WEBHOOKS, issue_token, serving
from tests.graphql import GraphQLClient, register, transition
from tests.receiver import Receiver
from tests.snapshot import snapshot
from tests.test_serve_process import (
    MODELREG,
    create_token,
    environment,
    free_port,
    wait_until_ready,
)

VIEWER = "{ viewer { name role models } }"
# Beyond a bound the server promises, how long a loaded machine may take to show it.
PATIENCE_SECONDS = 5.0
CREATE_MODEL = "mutation($name: String!) { createModel(input: {name: $name}) { model { name } } }"
MODEL = "query($name: String!) { model(name: $name) { name createdBy } }"
CREATE_TOKEN = """
mutation($input: CreateApiTokenInput!) {
  createApiToken(input: $input) {
    token
    apiToken { name role models prefix createdBy expiresAt revokedAt lastUsedAt }
  }
}
"""
REVOKE_TOKEN = """
mutation($name: String!) {
  revokeApiToken(input: {name: $name}) { apiToken { name revokedAt revokedBy } }
}
"""
API_TOKENS = """
query($all: Boolean!) {
  apiTokens(first: 100, includeRevoked: $all) {
    totalCount
    edges { node { name role models prefix createdAt createdBy expiresAt revokedAt lastUsedAt } }
  }
}
"""
SET_TAG = """
mutation($model: String!) {
  setTag(input: {modelName: $model, key: "team", value: "risk"}) { __typename }
}
"""
UNKNOWN_TOKEN = "mr_" + "Q" * 43


async def post_with(
    api: GraphQLClient, authorization: str | None, query: str, variables: dict[str, Any]
) -> httpx.Response:
    headers = {"authorization": authorization} if authorization is not None else {}
    body = {"query": query, "variables": variables}
    return await api.http.post("/graphql", json=body, headers=headers)


def assert_unauthenticated(response: httpx.Response) -> str:
    """The 401 answer of a call without a valid token; returns its message."""
    body = response.json()
    assert response.status_code == 401, body
    assert response.headers["www-authenticate"].startswith("Bearer")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in body or body["data"] is None
    message: str = error["message"]
    return message


async def new_token(api: GraphQLClient, name: str, role: str, **fields: Any) -> str:
    """`createApiToken` as `api`; returns the token."""
    data = await api.data(CREATE_TOKEN, {"input": {"name": name, "role": role, **fields}})
    token: str = data["createApiToken"]["token"]
    return token


async def assert_refused_and_audited(
    api: GraphQLClient, db: Database, authorization: str | None, actor: str
) -> None:
    """Query and mutation get 401; the mutation changes nothing and leaves one audit row."""
    assert_unauthenticated(await post_with(api, authorization, VIEWER, {}))
    before, rows_before = await snapshot(db), await audit_rows(db)
    message = assert_unauthenticated(
        await post_with(api, authorization, CREATE_MODEL, {"name": "sneaky"})
    )
    assert await snapshot(db) == before
    rows = await audit_rows(db)
    assert len(rows) == len(rows_before) + 1
    row = rows[-1]
    assert (row["actor"], row["action"], row["result"]) == (
        actor,
        "authenticate",
        "UNAUTHENTICATED",
    )
    assert row["message"] == message
    if authorization is not None:
        secret = authorization.partition(" ")[2].strip()
        if secret:
            assert secret not in message
            assert secret not in str(row)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer    ",
        "Bearer abc",
        f"Bearer {UNKNOWN_TOKEN}",
    ],
    ids=["missing", "empty", "basic", "no-token", "blank-token", "not-modelreg", "unknown"],
)
async def test_no_valid_token_is_401_and_changes_nothing(
    api: GraphQLClient, db: Database, authorization: str | None
) -> None:
    await assert_refused_and_audited(api, db, authorization, "anonymous")


async def test_an_expired_token_is_refused_in_its_own_name(
    api: GraphQLClient, db: Database, frozen_clock: list[datetime]
) -> None:
    start = frozen_clock[-1]
    data = await api.data(
        CREATE_TOKEN, {"input": {"name": "nightly", "role": "WRITER", "expiresIn": "1h"}}
    )
    assert (
        data["createApiToken"]["apiToken"]["expiresAt"] == (start + timedelta(hours=1)).isoformat()
    )
    nightly = api.as_token(data["createApiToken"]["token"], "nightly")
    frozen_clock.append(start + timedelta(minutes=59, seconds=59))
    assert (await nightly.data(VIEWER))["viewer"]["name"] == "nightly"
    frozen_clock.append(start + timedelta(hours=1))
    message = assert_unauthenticated(await nightly.post(VIEWER))
    assert "nightly" in message
    assert "expired" in message
    await assert_refused_and_audited(api, db, f"Bearer {nightly.token}", "nightly")


async def test_a_revoked_token_is_refused_at_once(api: GraphQLClient, db: Database) -> None:
    ci = api.as_token(await new_token(api, "ci", "WRITER"), "ci")
    await register(ci, "fraud")
    revoked = await api.data(REVOKE_TOKEN, {"name": "ci"})
    assert revoked["revokeApiToken"]["apiToken"]["revokedBy"] == api.actor
    assert revoked["revokeApiToken"]["apiToken"]["revokedAt"] is not None
    message = assert_unauthenticated(await ci.post(VIEWER))
    assert "revoked" in message
    await assert_refused_and_audited(api, db, f"Bearer {ci.token}", "ci")
    # Revoking twice: there is no active token of that name any more.
    assert await api.code(REVOKE_TOKEN, {"name": "ci"}) == "NOT_FOUND"
    assert await api.code(REVOKE_TOKEN, {"name": "never-was"}) == "NOT_FOUND"


async def test_a_token_limited_to_models_changes_only_those(
    api: GraphQLClient, db: Database
) -> None:
    await register(api, "churn")
    fraud_ci = api.as_token(
        await issue_token(db, "fraud-ci", Role.WRITER, ("fraud-*",)), "fraud-ci"
    )
    viewer = (await fraud_ci.data(VIEWER))["viewer"]
    assert viewer == {"name": "fraud-ci", "role": "WRITER", "models": ["fraud-*"]}

    assert await register(fraud_ci, "fraud-eu") == [1]
    await transition(fraud_ci, "fraud-eu", 1, "STAGING")
    await fraud_ci.data(SET_TAG, {"model": "fraud-eu"})

    before, rows_before = await snapshot(db), await audit_rows(db)
    for model in ("churn", "fraud", "xfraud-eu"):
        error = await fraud_ci.error(SET_TAG, {"model": model})
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert error["extensions"]["model"] == model
        assert "fraud-*" in error["message"]
    assert await fraud_ci.code(CREATE_MODEL, {"name": "churn-2"}) == "FORBIDDEN"
    assert await snapshot(db) == before
    refusals = (await audit_rows(db))[len(rows_before) :]
    assert [(r["actor"], r["action"], r["model_name"], r["result"]) for r in refusals] == [
        ("fraud-ci", "setTag", "churn", "FORBIDDEN"),
        ("fraud-ci", "setTag", "fraud", "FORBIDDEN"),
        ("fraud-ci", "setTag", "xfraud-eu", "FORBIDDEN"),
        ("fraud-ci", "createModel", "churn-2", "FORBIDDEN"),
    ]
    # Every token reads everything.
    assert (await fraud_ci.data(MODEL, {"name": "churn"}))["model"]["name"] == "churn"
    listed = await fraud_ci.data("{ models { edges { node { name } } } }")
    assert {e["node"]["name"] for e in listed["models"]["edges"]} == {"churn", "fraud-eu"}


async def test_tokens_are_made_by_admins_and_shown_once(api: GraphQLClient, db: Database) -> None:
    for role in (Role.READER, Role.WRITER, Role.MAINTAINER):
        other = api.as_token(await issue_token(db, f"not-admin-{role.value}", role))
        variables = {"input": {"name": f"made-by-{role.value}", "role": "READER"}}
        assert await other.code(CREATE_TOKEN, variables) == "FORBIDDEN"
        assert await other.code(REVOKE_TOKEN, {"name": api.actor}) == "FORBIDDEN"
        assert await other.code(API_TOKENS, {"all": True}) == "FORBIDDEN"

    data = await api.data(
        CREATE_TOKEN,
        {"input": {"name": "deploy", "role": "MAINTAINER", "models": ["fraud-*", "churn"]}},
    )
    created = data["createApiToken"]
    token = created["token"]
    assert token.startswith("mr_")
    assert len(token) >= 40
    assert created["apiToken"] == {
        "name": "deploy",
        "role": "MAINTAINER",
        "models": ["fraud-*", "churn"],
        "prefix": token[:8],
        "createdBy": api.actor,
        "expiresAt": None,
        "revokedAt": None,
        "lastUsedAt": None,
    }
    await api.data(REVOKE_TOKEN, {"name": "not-admin-reader"})
    for include_revoked in (False, True):
        response = await api.post(API_TOKENS, {"all": include_revoked})
        assert response.status_code == 200
        assert token not in response.text
        assert token[8:] not in response.text
    listing = (await api.data(API_TOKENS, {"all": False}))["apiTokens"]
    assert "not-admin-reader" not in [e["node"]["name"] for e in listing["edges"]]
    everything = (await api.data(API_TOKENS, {"all": True}))["apiTokens"]
    assert everything["totalCount"] == listing["totalCount"] + 1

    deploy = api.as_token(token, "deploy")
    assert (await deploy.data(VIEWER))["viewer"] == {
        "name": "deploy",
        "role": "MAINTAINER",
        "models": ["fraud-*", "churn"],
    }


async def test_token_names_are_never_reused(api: GraphQLClient, db: Database) -> None:
    await new_token(api, "ci", "WRITER")
    await issue_token(db, "from-the-cli", Role.READER)
    await api.data(REVOKE_TOKEN, {"name": "ci"})
    for name in ("ci", "from-the-cli", api.actor):
        error = await api.error(CREATE_TOKEN, {"input": {"name": name, "role": "READER"}})
        assert error["extensions"]["code"] == "CONFLICT"
        assert error["extensions"]["name"] == name


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"role": "ADMIN", "models": ["fraud-*"]}, "models"),
        ({"models": ["has/slash"]}, "models"),
        ({"models": [""]}, "models"),
        ({"expiresIn": "0d"}, "expiresIn"),
        ({"expiresIn": "-1d"}, "expiresIn"),
        ({"expiresIn": "ten days"}, "expiresIn"),
        ({"expiresIn": "5y"}, "expiresIn"),
        ({"expiresIn": ""}, "expiresIn"),
        ({"expiresIn": "99999w"}, "expiresIn"),
        ({"name": ""}, "name"),
        ({"name": "-dash"}, "name"),
        ({"name": "has space"}, "name"),
    ],
)
async def test_bad_token_input_is_refused(
    api: GraphQLClient, db: Database, fields: dict[str, Any], field: str
) -> None:
    before = (await api.data(API_TOKENS, {"all": True}))["apiTokens"]["totalCount"]
    variables = {"input": {"name": "ci", "role": "WRITER", **fields}}
    error = await api.error(CREATE_TOKEN, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    assert (await api.data(API_TOKENS, {"all": True}))["apiTokens"]["totalCount"] == before
    [row] = [r for r in await audit_rows(db) if r["action"] == "createApiToken"]
    assert row["result"] == "BAD_USER_INPUT"


async def test_last_use_is_recorded_once_a_minute(
    api: GraphQLClient, frozen_clock: list[datetime]
) -> None:
    start = frozen_clock[-1]
    ci = api.as_token(await new_token(api, "ci", "READER"), "ci")

    async def last_used() -> str | None:
        listing = (await api.data(API_TOKENS, {"all": False}))["apiTokens"]["edges"]
        [node] = [e["node"] for e in listing if e["node"]["name"] == "ci"]
        value: str | None = node["lastUsedAt"]
        return value

    assert await last_used() is None
    await ci.data(VIEWER)
    assert await last_used() == start.isoformat()
    frozen_clock.append(start + timedelta(seconds=30))
    await ci.data(VIEWER)
    assert await last_used() == start.isoformat()
    frozen_clock.append(start + timedelta(minutes=2))
    await ci.data(VIEWER)
    assert await last_used() == (start + timedelta(minutes=2)).isoformat()


HISTORY = """
query($name: String!) {
  model(name: $name) {
    createdBy updatedBy
    versions { edges { node { version createdBy } } }
    stageHistory { edges { node { version toStage actor } } }
  }
}
"""


async def test_every_change_records_the_tokens_name(api: GraphQLClient, db: Database) -> None:
    ci = api.as_token(await issue_token(db, "ci-bot", Role.WRITER), "ci-bot")
    release = api.as_token(await issue_token(db, "release", Role.MAINTAINER), "release")
    await register(ci, "fraud")
    await register(release, "fraud")
    await transition(ci, "fraud", 1, "STAGING")
    await transition(release, "fraud", 1, "PRODUCTION")

    model = (await api.data(HISTORY, {"name": "fraud"}))["model"]
    assert model["createdBy"] == "ci-bot"
    assert {(e["node"]["version"], e["node"]["createdBy"]) for e in model["versions"]["edges"]} == {
        (1, "ci-bot"),
        (2, "release"),
    }
    history = [
        (e["node"]["version"], e["node"]["toStage"], e["node"]["actor"])
        for e in model["stageHistory"]["edges"]
    ]
    assert sorted(history) == [(1, "PRODUCTION", "release"), (1, "STAGING", "ci-bot")]
    actors = [(r["actor"], r["action"]) for r in await audit_rows(db)]
    assert actors == [
        ("ci-bot", "createModelVersion"),
        ("release", "createModelVersion"),
        ("ci-bot", "transitionStage"),
        ("release", "transitionStage"),
    ]


async def test_tokens_and_secrets_never_leak(
    db: Database, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses: list[httpx.Response] = []
    async with serving(db, FAST_WEBHOOKS) as api:
        created = await api.post(CREATE_TOKEN, {"input": {"name": "ci", "role": "WRITER"}})
        token = created.json()["data"]["createApiToken"]["token"]
        ci = api.as_token(token, "ci")
        mistyped = api.as_token(token[:-1] + ("A" if token[-1] != "A" else "B"))
        webhook_response = await api.post(
            "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { secret } }",
            {"i": {"url": receiver.url("/hook"), "events": ["*"]}},
        )
        secret = webhook_response.json()["data"]["createWebhook"]["secret"]
        responses += [
            await ci.post(VIEWER),
            await ci.post(
                'mutation { createModelVersion(input: {modelName: "fraud", source: "s3://x"}) '
                "{ modelVersion { version } } }"
            ),
            await ci.post(CREATE_TOKEN, {"input": {"name": "escalate", "role": "ADMIN"}}),
            await mistyped.post(VIEWER),
            await mistyped.post(CREATE_MODEL, {"name": "x"}),
            await post_with(api, f"bearer {token} extra", VIEWER, {}),
            await post_with(api, token, VIEWER, {}),
            await api.post(API_TOKENS, {"all": True}),
            await api.post(REVOKE_TOKEN, {"name": "ci"}),
            await ci.post(VIEWER),
            await ci.post(CREATE_MODEL, {"name": "y"}),
            await api.post("{ webhooks { edges { node { id url } } } }"),
        ]
        await receiver.wait_for(lambda received: len(received) >= 2)
        responses.append(
            await api.post("{ auditLog(first: 100) { edges { node { input message } } } }")
        )
    assert [r.status_code for r in responses].count(401) == 6

    for value in (token, mistyped.token, secret):
        assert value is not None
        assert value not in caplog.text
        assert value not in str(await audit_rows(db))
        for response in responses:
            assert value not in response.text
            assert value not in str(response.headers)
    assert secret not in created.text
    assert token not in webhook_response.text
    assert secret.removeprefix("whsec_") not in caplog.text


# The real process: what an operator sees on a fresh registry (SQLite only).

TOKEN_TEXT = re.compile(r"mr_[A-Za-z0-9_-]{20,}")


@dataclass(frozen=True)
class Process:
    base: str
    stdout: Path
    stderr: Path

    def graphql(self, query: str, token: str | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.post(
            f"{self.base}/graphql", json={"query": query}, headers=headers, timeout=30
        )


@contextmanager
def serving_process(env: dict[str, str], logs: Path) -> Iterator[Process]:
    """`modelreg serve` with its stdout and stderr in files under `logs`, until the block ends."""
    logs.mkdir()
    port = free_port()
    process = Process(f"http://127.0.0.1:{port}", logs / "stdout", logs / "stderr")
    with process.stdout.open("wb") as out, process.stderr.open("wb") as err:
        running = subprocess.Popen(
            [MODELREG, "serve", "--port", str(port)], env=env, stdout=out, stderr=err
        )
    try:
        wait_until_ready(running, f"{process.base}/readyz")
        yield process
    finally:
        running.terminate()
        running.wait(timeout=30)


def token_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MODELREG, "token", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def migrated(database: Path, **variables: str) -> dict[str, str]:
    env = {**environment(database), **variables}
    subprocess.run([MODELREG, "db", "upgrade"], env=env, check=True, capture_output=True)
    return env


def test_first_start_prints_an_admin_token_once(tmp_path: Path) -> None:
    # Text logs, as on a terminal; with JSON logs the token goes to a file (tests/test_logs.py).
    env = migrated(tmp_path / "fresh.db", MODELREG_LOG_FORMAT="text")
    with serving_process(env, tmp_path / "first") as first:
        printed = first.stdout.read_text()
        [token] = set(TOKEN_TEXT.findall(printed))
        assert "admin token named 'admin'" in printed
        [curl] = [line for line in printed.splitlines() if "curl " in line]
        assert f"authorization: Bearer {token}" in curl
        assert first.base in curl
        if shutil.which("curl"):
            tried = subprocess.run(shlex.split(curl), capture_output=True, timeout=30, check=True)
            assert json.loads(tried.stdout) == {
                "data": {"viewer": {"name": "admin", "role": "ADMIN"}}
            }
        assert token not in first.stderr.read_text()

        viewer = first.graphql("{ viewer { name role models } }", token)
        assert viewer.json() == {
            "data": {"viewer": {"name": "admin", "role": "ADMIN", "models": []}}
        }
        assert first.graphql("{ viewer { name } }").status_code == 401

    with serving_process(env, tmp_path / "second") as second:
        assert not TOKEN_TEXT.search(second.stdout.read_text())
        assert "admin token" not in second.stdout.read_text()
        assert second.graphql("{ viewer { name } }", token).status_code == 200


def test_token_commands_create_list_and_revoke(tmp_path: Path) -> None:
    env = migrated(tmp_path / "cli.db")
    name, token = create_token(env, "writer", "--models", "fraud-*,churn", "--expires-in", "30d")
    assert TOKEN_TEXT.fullmatch(token)
    with serving_process(env, tmp_path / "serve") as served:
        # The registry already had a token: nothing is made or printed.
        assert not TOKEN_TEXT.search(served.stdout.read_text())
        viewer = served.graphql("{ viewer { name role models } }", token).json()
        assert viewer["data"]["viewer"] == {
            "name": name,
            "role": "WRITER",
            "models": ["fraud-*", "churn"],
        }

        listed = token_command(env, "list")
        assert listed.returncode == 0, listed.stderr
        assert token not in listed.stdout + listed.stderr
        assert token[8:] not in listed.stdout
        [entry] = json.loads(listed.stdout)
        assert (entry["name"], entry["role"], entry["revokedAt"]) == (name, "writer", None)
        assert entry["prefix"] == token[:8]
        assert entry["expiresAt"] is not None

        revoked = token_command(env, "revoke", name)
        assert revoked.returncode == 0, revoked.stderr
        assert json.loads(revoked.stdout)["revokedAt"] is not None
        # Revoked on the database, not through this process: refused once its
        # cache of valid tokens lets go (MODELREG_AUTH_CACHE_SECONDS, 2 s by default).
        deadline = time.monotonic() + 2.0 + PATIENCE_SECONDS
        while served.graphql("{ viewer { name } }", token).status_code != 401:
            assert time.monotonic() < deadline, "the revoked token is still accepted"
            time.sleep(0.1)

    assert json.loads(token_command(env, "list").stdout) == []
    [entry] = json.loads(token_command(env, "list", "--all").stdout)
    assert entry["revokedAt"] is not None
    again = token_command(env, "create", "--name", name, "--role", "reader")
    assert again.returncode == 1
    assert again.stderr.startswith("modelreg: CONFLICT:")
    assert token_command(env, "revoke", name).stderr.startswith("modelreg: NOT_FOUND:")
    limited_admin = token_command(env, "create", "--name", "x", "--role", "admin", "--models", "a*")
    assert limited_admin.stderr.startswith("modelreg: BAD_USER_INPUT:")
    bad_expiry = token_command(
        env, "create", "--name", "y", "--role", "reader", "--expires-in", "1y"
    )
    assert bad_expiry.stderr.startswith("modelreg: BAD_USER_INPUT:")


def test_with_auth_disabled_everyone_is_an_anonymous_admin(tmp_path: Path) -> None:
    env = migrated(tmp_path / "open.db", MODELREG_AUTH="disabled")
    with serving_process(env, tmp_path / "serve") as served:
        assert "MODELREG_AUTH=disabled" in served.stderr.read_text()
        assert not TOKEN_TEXT.search(served.stdout.read_text())
        viewer = served.graphql("{ viewer { name role } }").json()
        assert viewer == {"data": {"viewer": {"name": "anonymous", "role": "ADMIN"}}}
        created = served.graphql(
            'mutation { createModel(input: {name: "m"}) { model { createdBy } } }'
        )
        assert created.json()["data"]["createModel"]["model"]["createdBy"] == "anonymous"
        log = served.graphql("{ auditLog { edges { node { actor action result } } } }").json()
        assert log["data"]["auditLog"]["edges"] == [
            {"node": {"actor": "anonymous", "action": "createModel", "result": "OK"}}
        ]
    assert json.loads(token_command(env, "list", "--all").stdout) == []


async def test_the_challenge_says_invalid_token_only_when_one_was_sent(api: GraphQLClient) -> None:
    query, variables = "{ viewer { name } }", dict[str, Any]()
    missing = await post_with(api, None, query, variables)
    assert missing.headers["www-authenticate"] == 'Bearer realm="modelreg"'
    unknown = await post_with(api, f"Bearer {UNKNOWN_TOKEN}", query, variables)
    assert unknown.headers["www-authenticate"] == 'Bearer realm="modelreg", error="invalid_token"'
