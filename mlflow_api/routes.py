"""Which handler answers each (method, path) under /api/2.0/mlflow/, and whether it writes.

Paths and methods are MLflow's (ModelRegistryService in model_registry.proto)
and Databricks' for transition requests. `action` names the call in the
audit log (`mlflow.<rpc>`) and in the request log.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mlflow_api import model_versions, registered_models, transition_requests
from mlflow_api.params import Params
from resolvers.context import RequestContext

PREFIX = "/api/2.0/mlflow/"

Handler = Callable[[RequestContext, Params], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Route:
    action: str
    handler: Handler
    writes: bool


def _read(rpc: str, handler: Handler) -> Route:
    return Route(f"mlflow.{rpc}", handler, writes=False)


def _write(rpc: str, handler: Handler) -> Route:
    return Route(f"mlflow.{rpc}", handler, writes=True)


_models = registered_models
_versions = model_versions
_requests = transition_requests

ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "registered-models/create"): _write("createRegisteredModel", _models.create),
    ("POST", "registered-models/rename"): _write("renameRegisteredModel", _models.rename),
    ("PATCH", "registered-models/update"): _write("updateRegisteredModel", _models.update),
    ("DELETE", "registered-models/delete"): _write("deleteRegisteredModel", _models.delete),
    ("GET", "registered-models/get"): _read("getRegisteredModel", _models.get),
    ("GET", "registered-models/search"): _read("searchRegisteredModels", _models.search_models),
    ("POST", "registered-models/get-latest-versions"): _read(
        "getLatestVersions", _models.get_latest_versions
    ),
    ("GET", "registered-models/get-latest-versions"): _read(
        "getLatestVersions", _models.get_latest_versions
    ),
    ("POST", "registered-models/set-tag"): _write("setRegisteredModelTag", _models.set_tag),
    ("DELETE", "registered-models/delete-tag"): _write(
        "deleteRegisteredModelTag", _models.delete_tag
    ),
    ("POST", "registered-models/alias"): _write("setRegisteredModelAlias", _models.set_alias),
    ("DELETE", "registered-models/alias"): _write(
        "deleteRegisteredModelAlias", _models.delete_alias
    ),
    ("GET", "registered-models/alias"): _read("getModelVersionByAlias", _models.get_by_alias),
    ("POST", "model-versions/create"): _write("createModelVersion", _versions.create),
    ("PATCH", "model-versions/update"): _write("updateModelVersion", _versions.update),
    ("DELETE", "model-versions/delete"): _write("deleteModelVersion", _versions.delete),
    ("GET", "model-versions/get"): _read("getModelVersion", _versions.get),
    ("GET", "model-versions/search"): _read("searchModelVersions", _versions.search_versions),
    ("POST", "model-versions/transition-stage"): _write(
        "transitionModelVersionStage", _versions.transition_stage
    ),
    ("GET", "model-versions/get-download-uri"): _read(
        "getModelVersionDownloadUri", _versions.get_download_uri
    ),
    ("POST", "model-versions/set-tag"): _write("setModelVersionTag", _versions.set_tag),
    ("DELETE", "model-versions/delete-tag"): _write("deleteModelVersionTag", _versions.delete_tag),
    ("POST", "transition-requests/create"): _write("createTransitionRequest", _requests.create),
    ("POST", "transition-requests/approve"): _write("approveTransitionRequest", _requests.approve),
    ("POST", "transition-requests/reject"): _write("rejectTransitionRequest", _requests.reject),
    ("DELETE", "transition-requests/delete"): _write("deleteTransitionRequest", _requests.delete),
    ("GET", "transition-requests/list"): _read("listTransitionRequests", _requests.list_open),
}
