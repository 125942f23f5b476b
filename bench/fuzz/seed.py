"""A little of everything, so that generated names and ids sometimes find something.

Three models with versions in every stage, tags, metrics and params; aliases,
one of them protected; a gated PRODUCTION; a webhook to a loopback receiver;
a pending transition request with a check report and a comment, and one that
moves an alias.
"""

from dataclasses import dataclass, field
from typing import Any

import httpx

MODELS = ("fraud", "churn", "ranker")
ALIASES = ("champion", "challenger")

_CREATE_MODEL = """mutation($input: CreateModelInput!) {
  createModel(input: $input) { model { name } } }"""
_CREATE_VERSION = """mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { version } } }"""
_TRANSITION = """mutation($input: TransitionStageInput!) {
  transitionStage(input: $input) { modelVersion { stage } } }"""
_SET_TAG = """mutation($input: SetTagInput!) { setTag(input: $input) { __typename } }"""
_SET_ALIAS = """mutation($input: SetAliasInput!) { setAlias(input: $input) { __typename } }"""
_STAGE_POLICY = """mutation($input: SetStagePolicyInput!) {
  setStagePolicy(input: $input) { policy { gated } } }"""
_ALIAS_POLICY = """mutation($input: SetAliasPolicyInput!) {
  setAliasPolicy(input: $input) { __typename } }"""
_CREATE_WEBHOOK = """mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { webhook { id } } }"""
_REQUEST = """mutation($input: RequestTransitionInput!) {
  requestTransition(input: $input) { transitionRequest { id } } }"""
_REPORT_CHECK = """mutation($input: ReportCheckInput!) {
  reportCheck(input: $input) { __typename } }"""
_COMMENT = """mutation($input: CommentOnTransitionRequestInput!) {
  commentOnTransitionRequest(input: $input) { __typename } }"""


@dataclass
class Seeded:
    """The ids the seeding made, for the fuzzer's dictionaries (see `dictionaries`)."""

    request_ids: list[str] = field(default_factory=list)
    webhook_ids: list[str] = field(default_factory=list)


def dictionaries(
    seeded: Seeded, webhook_url: str, revocable_tokens: list[str]
) -> dict[str, list[str | int]]:
    """Values that exist or are valid, by the argument (`Type.field.argument`) they fit.

    The fuzzer uses one half of the time (in its valid documents only), so
    that resolvers get past "not found" and "invalid name" into the code that
    works on real rows.
    """
    models: list[str | int] = list(MODELS)
    ids: list[str | int] = list(dict.fromkeys([*seeded.request_ids, *seeded.webhook_ids]))
    versions: list[str | int] = [1, 2, 3, 4]
    uris: list[str | int] = [
        "models:/fraud/Production", "models:/churn/staging", "models:/ranker/2",
        "models:/fraud/latest", "models:/churn@champion", "models:/ranker@challenger",
    ]  # fmt: skip
    return {
        "*.*.name": models,
        "*.*.modelName": models,
        "*.*.version": versions,
        "*.*.id": ids,
        "*.*.uri": uris,
        "*.*.filter.model": models,
        "*.*.input.modelName": models,
        "*.*.input.version": versions,
        "*.*.input.toVersion": versions,
        "*.*.input.alias": list(ALIASES),
        "*.*.input.id": ids,
        "*.*.input.requestId": ids,
        "*.*.input.source": ["s3://artifacts/new/model", "gs://bucket/run-9", "runs:/abc123/model"],
        "*.*.input.digest": [f"sha256:{'ab' * 32}"],
        "*.*.input.key": ["team", "owner", "validated"],
        "*.*.input.tags[*].key": ["team", "owner"],
        "*.*.input.url": [webhook_url],
        "*.*.input.events[*]": ["*", "model.*", "model_version.stage_changed"],
        "*.*.input.requiredChecks[*]": ["validation"],
        "*.*.input.expiresIn": ["90d", "12h"],
        "Mutation.createModel.input.name": ["fuzzed", "fuzzed.model_2-b"],
        "Mutation.createApiToken.input.name": ["fuzz-made"],
        "Mutation.reportCheck.input.name": ["validation", "lint"],
        # Not the revoking pass's own token: it would spend the rest of its time on 401s.
        "Mutation.revokeApiToken.input.name": list(revocable_tokens),
    }


def seed(client: httpx.Client, webhook_url: str) -> Seeded:
    """Fill an empty registry through its API, as the admin token of `client`."""
    seeded = Seeded()
    # Promote directly while seeding; the gate is closed again at the end.
    _call(client, _STAGE_POLICY, {"stage": "PRODUCTION", "requiredApprovals": 0})
    for model in MODELS:
        _seed_model(client, model)
    _call(client, _STAGE_POLICY, {"stage": "PRODUCTION", "requiredApprovals": 1})
    _call(
        client,
        _STAGE_POLICY,
        {"stage": "PRODUCTION", "modelName": "fraud", "requiredChecks": ["validation"]},
    )
    _call(client, _ALIAS_POLICY, {"alias": "champion", "requiredApprovals": 1})
    data = _call(client, _CREATE_WEBHOOK, {"url": webhook_url, "events": ["*"]})
    seeded.webhook_ids.append(data["createWebhook"]["webhook"]["id"])
    data = _call(client, _REQUEST, {"modelName": "fraud", "version": 4, "stage": "PRODUCTION"})
    request_id = data["requestTransition"]["transitionRequest"]["id"]
    check = {"requestId": request_id, "name": "validation", "status": "PENDING"}
    _call(client, _REPORT_CHECK, {**check, "detailsUrl": "https://ci.example/1"})
    _call(client, _COMMENT, {"id": request_id, "comment": "numbers look good"})
    data = _call(client, _REQUEST, {"modelName": "churn", "version": 3, "alias": "champion"})
    seeded.request_ids += [request_id, data["requestTransition"]["transitionRequest"]["id"]]
    return seeded


def _seed_model(client: httpx.Client, model: str) -> None:
    _call(
        client,
        _CREATE_MODEL,
        {"name": model, "description": f"{model} model", "tags": [{"key": "team", "value": "ml"}]},
    )
    for run in range(1, 5):
        _call(client, _CREATE_VERSION, _version(model, run))
    # v1 ARCHIVED (replaced by v2), v2 PRODUCTION, v3 STAGING, v4 NONE.
    for version, stage in ((1, "PRODUCTION"), (2, "PRODUCTION"), (3, "STAGING")):
        _call(client, _TRANSITION, {"modelName": model, "version": version, "stage": stage})
    _call(client, _SET_TAG, {"modelName": model, "key": "owner", "value": "risk"})
    _call(client, _SET_TAG, {"modelName": model, "version": 2, "key": "validated", "value": "yes"})
    for alias, version in zip(ALIASES, (2, 3), strict=True):
        _call(client, _SET_ALIAS, {"modelName": model, "alias": alias, "version": version})


def _version(model: str, run: int) -> dict[str, Any]:
    return {
        "modelName": model,
        "source": f"s3://artifacts/{model}/run-{run}/model",
        "runId": f"run-{run}",
        "digest": f"{run:064x}",
        "description": f"run {run}",
        "metrics": [{"key": "auc", "value": 0.8 + run / 100}],
        "params": [{"key": "lr", "value": "0.01"}],
        "tags": [{"key": "run", "value": str(run)}],
    }


def _call(client: httpx.Client, mutation: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": mutation, "variables": {"input": payload}})
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"seeding failed ({response.status_code}): {body}")
    data: dict[str, Any] = body["data"]
    return data
