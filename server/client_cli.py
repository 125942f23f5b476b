"""`modelreg` commands for CI: register, update, move stages, roll back, resolve URIs.

They call a running registry over GraphQL (MODELREG_URL, default
http://127.0.0.1:8000), print the result as JSON and exit 1 with the error's
code and message on stderr when the registry refuses, so a pipeline step fails
with a reason.
"""

import argparse
import json
import sys
from typing import Any

import httpx

from server.settings import get_settings

VERSION_FIELDS = "version stage source runId digest model { name }"

CREATE_VERSION = f"""mutation($input: CreateModelVersionInput!) {{
  createModelVersion(input: $input) {{ modelVersion {{ {VERSION_FIELDS} }} }} }}"""
UPDATE_VERSION = f"""mutation($input: UpdateModelVersionInput!) {{
  updateModelVersion(input: $input) {{ modelVersion {{ {VERSION_FIELDS} description }} }} }}"""
TRANSITION = f"""mutation($input: TransitionStageInput!) {{
  transitionStage(input: $input) {{
    modelVersion {{ {VERSION_FIELDS} }} archived {{ version stage }} }} }}"""
ROLLBACK = f"""mutation($input: RollbackInput!) {{
  rollback(input: $input) {{
    restored {{ {VERSION_FIELDS} }} demoted {{ version stage }} }} }}"""
RESOLVE = f"""query($uri: String!) {{ resolveModelUri(uri: $uri) {{ {VERSION_FIELDS} }} }}"""
REQUEST_FIELDS = (
    "id status version fromStage toStage requestedBy comment requiredApprovals requiredChecks "
    "model { name } modelVersion { version stage } approvals { actor comment } "
    "checks { name status summary detailsUrl }"
)
REQUEST_TRANSITION = f"""mutation($input: RequestTransitionInput!) {{
  requestTransition(input: $input) {{ transitionRequest {{ {REQUEST_FIELDS} }} }} }}"""
APPROVE = f"""mutation($input: ApproveTransitionRequestInput!) {{
  approveTransitionRequest(input: $input) {{ transitionRequest {{ {REQUEST_FIELDS} }} }} }}"""
REJECT = f"""mutation($input: RejectTransitionRequestInput!) {{
  rejectTransitionRequest(input: $input) {{ transitionRequest {{ {REQUEST_FIELDS} }} }} }}"""
REPORT_CHECK = f"""mutation($input: ReportCheckInput!) {{
  reportCheck(input: $input) {{
    check {{ name status summary detailsUrl reportedBy }}
    transitionRequest {{ {REQUEST_FIELDS} }} }} }}"""


class ClientError(Exception):
    pass


def _pairs(values: list[str] | None, option: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep:
            raise ClientError(f"{option} takes KEY=VALUE, got {value!r}")
        pairs.append((key, rest))
    return pairs


def _call(query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    """Run one operation; return its root `field`, or raise with the error's code."""
    settings = get_settings()
    url = settings.url.rstrip("/") + "/graphql"
    headers = {"authorization": f"Bearer {settings.token}"} if settings.token else {}
    try:
        response = httpx.post(
            url, json={"query": query, "variables": variables}, headers=headers, timeout=30
        )
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise ClientError(f"cannot reach the registry at {url}: {error}") from error
    if body.get("errors"):
        first = body["errors"][0]
        code = first.get("extensions", {}).get("code", "ERROR")
        raise ClientError(f"{code}: {first.get('message')}")
    result: dict[str, Any] = body["data"][field]
    return result


def _model_card(path: str) -> str:
    """The text of `--model-card FILE` (`-`: standard input), as UTF-8."""
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as card:
            return card.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ClientError(f"cannot read the model card {path!r}: {error}") from error


def create_version(args: argparse.Namespace) -> dict[str, Any]:
    payload: dict[str, Any] = {"modelName": args.model, "source": args.source}
    if args.model_card is not None:
        payload["modelCard"] = _model_card(args.model_card)
    for option, field in (
        ("run_id", "runId"),
        ("digest", "digest"),
        ("description", "description"),
    ):
        if getattr(args, option) is not None:
            payload[field] = getattr(args, option)
    payload["tags"] = [{"key": k, "value": v} for k, v in _pairs(args.tag, "--tag")]
    payload["params"] = [{"key": k, "value": v} for k, v in _pairs(args.param, "--param")]
    metrics = []
    for key, value in _pairs(args.metric, "--metric"):
        try:
            metrics.append({"key": key, "value": float(value)})
        except ValueError as error:
            raise ClientError(f"--metric {key} needs a number, got {value!r}") from error
    payload["metrics"] = metrics
    return _call(CREATE_VERSION, {"input": payload}, "createModelVersion")


def update_version(args: argparse.Namespace) -> dict[str, Any]:
    payload: dict[str, Any] = {"modelName": args.model, "version": args.version}
    if args.description is not None:
        payload["description"] = args.description
    if args.remove_model_card:
        payload["modelCard"] = None
    elif args.model_card is not None:
        payload["modelCard"] = _model_card(args.model_card)
    if len(payload) == 2:
        raise ClientError("give --description, --model-card FILE or --remove-model-card")
    return _call(UPDATE_VERSION, {"input": payload}, "updateModelVersion")


def _stage_change(args: argparse.Namespace) -> dict[str, Any]:
    """The input of `transition` and `request-transition`."""
    return {
        "modelName": args.model,
        "version": args.version,
        "stage": args.stage.upper(),
        "archiveExisting": args.archive_existing,
        "comment": args.comment,
    }


def transition(args: argparse.Namespace) -> dict[str, Any]:
    return _call(TRANSITION, {"input": _stage_change(args)}, "transitionStage")


def rollback(args: argparse.Namespace) -> dict[str, Any]:
    payload = {"modelName": args.model, "toVersion": args.to_version, "comment": args.comment}
    return _call(ROLLBACK, {"input": payload}, "rollback")


def request_transition(args: argparse.Namespace) -> dict[str, Any]:
    return _call(REQUEST_TRANSITION, {"input": _stage_change(args)}, "requestTransition")


def approve(args: argparse.Namespace) -> dict[str, Any]:
    payload = {"id": args.request_id, "comment": args.comment}
    return _call(APPROVE, {"input": payload}, "approveTransitionRequest")


def reject(args: argparse.Namespace) -> dict[str, Any]:
    payload = {"id": args.request_id, "comment": args.comment}
    return _call(REJECT, {"input": payload}, "rejectTransitionRequest")


def report_check(args: argparse.Namespace) -> dict[str, Any]:
    payload = {
        "requestId": args.request_id,
        "name": args.name,
        "status": args.status.upper(),
        "summary": args.summary,
        "detailsUrl": args.details_url,
    }
    return _call(REPORT_CHECK, {"input": payload}, "reportCheck")


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    return _call(RESOLVE, {"uri": args.uri}, "resolveModelUri")


def _stage_change_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model")
    parser.add_argument("version", type=int)
    parser.add_argument("stage", help="none, staging, production or archived")
    parser.add_argument("--archive-existing", action="store_true")
    parser.add_argument("--comment")


_CARD_HELP = "a Markdown file (at most 64 KiB; - reads standard input) for reviewers"


def add_client_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    register = commands.add_parser("register", help="register the next version of a model")
    register.add_argument("model")
    register.add_argument("--source", required=True, help="where the artifacts are")
    register.add_argument("--run-id")
    register.add_argument("--digest", help="sha256 of the artifacts")
    register.add_argument("--description")
    register.add_argument("--metric", action="append", metavar="KEY=NUMBER")
    register.add_argument("--param", action="append", metavar="KEY=VALUE")
    register.add_argument("--tag", action="append", metavar="KEY=VALUE")
    register.add_argument("--model-card", metavar="FILE", help=_CARD_HELP)
    register.set_defaults(client=create_version)

    update = commands.add_parser(
        "update-version", help="change a version's description or model card"
    )
    update.add_argument("model")
    update.add_argument("version", type=int)
    update.add_argument("--description")
    card = update.add_mutually_exclusive_group()
    card.add_argument("--model-card", metavar="FILE", help=_CARD_HELP)
    card.add_argument("--remove-model-card", action="store_true")
    update.set_defaults(client=update_version)

    stage = commands.add_parser("transition", help="move a version to a stage")
    _stage_change_arguments(stage)
    stage.set_defaults(client=transition)

    back = commands.add_parser("rollback", help="restore the previous Production version")
    back.add_argument("model")
    back.add_argument("--to-version", type=int)
    back.add_argument("--comment")
    back.set_defaults(client=rollback)

    asking = commands.add_parser(
        "request-transition", help="ask for a stage change that waits for approvals and checks"
    )
    _stage_change_arguments(asking)
    asking.set_defaults(client=request_transition)

    for name, run, verb in (("approve", approve, "approve"), ("reject", reject, "reject")):
        review = commands.add_parser(name, help=f"{verb} a transition request (maintainers)")
        review.add_argument("request_id")
        review.add_argument("--comment")
        review.set_defaults(client=run)

    check = commands.add_parser("report-check", help="report a CI check on a transition request")
    check.add_argument("request_id")
    check.add_argument("name", help="the check's name, e.g. validation")
    check.add_argument("status", help="pending, success or failure")
    check.add_argument("--summary")
    check.add_argument("--details-url", help="an http(s) link to the run")
    check.set_defaults(client=report_check)

    uri = commands.add_parser("resolve", help="resolve models:/NAME/STAGE|VERSION|latest|@ALIAS")
    uri.add_argument("uri")
    uri.set_defaults(client=resolve)


def run_client(args: argparse.Namespace) -> int:
    try:
        result = args.client(args)
    except ClientError as error:
        print(f"modelreg: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0
