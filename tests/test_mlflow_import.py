"""`modelreg import mlflow` against a real MLflow server (bench/mlflow_server.py installs it).

One MLflow server per module, seeded over its REST API with gaps in version
numbers, tags, aliases and two Production versions of one model; each test
imports it into a fresh registry database (SQLite and PostgreSQL).
"""

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bench import mlflow_server
from resolvers.authorization import Principal
from resolvers.context import RequestContext
from resolvers.imports.outcome import ImportSummary, ModelStatus
from resolvers.versions import NewVersion, create_version
from server.mlflow_import.command import run_import
from server.mlflow_import.reader import Credentials
from storage.database import Database, create_database
from storage.enums import Role
from storage.tables import webhook_events
from tests.audit_rows import audit_rows
from tests.conftest import FAST_WEBHOOKS, _under_ci, serving
from tests.graphql import GraphQLClient
from tests.receiver import Receiver
from tests.snapshot import snapshot
from tests.test_serve_process import MODELREG, environment
from tests.webhook_client import create_webhook

API = "/api/2.0/mlflow"
ACTOR = "mlflow-import"
SEEDED = ("churn", "empty", "fraud")

MODEL = """
query($name: String!) {
  model(name: $name) {
    name description createdBy
    tags { key value }
    aliases { alias version }
    versions(first: 100) { edges { node {
      version stage source runId description createdBy tags { key value }
    } } }
    stageHistory(first: 100) { edges { node {
      version fromStage toStage cause actor comment overrideReason
    } } }
  }
}
"""
CREATE_VERSION = """
mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { version } }
}
"""


class Mlflow:
    """A seeded MLflow server's URL and a client of its REST API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url + API, timeout=30.0)

    def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.request(method, path, json=body)
        assert response.status_code == 200, f"{method} {path}: {response.text}"
        answer: dict[str, Any] = response.json()
        return answer

    def create_version(self, name: str, source: str, **fields: Any) -> None:
        self.call("POST", "/model-versions/create", {"name": name, "source": source, **fields})

    def stage(self, name: str, version: int, stage: str) -> None:
        body = {"name": name, "version": str(version), "stage": stage}
        # MLflow keeps every other version where it is: two may be in Production.
        self.call(
            "POST", "/model-versions/transition-stage", {**body, "archive_existing_versions": False}
        )


def seed(mlflow: Mlflow) -> None:
    """fraud: versions 1, 3, 5, 6 (2 and 4 deleted), two in Production, tags and aliases;
    churn: one version without a run; empty: no versions."""
    mlflow.call(
        "POST",
        "/registered-models/create",
        {
            "name": "fraud",
            "description": "Scores card payments",
            "tags": [{"key": "team", "value": "risk"}, {"key": "tier", "value": "gold"}],
        },
    )
    for number in range(1, 7):
        mlflow.create_version(
            "fraud",
            f"s3://models/fraud/{number}",
            run_id=f"run{number}",
            description=f"trained on week {number}",
        )
    for number in (2, 4):
        mlflow.call("DELETE", "/model-versions/delete", {"name": "fraud", "version": str(number)})
    mlflow.stage("fraud", 1, "Archived")
    mlflow.stage("fraud", 3, "Production")
    mlflow.stage("fraud", 5, "Production")
    mlflow.stage("fraud", 6, "Staging")
    for number, key, value in ((5, "validated", "true"), (6, "owner", "ana")):
        body = {"name": "fraud", "version": str(number), "key": key, "value": value}
        mlflow.call("POST", "/model-versions/set-tag", body)
    for alias, number in (("champion", 5), ("challenger", 6)):
        body = {"name": "fraud", "alias": alias, "version": str(number)}
        mlflow.call("POST", "/registered-models/alias", body)
    mlflow.call("POST", "/registered-models/create", {"name": "churn"})
    mlflow.create_version("churn", "s3://models/churn/1")
    mlflow.call("POST", "/registered-models/create", {"name": "empty"})


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mlflow]:
    try:
        mlflow_server.install()  # `make test` installed it already; locally, first use does
    except mlflow_server.InstallFailed as error:
        if _under_ci():
            pytest.fail(f"CI must test the MLflow import: {error}", pytrace=False)
        pytest.skip(f"MLflow could not be installed: {error}")
    with mlflow_server.serving(tmp_path_factory.mktemp("mlflow"), workers=1) as url:
        peer = Mlflow(url)
        seed(peer)
        yield peer
        peer.http.close()


async def imported(
    mlflow: Mlflow, database_url: str, *, dry_run: bool = False
) -> tuple[ImportSummary, str]:
    """Run the import in-process; returns the summary and what the progress said."""
    progress = io.StringIO()
    _, summary = await run_import(
        mlflow.url, Credentials(), database_url, dry_run=dry_run, progress_stream=progress
    )
    return summary, progress.getvalue()


def outcomes(summary: ImportSummary) -> dict[str, ModelStatus]:
    return {o.name: o.status for o in summary.outcomes}


async def model(api: GraphQLClient, name: str) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(MODEL, {"name": name}))["model"]
    return found


def versions_of(found: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {e["node"]["version"]: e["node"] for e in found["versions"]["edges"]}


async def registry(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """The database without the dispatcher's bookkeeping, which moves as it delivers."""
    tables = await snapshot(db)
    return {
        name: rows
        for name, rows in tables.items()
        if name not in {"webhooks", "webhook_deliveries", "webhook_attempts"}
    }


async def event_types(db: Database) -> dict[str, int]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(webhook_events.c.type, func.count()).group_by(webhook_events.c.type)
        )
        return {kind: count for kind, count in rows.all()}


async def test_import_copies_models_versions_aliases_and_stages_once(
    mlflow: Mlflow, db: Database, database_url: str, receiver: Receiver
) -> None:
    async with serving(db, FAST_WEBHOOKS, gated=True) as api:
        await create_webhook(api, receiver.url())
        summary, progress = await imported(mlflow, database_url)

        assert outcomes(summary) == dict.fromkeys(SEEDED, ModelStatus.CREATED)
        assert summary.total("versions_created") == 5
        assert summary.total("aliases_created") == 2
        assert summary.changes == 3 + 5 + 2
        (fraud_outcome,) = [o for o in summary.outcomes if o.name == "fraud"]
        assert fraud_outcome.notes == (
            "MLflow holds versions 3, 5 in Production; version 5 is imported as PRODUCTION, "
            "version 3 as ARCHIVED",
        )
        assert progress.splitlines()[-1].startswith("[3/3] ")

        fraud = await model(api, "fraud")
        assert fraud["description"] == "Scores card payments"
        assert fraud["createdBy"] == ACTOR
        assert fraud["tags"] == [{"key": "team", "value": "risk"}, {"key": "tier", "value": "gold"}]
        assert sorted((a["alias"], a["version"]) for a in fraud["aliases"]) == [
            ("challenger", 6),
            ("champion", 5),
        ]
        versions = versions_of(fraud)
        assert sorted(versions) == [1, 3, 5, 6]
        assert {n: v["stage"] for n, v in versions.items()} == {
            1: "ARCHIVED",
            3: "ARCHIVED",
            5: "PRODUCTION",
            6: "STAGING",
        }
        for number, version in versions.items():
            assert version["source"] == f"s3://models/fraud/{number}"
            assert version["runId"] == f"run{number}"
            assert version["description"] == f"trained on week {number}"
            assert version["createdBy"] == ACTOR
        assert versions[5]["tags"] == [{"key": "validated", "value": "true"}]
        assert versions[6]["tags"] == [{"key": "owner", "value": "ana"}]

        history = [e["node"] for e in fraud["stageHistory"]["edges"]]
        origin = f"imported from MLflow at {mlflow.url}"
        assert {(h["version"], h["fromStage"], h["toStage"]) for h in history} == {
            (1, "NONE", "ARCHIVED"),
            (3, "NONE", "ARCHIVED"),
            (6, "NONE", "STAGING"),
            (5, "NONE", "PRODUCTION"),
        }
        assert {(h["cause"], h["actor"], h["comment"]) for h in history} == {
            ("IMPORT", ACTOR, origin)
        }
        # PRODUCTION is gated by default: the import passes the gate as a force does, and says so.
        assert {h["version"]: h["overrideReason"] for h in history} == {
            1: None,
            3: None,
            6: None,
            5: origin,
        }

        churn = versions_of(await model(api, "churn"))
        assert churn[1]["runId"] is None
        assert churn[1]["stage"] == "NONE"
        assert versions_of(await model(api, "empty")) == {}

        assert await event_types(db) == {
            "model.created": 3,
            "model_version.created": 5,
            "model_version.stage_changed": 4,
            "alias.set": 2,
        }
        audit = [r for r in await audit_rows(db) if r["action"] == "importModel"]
        assert sorted(r["model_name"] for r in audit) == sorted(SEEDED)
        assert {(r["actor"], r["result"]) for r in audit} == {(ACTOR, "OK")}

        # Again: nothing changes, not even a history row, an event or an audit row.
        before, audit_before = await registry(db), await audit_rows(db)
        summary, _ = await imported(mlflow, database_url)
        assert outcomes(summary) == dict.fromkeys(SEEDED, ModelStatus.UNCHANGED)
        assert summary.changes == 0
        assert summary.total("versions_unchanged") == 5
        assert summary.total("aliases_unchanged") == 2
        assert await registry(db) == before
        assert await audit_rows(db) == audit_before

        # The counter went past the highest imported number: the next version is 7.
        created = await api.data(
            CREATE_VERSION, {"input": {"modelName": "fraud", "source": "s3://models/fraud/7"}}
        )
        assert created["createModelVersion"]["modelVersion"]["version"] == 7


async def test_a_conflicting_version_refuses_its_model_and_changes_nothing_of_it(
    mlflow: Mlflow, db: Database, database_url: str
) -> None:
    async with serving(db) as api:
        await api.data(
            CREATE_VERSION,
            {"input": {"modelName": "churn", "source": "s3://elsewhere/churn", "runId": "r9"}},
        )
        churn_before = await model(api, "churn")

        summary, progress = await imported(mlflow, database_url)

        assert outcomes(summary) == {
            "churn": ModelStatus.REFUSED,
            "empty": ModelStatus.CREATED,
            "fraud": ModelStatus.CREATED,
        }
        (refused,) = summary.refused
        assert refused.refusal == (
            "CONFLICT: model 'churn' conflicts with what this registry holds: version 1 "
            "differs in source (here 's3://elsewhere/churn', MLflow 's3://models/churn/1'), "
            "run id (here 'r9', MLflow None)"
        )
        assert f"churn: refused: {refused.refusal}" in progress
        assert await model(api, "churn") == churn_before
        (row,) = [
            r
            for r in await audit_rows(db)
            if r["model_name"] == "churn" and r["action"] == "importModel"
        ]
        assert (row["result"], row["actor"]) == ("CONFLICT", ACTOR)
        assert len(versions_of(await model(api, "fraud"))) == 4


async def test_a_dry_run_reports_the_changes_and_writes_nothing(
    mlflow: Mlflow, db: Database, database_url: str
) -> None:
    before, audit_before = await snapshot(db), await audit_rows(db)

    summary, progress = await imported(mlflow, database_url, dry_run=True)

    assert outcomes(summary) == dict.fromkeys(SEEDED, ModelStatus.CREATED)
    assert summary.changes == 10
    assert any(
        "version 5 is imported as PRODUCTION" in n for o in summary.outcomes for n in o.notes
    )
    assert "[3/3]" in progress
    assert await snapshot(db) == before
    assert await audit_rows(db) == audit_before
