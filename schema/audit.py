"""Every root mutation writes an audit row: its own on success, a refusal otherwise.

The extension is added to each Mutation field in schema/schema.py, so a new
mutation cannot forget it.
"""

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
)
from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver
from strawberry.types import Info

from resolvers import audit
from resolvers.audit import AuditEntry
from resolvers.context import RequestContext
from resolvers.errors import RegistryError
from storage.clock import utcnow

# Mutations whose `name` input is a model's name (elsewhere `name` is a token's).
_MODEL_NAMED = {"createModel", "updateModel", "deleteModel"}
INTERNAL = "INTERNAL_SERVER_ERROR"


def entry_for(action: str, arguments: dict[str, Any]) -> AuditEntry:
    """The audit entry of a call, its target guessed from the input (resolvers may refine it)."""
    given = arguments.get("input", arguments)
    model = getattr(given, "model_name", None)
    if model is None and action in _MODEL_NAMED:
        model = getattr(given, "name", None)
    version = getattr(given, "version", None)
    target = f"{model}/{version}" if model and version else model
    if target is None and getattr(given, "id", None) is not None:
        target = f"{action} {given.id}"
    summary = audit.summarize(given)
    return AuditEntry(
        action=action,
        input=summary if isinstance(summary, dict) else {"value": summary},
        model_name=model if isinstance(model, str) else None,
        target=str(target) if target is not None else None,
    )


def attempted_mutations(document: DocumentNode, operation_name: str | None) -> list[str]:
    """The root mutation fields a validated operation asks for, through fragments too."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation != OperationType.MUTATION:
        return []
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    # Validation has ruled out fragment cycles and unknown fragments.
    def fields(selection_set: SelectionSetNode) -> Iterator[str]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):
                    yield selection.name.value
            elif isinstance(selection, InlineFragmentNode):
                yield from fields(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                yield from fields(fragments[selection.name.value].selection_set)

    return list(fields(operation.selection_set))


class AuditedMutation(FieldExtension):
    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        ctx: RequestContext = info.context
        entry = ctx.audit = entry_for(info.field_name, kwargs)
        try:
            result = await next_(source, info, **kwargs)
        except RegistryError as error:
            await self._write_alone(ctx, entry, error.code, error.message)
            raise
        except Exception:
            await self._write_alone(ctx, entry, INTERNAL, None)
            raise
        finally:
            ctx.audit = None
        # Mutations that wrote nothing of their own (testWebhook) are logged too.
        await self._write_alone(ctx, entry, audit.OK, None)
        return result

    @staticmethod
    async def _write_alone(
        ctx: RequestContext, entry: AuditEntry, result: str, message: str | None
    ) -> None:
        if not entry.written:
            await audit.write_alone(
                ctx.db, entry, ctx.caller, result=result, message=message, now=utcnow()
            )
