"""The real `mlflow` client against a real `modelreg serve`: modelreg as its model registry.

Runs and artifacts stay in a local MLflow tracking store; only the registry
is modelreg's (MLFLOW_REGISTRY_URI, MLFLOW_TRACKING_TOKEN = a modelreg token).
The whole surface runs on SQLite; the core flow on PostgreSQL too.
"""

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import TEST_SECRET_KEY, create_scratch_postgres, drop_postgres, in_thread
from tests.conftest import postgres_admin_url as admin_url_or_none
from tests.mlflow_client import Registry, add_one_model, import_mlflow, mlflow_as, serving_registry

VERSION = """query($name: String!, $version: Int!) { modelVersion(name: $name, version: $version) {
  stage source runId modelId
  stageHistory(first: 5) { edges { node { toStage actor cause } } } } }"""
OPEN_PRODUCTION = """mutation($name: String!) { setStagePolicy(input: {
  stage: PRODUCTION, modelName: $name, requiredApprovals: 0}) { __typename } }"""
# Stages are deprecated in MLflow 3 (each call warns); they are what this registry is about.
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")
AUDIT = """query($action: String!) { auditLog(first: 20, filter: {action: $action}) {
  edges { node { actor action model result } } } }"""


@pytest.fixture(scope="module")
def mlflow() -> ModuleType:
    return import_mlflow()


@pytest.fixture(scope="module")
def registry(mlflow: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    folder = tmp_path_factory.mktemp("mlflow-registry")
    with serving_registry(f"sqlite+aiosqlite:///{folder / 'modelreg.db'}", folder) as served:
        yield served


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow-tracking")


def error_code(call: Any, *args: Any, **kwargs: Any) -> str:
    """The `error_code` of the MlflowException that `call` raises."""
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as raised:
        call(*args, **kwargs)
    return str(raised.value.error_code)


def log_and_register(mlflow: ModuleType, name: str) -> tuple[Any, str]:
    """log_model(..., registered_model_name=name) in a new run: (model info, run id)."""
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(
            name="model", python_model=add_one_model(mlflow), registered_model_name=name
        )
    return info, run.info.run_id


def core_flow(mlflow: ModuleType, registry: Registry, tracking: Path, name: str) -> None:
    """Register both ways, stage, promote through an approval, load by stage, number, alias."""
    with mlflow_as(mlflow, registry, "writer", tracking) as client:
        info, run_id = log_and_register(mlflow, name)
        assert str(info.registered_model_version) == "1"
        second = mlflow.register_model(f"runs:/{run_id}/model", name)
        assert second.version == "2"
        assert second.run_id == run_id
        stored = registry.graphql(VERSION, {"name": name, "version": 1})["modelVersion"]
        assert stored["source"] == f"models:/{info.model_id}"
        assert stored["modelId"] == info.model_id
        client.transition_model_version_stage(name, "1", "Staging")
        client.set_registered_model_alias(name, "champion", "2")
    with mlflow_as(mlflow, registry, "maintainer", tracking) as client:
        from mlflow.exceptions import MlflowException

        with pytest.raises(MlflowException) as refused:
            client.transition_model_version_stage(name, "2", "Production")
        assert refused.value.error_code == "PERMISSION_DENIED"
        assert "transition-requests/create" in str(refused.value)
        assert client.get_model_version(name, "2").current_stage == "None"
        asked = registry.rest(
            "POST",
            "transition-requests/create",
            "writer",
            json={"name": name, "version": "2", "stage": "Production", "comment": "better"},
        )
        assert asked.status_code == 200, asked.text
    approved = registry.rest(
        "POST",
        "transition-requests/approve",
        "maintainer",
        json={
            "name": name,
            "version": "2",
            "stage": "Production",
            "archive_existing_versions": True,
        },
    )
    assert approved.status_code == 200, approved.text
    with mlflow_as(mlflow, registry, "reader", tracking) as client:
        (latest,) = client.get_latest_versions(name, ["Production"])
        assert latest.version == "2"
        uris = ("Production", "1", "latest")
        for uri in [f"models:/{name}/{suffix}" for suffix in uris] + [f"models:/{name}@champion"]:
            assert list(mlflow.pyfunc.load_model(uri).predict([1, 41])) == [2, 42], uri
        assert list(mlflow.pyfunc.load_model(f"models:/{name}/Staging").predict([0])) == [1]
    history = registry.graphql(VERSION, {"name": name, "version": 2})["modelVersion"]
    (promotion,) = [e["node"] for e in history["stageHistory"]["edges"]]
    assert promotion == {
        "toStage": "PRODUCTION",
        "actor": registry.names["maintainer"],
        "cause": "APPROVAL",
    }


def test_core_flow_on_sqlite(mlflow: ModuleType, registry: Registry, tracking: Path) -> None:
    core_flow(mlflow, registry, tracking, "fraud detector")


def test_core_flow_on_postgresql(mlflow: ModuleType, tmp_path: Path, tracking: Path) -> None:
    admin_url = admin_url_or_none()
    if admin_url is None:
        pytest.skip("PostgreSQL tests need MODELREG_TEST_POSTGRES_URL (CI sets it)")
    url = in_thread(asyncio.run, create_scratch_postgres(admin_url))
    try:
        with serving_registry(url, tmp_path, MODELREG_SECRET_KEY=TEST_SECRET_KEY) as served:
            core_flow(mlflow, served, tracking, "fraud on postgres")
    finally:
        in_thread(asyncio.run, drop_postgres(admin_url, url))


def test_transitions_and_archive_existing_versions(
    mlflow: ModuleType, registry: Registry, tracking: Path
) -> None:
    name = "stages"
    with mlflow_as(mlflow, registry, "maintainer", tracking) as client:
        client.create_registered_model(name)
        registry.graphql(OPEN_PRODUCTION, {"name": name})
        for _ in range(4):
            client.create_model_version(name, "s3://bucket/stages", run_id="r1")
        client.transition_model_version_stage(name, "1", "Staging")
        client.transition_model_version_stage(name, "2", "Staging")  # STAGING holds several
        moved = client.transition_model_version_stage(
            name, "3", "staging", archive_existing_versions=True
        )
        assert moved.current_stage == "Staging"
        stages = {
            v.version: v.current_stage for v in client.search_model_versions(f"name='{name}'")
        }
        assert stages == {"1": "Archived", "2": "Archived", "3": "Staging", "4": "None"}
        client.transition_model_version_stage(name, "3", "Production")
        # PRODUCTION always archives the previous Production version (one at a time).
        client.transition_model_version_stage(
            name, "4", "Production", archive_existing_versions=False
        )
        assert client.get_model_version(name, "3").current_stage == "Archived"
        latest = client.get_latest_versions(name)
        assert {(v.version, v.current_stage) for v in latest} == {
            ("4", "Production"),
            ("3", "Archived"),
        }
        assert error_code(client.transition_model_version_stage, name, "4", "Production") == (
            "INVALID_PARAMETER_VALUE"
        )
        assert error_code(client.transition_model_version_stage, name, "4", "Gold") == (
            "INVALID_PARAMETER_VALUE"
        )
        assert (
            error_code(
                client.transition_model_version_stage,
                name,
                "1",
                "None",
                archive_existing_versions=True,
            )
            == "INVALID_PARAMETER_VALUE"
        )
        assert client.get_model_version(name, "4").current_stage == "Production"


def test_updates_tags_aliases_and_deletes(
    mlflow: ModuleType, registry: Registry, tracking: Path
) -> None:
    name = "edits@team #1"
    with mlflow_as(mlflow, registry, "maintainer", tracking) as client:
        client.create_registered_model(name, tags={"team": "risk"}, description="d")
        client.create_model_version(name, "s3://bucket/edits", tags={"k": "v"}, description="first")
        client.create_model_version(name, "s3://bucket/edits2")
        assert client.update_model_version(name, "1", "changed").description == "changed"
        client.set_model_version_tag(name, "1", "stage-ok", "yes")
        client.delete_model_version_tag(name, "1", "k")
        assert client.get_model_version(name, "1").tags == {"stage-ok": "yes"}
        client.set_registered_model_tag(name, "owner", "ana")
        client.delete_registered_model_tag(name, "team")
        client.update_registered_model(name, "new description")
        client.set_registered_model_alias(name, "champion", "1")
        assert client.get_model_version_by_alias(name, "champion").version == "1"
        client.set_registered_model_alias(name, "champion", "2")  # moves it
        model = client.get_registered_model(name)
        assert (model.description, model.tags, model.aliases) == (
            "new description",
            {"owner": "ana"},
            {"champion": "2"},
        )
        assert client.get_model_version_download_uri(name, "2") == "s3://bucket/edits2"
        client.delete_registered_model_alias(name, "champion")
        assert error_code(client.get_model_version_by_alias, name, "champion") == (
            "RESOURCE_DOES_NOT_EXIST"
        )
        client.rename_registered_model(name, "edits renamed")
        assert error_code(client.get_registered_model, name) == "RESOURCE_DOES_NOT_EXIST"
        client.delete_model_version("edits renamed", "1")
        assert error_code(client.get_model_version, "edits renamed", "1") == (
            "RESOURCE_DOES_NOT_EXIST"
        )
        client.delete_registered_model("edits renamed")
        assert error_code(client.get_registered_model, "edits renamed") == "RESOURCE_DOES_NOT_EXIST"


def test_error_codes_and_unchanged_state(
    mlflow: ModuleType, registry: Registry, tracking: Path
) -> None:
    name = "errors"
    with mlflow_as(mlflow, registry, "writer", tracking) as client:
        client.create_registered_model(name)
        client.create_model_version(name, "s3://bucket/errors")
        assert error_code(client.create_registered_model, name) == "RESOURCE_ALREADY_EXISTS"
        assert error_code(client.get_registered_model, "nope") == "RESOURCE_DOES_NOT_EXIST"
        assert error_code(client.get_model_version, name, "9") == "RESOURCE_DOES_NOT_EXIST"
        assert error_code(client.create_registered_model, "a/b") == "INVALID_PARAMETER_VALUE"
        assert error_code(client.get_model_version, name, "x") == "INVALID_PARAMETER_VALUE"
        assert error_code(client.delete_registered_model, name) == "PERMISSION_DENIED"
        before = client.get_registered_model(name)
    with mlflow_as(mlflow, registry, "reader", tracking) as client:
        assert error_code(client.set_registered_model_tag, name, "k", "v") == "PERMISSION_DENIED"
        assert error_code(client.create_model_version, name, "s3://x") == "PERMISSION_DENIED"
        after = client.get_registered_model(name)
        assert (after.tags, after.last_updated_timestamp) == (
            before.tags,
            before.last_updated_timestamp,
        )
        assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["1"]
    unauthenticated = registry.rest("GET", "registered-models/get", "", params={"name": name})
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error_code"] == "UNAUTHENTICATED"


def test_searches_page_through_everything(
    mlflow: ModuleType, registry: Registry, tracking: Path
) -> None:
    with mlflow_as(mlflow, registry, "writer", tracking) as client:
        names = [f"search-{i}" for i in range(7)]
        for i, name in enumerate(names):
            client.create_registered_model(name, tags={"parity": "even" if i % 2 == 0 else "odd"})
            for run in ("run-a", "run-b"):
                client.create_model_version(name, f"s3://bucket/{name}/{run}", run_id=run)
        seen: list[str] = []
        token = None
        while True:
            page = client.search_registered_models(
                "name LIKE 'search-%'", max_results=3, page_token=token, order_by=["name DESC"]
            )
            seen += [m.name for m in page]
            token = page.token
            if not token:
                break
        assert seen == sorted(names, reverse=True)
        even = client.search_registered_models("name ILIKE 'SEARCH-%' AND tags.parity = 'even'")
        assert [m.name for m in even] == names[0::2]
        assert {v.version for m in even for v in m.latest_versions} == {"2"}
        found = client.search_registered_models("name IN ('search-1', 'search-3', 'nope')")
        assert [m.name for m in found] == ["search-1", "search-3"]
        versions: list[tuple[str, str]] = []
        token = None
        while True:
            vpage = client.search_model_versions(
                "run_id IN ('run-b') AND name LIKE 'search-%'",
                max_results=2,
                page_token=token,
                order_by=["name ASC", "version_number DESC"],
            )
            versions += [(v.name, v.version) for v in vpage]
            token = vpage.token
            if not token:
                break
        assert versions == [(name, "2") for name in names]
        older = client.search_model_versions(
            "name = 'search-0' AND version_number < 2 AND source_path LIKE '%/run-a'"
        )
        assert [(v.version, v.run_id) for v in older] == [("1", "run-a")]
        everything = mlflow.search_model_versions(filter_string="name LIKE 'search-%'")
        assert len(everything) == 14
        for bad in ("name = x", "name = 'a' OR name = 'b'", "color = 'red'", "tags.t > 'a'"):
            assert error_code(client.search_registered_models, bad) == "INVALID_PARAMETER_VALUE"
        assert error_code(client.search_registered_models, max_results=1001) == (
            "INVALID_PARAMETER_VALUE"
        )
        assert error_code(client.search_model_versions, "version_number = 'x'") == (
            "INVALID_PARAMETER_VALUE"
        )


def test_calls_are_audited_with_the_token_name_and_basic_auth_works(
    mlflow: ModuleType, registry: Registry, tracking: Path
) -> None:
    with mlflow_as(mlflow, registry, "writer", tracking) as client:
        client.create_registered_model("audited")
        assert error_code(client.create_registered_model, "audited") == "RESOURCE_ALREADY_EXISTS"
    rows = registry.graphql(AUDIT, {"action": "mlflow.createRegisteredModel"})["auditLog"]
    mine = [e["node"] for e in rows["edges"] if e["node"]["model"] == "audited"]
    assert [(r["actor"], r["result"]) for r in mine] == [
        (registry.names["writer"], "CONFLICT"),
        (registry.names["writer"], "OK"),
    ]
    basic = base64.b64encode(f"anyone:{registry.tokens['reader']}".encode()).decode()
    response = registry.rest(
        "GET",
        "registered-models/get",
        "",
        params={"name": "audited"},
        headers={"authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["registered_model"]["user_id"] == registry.names["writer"]
