"""Query cost limits, checked once per distinct query document.

Depth alone does not stop `models(first: 100) { versions(first: 100) { ... } }`
from fanning out to millions of objects, so each list field multiplies the
cost of what it contains by its page size (100 when given as a variable).
"""

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

MAX_DEPTH = 15
MAX_COST = 20_000
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"


def _page_size(field: FieldNode) -> int:
    for argument in field.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return max(1, min(int(argument.value.value), MAX_PAGE_SIZE))
            return MAX_PAGE_SIZE
    return DEFAULT_PAGE_SIZE if field.name.value in _PAGED_FIELDS else 1


_PAGED_FIELDS = frozenset({"models", "versions", "stageHistory"})


class _Measure:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.max_depth = 0

    def cost(self, selection_set: SelectionSetNode | None, depth: int, seen: frozenset[str]) -> int:
        if selection_set is None:
            return 0
        self.max_depth = max(self.max_depth, depth)
        if depth > MAX_DEPTH:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = self.cost(selection.selection_set, depth + 1, seen)
                total += 1 + _page_size(selection) * inner
            elif isinstance(selection, InlineFragmentNode):
                total += self.cost(selection.selection_set, depth, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:  # cycles are reported elsewhere
                    total += self.cost(fragment.selection_set, depth, seen | {name})
        return total


class QueryCostRule(ValidationRule):
    """Reject operations deeper than MAX_DEPTH or costlier than MAX_COST."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.fragments = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        measure = _Measure(self.fragments)
        cost = measure.cost(node.selection_set, 0, frozenset())
        if measure.max_depth > MAX_DEPTH:
            self.report_error(
                GraphQLError(
                    f"query is nested {measure.max_depth} levels deep; the limit is {MAX_DEPTH}",
                    node,
                    extensions={"code": QUERY_TOO_COMPLEX},
                )
            )
        elif cost > MAX_COST:
            self.report_error(
                GraphQLError(
                    f"query may return about {cost} objects; the limit is {MAX_COST}: "
                    "ask for smaller pages",
                    node,
                    extensions={"code": QUERY_TOO_COMPLEX},
                )
            )
