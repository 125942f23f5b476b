"""`modelreg import mlflow` against a real MLflow server (bench/mlflow_server.py installs it).

One MLflow server per module, seeded over its REST API with gaps in version
numbers, tags, aliases and two Production versions of one model; each test
imports it into a fresh registry database (SQLite and PostgreSQL).
"""

import asyncio
import io
import json
import shutil
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
from resolvers.imports.outcome import ImportSummary, ModelOutcome, ModelStatus
from resolvers.versions import NewVersion, create_version
from server.mlflow_import.command import ImportStopped, run_import
from server.mlflow_import.progress import Progress
from server.mlflow_import.reader import Credentials, MlflowUnavailable
from storage.database import Database, create_database
from storage.enums import Role
from storage.tables import models as models_table
from storage.tables import webhook_events
from tests.audit_rows import audit_rows
from tests.conftest import _under_ci, serving
from tests.graphql import GraphQLClient
from tests.receiver import Receiver, Reply
from tests.snapshot import snapshot
from tests.test_serve_process import MODELREG, environment, free_port

API = "/api/2.0/mlflow"
ACTOR = "mlflow-import"
# In MLflow's order (by name). A name with a space and one with a quote: MLflow
# accepts both, and so does modelreg.
SEEDED = ("churn", "empty", "fraud", "fraud detector", "it's")
VERSIONS = 4 + 1 + 1 + 1
ALIASES = 2
CHANGES = len(SEEDED) + VERSIONS + ALIASES

MODEL = """
query($name: String!) {
  model(name: $name) {
    name description createdBy
    tags { key value }
    aliases { alias version }
    versions(first: 100) { edges { node {
      version stage source runId modelId description createdBy tags { key value }
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
    churn: one version without a run; empty: no versions; fraud detector: MLflow 3's
    logged model in Production; it's: one version."""
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
    logged = mlflow.call("POST", "/logged-models", {"experiment_id": "0", "name": "detector"})
    logged_model_id = logged["model"]["info"]["model_id"]
    mlflow.call("POST", "/registered-models/create", {"name": "fraud detector"})
    mlflow.create_version("fraud detector", f"models:/{logged_model_id}", model_id=logged_model_id)
    mlflow.stage("fraud detector", 1, "Production")
    mlflow.call("POST", "/registered-models/create", {"name": "it's"})
    mlflow.create_version("it's", "s3://models/its/1", run_id="r1")


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


async def events(db: Database) -> dict[tuple[str, str | None], int]:
    """How many events of each (type, actor) the event log holds."""
    async with db.read() as conn:
        kind, actor = webhook_events.c.type, webhook_events.c.actor
        rows = await conn.execute(select(kind, actor, func.count()).group_by(kind, actor))
        return {(row[0], row[1]): int(row[2]) for row in rows}


async def test_import_copies_models_versions_aliases_and_stages_once(
    mlflow: Mlflow, db: Database, database_url: str
) -> None:
    async with serving(db, gated=True) as api:
        summary, progress = await imported(mlflow, database_url)

        assert outcomes(summary) == dict.fromkeys(SEEDED, ModelStatus.CREATED)
        assert summary.total("versions_created") == VERSIONS
        assert summary.total("aliases_created") == ALIASES
        assert summary.changes == CHANGES
        (fraud_outcome,) = [o for o in summary.outcomes if o.name == "fraud"]
        assert fraud_outcome.notes == (
            "MLflow holds versions 3, 5 in Production; version 5 is imported as PRODUCTION, "
            "version 3 as ARCHIVED",
        )
        assert progress.splitlines()[-1].startswith("[5/5] ")

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
        (detector,) = versions_of(await model(api, "fraud detector")).values()
        assert detector["stage"] == "PRODUCTION"
        assert detector["source"] == f"models:/{detector['modelId']}"
        assert detector["modelId"].startswith("m-")
        (its,) = versions_of(await model(api, "it's")).values()
        assert (its["source"], its["runId"]) == ("s3://models/its/1", "r1")

        assert await events(db) == {
            ("model.created", ACTOR): 5,
            ("model_version.created", ACTOR): VERSIONS,
            ("model_version.stage_changed", ACTOR): 5,
            ("alias.set", ACTOR): 2,
        }
        audit = [r for r in await audit_rows(db) if r["action"] == "importModel"]
        assert sorted(r["model_name"] for r in audit) == sorted(SEEDED)
        assert {(r["actor"], r["result"]) for r in audit} == {(ACTOR, "OK")}

        # Again: nothing changes, not even a history row, an event or an audit row.
        before, audit_before = await snapshot(db), await audit_rows(db)
        summary, _ = await imported(mlflow, database_url)
        assert outcomes(summary) == dict.fromkeys(SEEDED, ModelStatus.UNCHANGED)
        assert summary.changes == 0
        assert summary.total("versions_unchanged") == VERSIONS
        assert summary.total("aliases_unchanged") == 2
        assert await snapshot(db) == before
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
            **dict.fromkeys(SEEDED, ModelStatus.CREATED),
            "churn": ModelStatus.REFUSED,
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
    assert summary.changes == CHANGES
    assert any(
        "version 5 is imported as PRODUCTION" in n for o in summary.outcomes for n in o.notes
    )
    assert "[5/5]" in progress
    assert await snapshot(db) == before
    assert await audit_rows(db) == audit_before


async def test_a_second_import_brings_over_what_changed_in_mlflow(
    mlflow: Mlflow, db: Database, database_url: str
) -> None:
    mlflow.call("POST", "/registered-models/create", {"name": "growing"})
    try:
        for number in (1, 2):
            mlflow.create_version("growing", f"s3://models/growing/{number}")
        await imported(mlflow, database_url)
        mlflow.create_version("growing", "s3://models/growing/3")
        mlflow.stage("growing", 2, "Production")
        mlflow.call(
            "PATCH",
            "/model-versions/update",
            {"name": "growing", "version": "1", "description": "first"},
        )
        mlflow.call(
            "POST", "/registered-models/set-tag", {"name": "growing", "key": "team", "value": "ml"}
        )
        mlflow.call(
            "POST", "/registered-models/alias", {"name": "growing", "alias": "live", "version": "2"}
        )

        summary, _ = await imported(mlflow, database_url)

        (growing,) = [o for o in summary.outcomes if o.name == "growing"]
        assert growing.status == ModelStatus.UPDATED
        assert (growing.versions_created, growing.versions_updated, growing.versions_unchanged) == (
            1,
            2,
            0,
        )
        assert (growing.aliases_created, growing.aliases_moved) == (1, 0)
        assert summary.changes == 1 + 1 + 2 + 1
        async with serving(db) as api:
            found = await model(api, "growing")
        assert found["tags"] == [{"key": "team", "value": "ml"}]
        assert found["aliases"] == [{"alias": "live", "version": 2}]
        versions = versions_of(found)
        assert (versions[1]["description"], versions[2]["stage"], sorted(versions)) == (
            "first",
            "PRODUCTION",
            [1, 2, 3],
        )
        (moved,) = [e["node"] for e in found["stageHistory"]["edges"]]
        assert (moved["version"], moved["toStage"], moved["cause"]) == (2, "PRODUCTION", "IMPORT")
    finally:
        mlflow.call("DELETE", "/registered-models/delete", {"name": "growing"})


async def test_mlflow_credentials_are_sent_and_a_refusal_says_how_to_pass_them(
    db: Database, database_url: str, receiver: Receiver
) -> None:
    search = f"{API}/registered-models/search?max_results=1000"
    receiver.script(search, Reply(401, b'{"error_code": "UNAUTHENTICATED"}'))
    before = await snapshot(db)

    for credentials, header in (
        (Credentials(token="mlflow-secret"), "Bearer mlflow-secret"),
        (Credentials(username="ana", password="pw"), "Basic YW5hOnB3"),
    ):
        with pytest.raises(MlflowUnavailable, match="pass --token, or set MLFLOW_TRACKING_TOKEN"):
            await run_import(receiver.url(""), credentials, database_url)
        assert receiver.at(search)[-1].headers["authorization"] == header

    assert await snapshot(db) == before


def migrated(sqlite_template: Path, path: Path) -> dict[str, str]:
    """The environment of a command on a fresh, migrated SQLite file at `path`."""
    shutil.copyfile(sqlite_template, path)
    return environment(path)


def test_the_command_prints_a_summary_and_exits_1_when_a_model_was_refused(
    mlflow: Mlflow, tmp_path: Path, sqlite_template: Path
) -> None:
    env = migrated(sqlite_template, tmp_path / "import.db")
    command = [MODELREG, "import", "mlflow", "--from", mlflow.url]

    first = subprocess.run(
        [*command, "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {
        "origin": f"MLflow at {mlflow.url}",
        "dryRun": False,
        "models": {"created": 5, "updated": 0, "unchanged": 0, "refused": 0},
        "versions": {"created": VERSIONS, "updated": 0, "unchanged": 0},
        "aliases": {"created": 2, "moved": 0, "unchanged": 0},
        "changed": CHANGES,
        "notes": [
            {
                "model": "fraud",
                "note": "MLflow holds versions 3, 5 in Production; version 5 is imported as "
                "PRODUCTION, version 3 as ARCHIVED",
            }
        ],
        "refused": [],
    }
    # Not a terminal: one plain line per model.
    assert [line.split(": ")[0] for line in first.stderr.splitlines()] == [
        f"[{i}/5] {name}" for i, name in enumerate(SEEDED, 1)
    ]

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[1:] == [
        "models:   0 created, 0 updated, 5 unchanged, 0 refused",
        f"versions: 0 created, 0 updated, {VERSIONS} unchanged",
        "aliases:  0 created, 0 moved, 2 unchanged",
        "note: fraud: MLflow holds versions 3, 5 in Production; version 5 is imported as "
        "PRODUCTION, version 3 as ARCHIVED",
        "0 changed",
    ]

    conflicting = migrated(sqlite_template, tmp_path / "conflict.db")
    asyncio.run(register(conflicting["MODELREG_DATABASE_URL"], "churn", "s3://elsewhere/churn"))
    refused = subprocess.run(command, env=conflicting, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1
    assert "models:   4 created, 0 updated, 0 unchanged, 1 refused" in refused.stdout
    assert "refused: churn: CONFLICT: model 'churn' conflicts" in refused.stdout


def test_an_unreachable_mlflow_imports_nothing(tmp_path: Path, sqlite_template: Path) -> None:
    env = migrated(sqlite_template, tmp_path / "import.db")
    url = f"http://127.0.0.1:{free_port()}"

    result = subprocess.run(
        [MODELREG, "import", "mlflow", "--from", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"modelreg: nothing was imported: cannot reach MLflow at {url}")


def test_the_actor_must_be_a_name(tmp_path: Path, sqlite_template: Path) -> None:
    env = migrated(sqlite_template, tmp_path / "import.db")
    command = [MODELREG, "import", "mlflow", "--from", "http://127.0.0.1:9", "--actor"]

    result = subprocess.run([*command, "a\tb"], env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert (
        result.stderr == "modelreg: --actor contains a control character (U+0009 at position 1)\n"
    )


async def register(database_url: str, name: str, source: str) -> None:
    """A version made straight through the use case, as an admin."""
    db = create_database(database_url)
    try:
        ctx = RequestContext(db, principal=Principal(name="setup", role=Role.ADMIN))
        await create_version(ctx, NewVersion(model_name=name, source=source))
    finally:
        await db.dispose()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_redrawn_in_place_on_a_terminal() -> None:
    terminal = Terminal()
    progress = Progress(4, terminal, dry_run=False)
    for name in ("a", "b"):
        progress.advance(ModelOutcome(name, ModelStatus.CREATED))
    progress.close()

    first, second = terminal.getvalue().rstrip("\n").split("\r")[1:]
    assert first.startswith("importing [" + "#" * 7 + "-" * 23 + "] 1/4 models  a")
    assert second.startswith("importing [" + "#" * 15 + "-" * 15 + "] 2/4 models  b")
    assert terminal.getvalue().endswith("\n")


async def test_models_that_cannot_be_read_or_named_here_are_refused_and_the_rest_imported(
    mlflow: Mlflow, db: Database, database_url: str
) -> None:
    # MLflow's filter strings have no escapes: a name with both quotes cannot be searched.
    # `?` is a name MLflow takes that a models:/ URI cannot carry, so modelreg refuses it.
    unsearchable, unnamable = 'say "it\'s"', "why?"
    for name in (unsearchable, unnamable):
        mlflow.call("POST", "/registered-models/create", {"name": name})
        mlflow.create_version(name, "s3://models/odd/1")
    try:
        summary, _ = await imported(mlflow, database_url)
    finally:
        for name in (unsearchable, unnamable):
            mlflow.call("DELETE", "/registered-models/delete", {"name": name})

    assert outcomes(summary) == {
        **dict.fromkeys(SEEDED, ModelStatus.CREATED),
        unsearchable: ModelStatus.REFUSED,
        unnamable: ModelStatus.REFUSED,
    }
    reasons = {o.name: o.refusal for o in summary.refused}
    assert reasons[unsearchable] == (
        "UNREADABLE: its name holds both ' and \", which MLflow's search filter cannot quote"
    )
    assert str(reasons[unnamable]).startswith("BAD_USER_INPUT: ")
    async with db.read() as conn:
        names = (await conn.execute(select(models_table.c.name))).scalars().all()
    assert sorted(names) == sorted(SEEDED)


def _search_path(path: str, **params: str) -> str:
    """The path and query httpx sends for a search (what the receiver sees)."""
    return httpx.URL(f"{API}{path}", params={**params, "max_results": "1000"}).raw_path.decode()


async def test_mlflow_failing_part_way_keeps_the_models_imported_before(
    db: Database, database_url: str, receiver: Receiver
) -> None:
    models = [{"name": name, "creation_timestamp": "1700000000000"} for name in ("a", "b")]
    receiver.script(
        _search_path("/registered-models/search"),
        Reply(body=json.dumps({"registered_models": models}).encode()),
    )
    version = {"name": "a", "version": "1", "source": "s3://a/1", "creation_timestamp": 1}
    receiver.script(
        _search_path("/model-versions/search", filter="name = 'a'"),
        Reply(body=json.dumps({"model_versions": [version]}).encode()),
    )
    # b's versions: the receiver's default answer, which is no JSON.

    with pytest.raises(ImportStopped, match="not JSON: is this an MLflow server") as stopped:
        await run_import(receiver.url(""), Credentials(), database_url)

    assert [(o.name, o.status) for o in stopped.value.summary.outcomes] == [
        ("a", ModelStatus.CREATED)
    ]
    async with serving(db) as api:
        assert sorted(versions_of(await model(api, "a"))) == [1]
        assert await api.code(MODEL, {"name": "b"}) == "NOT_FOUND"
