"""`modelreg import mlflow --from URL`: copy a running MLflow registry into this one.

Like `modelreg token`, it works on the database directly (MODELREG_DATABASE_URL),
as an admin named by `--actor`: every change goes through the registry's use
cases (resolvers/imports) and is recorded as that actor's, with events and
audit rows. Each model is imported in a transaction of its own: a model that
fails is refused whole and the others are imported; the run exits 1 when any
model was refused, and running it again imports what is missing.
"""

import argparse
import asyncio
import json
import sys
from typing import TextIO

from resolvers import validation
from resolvers.authorization import Principal
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from resolvers.imports.importer import import_model
from resolvers.imports.outcome import ImportSummary, ModelOutcome
from server import lifecycle
from server.mlflow_import import report
from server.mlflow_import.arguments import DEFAULT_ACTOR
from server.mlflow_import.mapping import UnreadableModel, imported_model
from server.mlflow_import.progress import Progress
from server.mlflow_import.reader import (
    Credentials,
    MlflowReader,
    MlflowUnavailable,
    UnsearchableName,
)
from server.settings import get_settings
from storage.database import create_database
from storage.enums import Role

ACTOR_MAX = 256  # the actor columns' width


class ImportStopped(Exception):
    """MLflow stopped answering part-way: what was imported stays, the rest was not read."""

    def __init__(self, summary: ImportSummary, reason: str) -> None:
        super().__init__(reason)
        self.summary = summary


async def run_import(
    url: str,
    credentials: Credentials,
    database_url: str,
    *,
    actor: str = DEFAULT_ACTOR,
    dry_run: bool = False,
    progress_stream: TextIO | None = None,
) -> tuple[str, ImportSummary]:
    """Import every model of the MLflow registry at `url`; returns (origin, summary).

    Raises MlflowUnavailable when the models cannot be listed (nothing was
    written) and ImportStopped when MLflow fails part-way.
    """
    db = create_database(database_url)
    ctx = RequestContext(db, principal=Principal(name=actor, role=Role.ADMIN))
    summary = ImportSummary()
    try:
        async with MlflowReader(url, credentials) as reader:
            origin = f"MLflow at {reader.url}"
            models = await reader.registered_models()
            progress = Progress(len(models), progress_stream or sys.stderr, dry_run=dry_run)
            try:
                for model in models:
                    name = str(model.get("name"))
                    try:
                        source = imported_model(model, await reader.model_versions(name))
                    except (UnreadableModel, UnsearchableName) as error:
                        outcome = ModelOutcome.refused(name, f"UNREADABLE: {error}")
                    except MlflowUnavailable as error:
                        raise ImportStopped(summary, str(error)) from error
                    else:
                        outcome = await import_model(ctx, source, origin=origin, dry_run=dry_run)
                    summary.add(outcome)
                    progress.advance(outcome)
            finally:
                progress.close()
    finally:
        await ctx.close()
        await db.dispose()
    return origin, summary


def import_mlflow(args: argparse.Namespace) -> int:
    problem_of_actor = actor_problem(args.actor)
    if problem_of_actor is not None:
        print(f"modelreg: {problem_of_actor}", file=sys.stderr)
        return 2
    settings = get_settings()
    problem = lifecycle.schema_problem(settings.database_url)
    if problem is not None:
        print(f"modelreg: cannot import: {problem}", file=sys.stderr)
        return 1
    credentials = Credentials(
        token=args.token or settings.mlflow_tracking_token,
        username=settings.mlflow_tracking_username,
        password=settings.mlflow_tracking_password,
    )
    try:
        origin, summary = asyncio.run(
            run_import(
                args.source,
                credentials,
                settings.database_url,
                actor=args.actor,
                dry_run=args.dry_run,
            )
        )
    except MlflowUnavailable as error:
        print(f"modelreg: nothing was imported: {error}", file=sys.stderr)
        return 1
    except ImportStopped as error:
        done = len(error.summary.outcomes)
        print(
            f"modelreg: stopped after {done} models: {error}; the models listed above were "
            "imported, and running the import again continues from there",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(json.dumps(report.as_json(summary, origin=origin, dry_run=args.dry_run), indent=2))
    else:
        print(report.as_text(summary, origin=origin, dry_run=args.dry_run))
    return 1 if summary.refused else 0


def actor_problem(actor: str) -> str | None:
    """Why `--actor` cannot be the name recorded on changes (a token's name rules), or None."""
    if not actor.strip() or len(actor) > ACTOR_MAX:
        return f"--actor must be 1-{ACTOR_MAX} characters, not blank"
    try:
        validation.characters(actor, "--actor", prose=False)
    except BadUserInput as error:
        return error.message
    return None
