"""The arguments of `modelreg import mlflow` (server/mlflow_import/command.py runs it).

Apart from the command, so that the `modelreg` parser does not import the
registry (see server/cli.py).
"""

import argparse

DEFAULT_ACTOR = "mlflow-import"


def add_import_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    group = commands.add_parser(
        "import", help="copy another registry in (on the database directly)"
    )
    sources = group.add_subparsers(dest="import_source", required=True)
    mlflow = sources.add_parser(
        "mlflow",
        help="every registered model, version, alias and tag of a running MLflow server",
        description="Copy a running MLflow registry here over its REST API. Versions keep "
        "their numbers; a second run changes nothing; a model whose versions conflict with "
        "what is here is refused whole. Exits 1 when any model was refused.",
    )
    mlflow.add_argument(
        "--from", dest="source", required=True, metavar="URL", help="the MLflow tracking server"
    )
    mlflow.add_argument(
        "--token",
        help="bearer token for MLflow (default: MLFLOW_TRACKING_TOKEN; basic auth from "
        "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)",
    )
    mlflow.add_argument(
        "--dry-run", action="store_true", help="report what would change and write nothing"
    )
    mlflow.add_argument(
        "--actor",
        default=DEFAULT_ACTOR,
        help=f"the name recorded on the changes, history and audit log (default {DEFAULT_ACTOR})",
    )
    mlflow.add_argument("--json", action="store_true", help="print the summary as JSON")
    mlflow.set_defaults(import_handler=_import_mlflow)


def _import_mlflow(args: argparse.Namespace) -> int:
    from server.mlflow_import.command import import_mlflow

    return import_mlflow(args)
