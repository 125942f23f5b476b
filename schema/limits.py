"""Query cost limits: what a document may ask for, measured before anything runs.

Depth alone does not stop `models(first: 100) { versions(first: 100) { ... } }`
from fanning out to millions of objects, so every list field multiplies the cost
of what it selects by how many items it can return: a connection by its `first`
(its default when absent; given as a variable, the maximum when the document is
validated and the variable's value when it runs), a plain list by the bound in
`LIST_BOUNDS` that the registry enforces on its data.

The measure costs each fragment once and reuses that figure at every spread, so
it is linear in the document's size however often fragments spread each other
(`fragment F0 { ...F1 ...F1 }` doubling 25 times is 2^25 objects, measured in
microseconds). Figures saturate just above the limit, so they stay small ints.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from resolvers import limits
from resolvers.pagination import MAX_PAGE_SIZE

MAX_DEPTH = 15
MAX_COST = 100_000
# Root mutations run one after another, each in its own transaction.
MAX_MUTATIONS = 100
# graphql-core's parser stops here: a bound on parse and validation work that
# holds before any rule runs (some of its rules are quadratic in the fields
# that share a response name). Large dashboard queries use a few hundred.
MAX_TOKENS = 5_000
# The standard introspection query nests three (types > fields > args); more
# (types > fields > type > fields > ...) multiplies by the schema's size each time.
MAX_INTROSPECTION_LISTS = 3
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
_META_FIELDS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}

_SATURATED = MAX_COST + 1

# A list the cost rule does not know: assume the page maximum.
UNLISTED_LIST_BOUND = 100

# The bound of each list field of the GraphQL schema, by `Type.field`.
# tests/test_query_cost.py fails when a list field is missing here.
LIST_BOUNDS: dict[str, int] = {
    "ApiToken.models": limits.TOKEN_MODEL_PATTERNS,
    "Viewer.models": limits.TOKEN_MODEL_PATTERNS,
    "ModelVersion.metrics": limits.METRICS_PER_VERSION,
    "ModelVersion.params": limits.PARAMS_PER_VERSION,
    "ModelVersion.tags": limits.TAGS_PER_OBJECT,
    "ModelVersion.aliases": limits.ALIASES_PER_MODEL,
    "ModelVersion.transitionRequests": limits.LISTED_REQUESTS_OF_VERSION,
    "RegisteredModel.tags": limits.TAGS_PER_OBJECT,
    "RegisteredModel.aliases": limits.ALIASES_PER_MODEL,
    "RegisteredModel.stagingVersions": limits.LISTED_STAGING_VERSIONS,
    "Query.stagePolicies": limits.STAGES,
    "StagePolicy.requiredChecks": limits.POLICY_CHECKS,
    "AliasPolicy.requiredChecks": limits.POLICY_CHECKS,
    "Query.aliasPolicies": 2 * limits.ALIAS_POLICIES_PER_SCOPE,  # a model's and the global ones
    "TransitionRequest.requiredChecks": limits.POLICY_CHECKS,
    "TransitionRequest.approvals": limits.LISTED_REVIEWS,
    "TransitionRequest.rejections": limits.LISTED_REVIEWS,
    "TransitionRequest.comments": limits.LISTED_REVIEWS,
    "TransitionRequest.checks": limits.LISTED_CHECK_REPORTS,
    "TransitionRequest.checkHistory": limits.LISTED_CHECK_REPORTS,
    "TransitionStagePayload.archived": limits.LISTED_ARCHIVED,
    "Webhook.events": limits.FILTER_VALUES,
    "Webhook.modelNames": limits.FILTER_VALUES,
    "Webhook.stages": limits.STAGES,
    "WebhookDelivery.attempts": limits.LISTED_ATTEMPTS,
    "VersionComparison.versions": limits.COMPARED_VERSIONS_MAX,
    "MetricComparison.values": limits.COMPARED_VERSIONS_MAX,
    "ParamComparison.values": limits.COMPARED_VERSIONS_MAX,
}


# A model card can hold 64 KiB: it counts as that many 1 KiB objects, so that a
# document cannot ask for thousands of them (versions(first: 100) {
# modelCardHistory(first: 100) { modelCard } } is 640 MB of text).
CARD_COST = limits.MODEL_CARD_MAX_BYTES // 1024
# Fields that cost more than one object, by `Type.field`.
FIELD_COSTS: dict[str, int] = {
    "ModelVersion.modelCard": CARD_COST,
    "ModelCardRevision.modelCard": CARD_COST,
    "ModelCardRevision.previousModelCard": CARD_COST,
}


@dataclass(frozen=True, slots=True)
class _Figure:
    cost: int  # objects the selection may return
    depth: int  # nested selection sets, this one included
    width: int  # fields selected directly (through fragments too)
    introspection_lists: int = 0  # introspection lists nested in one another


def _saturating(value: int) -> int:
    return min(value, _SATURATED)


# What a `first: $variable` counts: None stands for "the largest page".
Variables = Mapping[str, Any] | None


def _page_size(field: FieldNode, argument_default: Any, variables: Variables) -> int:
    for argument in field.arguments or ():
        if argument.name.value == "first":
            value: Any = None
            if isinstance(argument.value, IntValueNode):
                # Too many digits for an Int (validation refuses it; int() would raise).
                literal = argument.value.value
                value = int(literal) if len(literal) <= 10 else MAX_PAGE_SIZE
            elif isinstance(argument.value, VariableNode) and variables is not None:
                value = variables.get(argument.value.name.value)
            if isinstance(value, int):
                return max(1, min(value, MAX_PAGE_SIZE))
            return MAX_PAGE_SIZE
    if isinstance(argument_default, int):
        return max(1, min(argument_default, MAX_PAGE_SIZE))
    return MAX_PAGE_SIZE


class _Measure:
    """Costs of selection sets under a schema, each fragment measured once."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: Variables) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = variables
        self.query_type = schema.query_type
        self._fragment_figures: dict[str, _Figure] = {}
        self._measuring: set[str] = set()

    def selection_set(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None
    ) -> _Figure:
        if selection_set is None:
            return _Figure(0, 0, 0)
        cost = depth = width = introspection_lists = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                figure = self._field(selection, parent)
                depth = max(depth, figure.depth + 1)
                width += 1
            else:
                if isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    inner = self.schema.get_type(condition.name.value) if condition else parent
                    figure = self.selection_set(selection.selection_set, inner)
                elif isinstance(selection, FragmentSpreadNode):
                    figure = self._fragment(selection.name.value)
                else:
                    continue
                depth = max(depth, figure.depth)
                width += figure.width
            cost = _saturating(cost + figure.cost)
            width = _saturating(width)
            introspection_lists = max(introspection_lists, figure.introspection_lists)
        return _Figure(cost, depth, width, introspection_lists)

    def _fragment(self, name: str) -> _Figure:
        known = self._fragment_figures.get(name)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self._measuring:
            return _Figure(0, 0, 0)  # unknown fragments and cycles are reported by other rules
        self._measuring.add(name)
        figure = self.selection_set(
            fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value)
        )
        self._measuring.discard(name)
        self._fragment_figures[name] = figure
        return figure

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> _Figure:
        definition = _META_FIELDS.get(node.name.value) if parent is self.query_type else None
        if definition is None and isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
        if definition is None:  # __typename, or an unknown field (another rule reports it)
            inner = self.selection_set(node.selection_set, None)
            return _Figure(_saturating(1 + inner.cost), inner.depth, 1, inner.introspection_lists)
        field_type = definition.type
        inner = self.selection_set(node.selection_set, get_named_type(field_type))
        listed = isinstance(get_nullable_type(field_type), GraphQLList)
        if parent is not None and parent.name.startswith("__"):
            # Introspection: sized by the schema, not by data. Each list counts its
            # selection once; nesting lists (types > fields > args) is capped instead.
            nested = inner.introspection_lists + (1 if listed else 0)
            return _Figure(_saturating(1 + inner.cost), inner.depth, 1, nested)
        if "first" in definition.args:
            default = definition.args["first"].default_value
            multiplier = _page_size(node, default, self.variables)
        elif isinstance(get_nullable_type(field_type), GraphQLList):
            multiplier = _list_bound(parent, node.name.value)
        else:
            multiplier = 1
        own = FIELD_COSTS.get(f"{parent.name}.{node.name.value}", 1) if parent else 1
        cost = _saturating(own + multiplier * inner.cost)
        return _Figure(cost, inner.depth, 1, inner.introspection_lists)


def _list_bound(parent: GraphQLNamedType | None, field: str) -> int:
    if parent is None:
        return UNLISTED_LIST_BOUND
    if parent.name.endswith("Connection") and field == "edges":
        return 1  # the connection field was already multiplied by its page size
    return LIST_BOUNDS.get(f"{parent.name}.{field}", UNLISTED_LIST_BOUND)


def operation_problem(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Variables = None,
) -> str | None:
    """Why `operation` may not run (too deep, too costly, too many mutations), or None.

    With `variables` None, every `first: $variable` counts as the largest page.
    """
    root = schema.get_root_type(operation.operation)
    figure = _Measure(schema, document, variables).selection_set(operation.selection_set, root)
    levels = figure.depth - 1  # the operation's own selection set is level 0
    if levels > MAX_DEPTH:
        return f"query is nested {levels} levels deep; the limit is {MAX_DEPTH}"
    if figure.cost > MAX_COST:
        shown = f"more than {MAX_COST}" if figure.cost >= _SATURATED else str(figure.cost)
        return (
            f"query may return {shown} objects; the limit is {MAX_COST}: "
            "ask for smaller pages or fewer fields"
        )
    if figure.introspection_lists > MAX_INTROSPECTION_LISTS:
        return (
            f"introspection nests {figure.introspection_lists} lists in one another; "
            f"the limit is {MAX_INTROSPECTION_LISTS} (types > fields > args)"
        )
    if operation.operation == OperationType.MUTATION and figure.width > MAX_MUTATIONS:
        return f"a request may run at most {MAX_MUTATIONS} mutations"
    return None


def _smallest_pages(operation: OperationDefinitionNode) -> dict[str, int]:
    return {v.variable.name.value: 1 for v in operation.variable_definitions or ()}


def needs_variables(schema: GraphQLSchema, document: DocumentNode) -> bool:
    """Whether some operation's cost can only be judged with its variables' values.

    True when it is over the limit with the largest pages but not with the smallest.
    """
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return any(
        operation_problem(schema, document, operation) is not None
        and operation_problem(schema, document, operation, _smallest_pages(operation)) is None
        for operation in operations
    )


def request_problem(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Variables,
) -> str | None:
    """The cost check of the operation a request runs, with its variables' values."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None  # execution reports the missing operation
    return operation_problem(schema, document, operation, variables or {})


class QueryCostRule(ValidationRule):
    """Refuse operations too deep, too costly, or with too many mutations.

    An operation whose cost turns on its variables' page sizes passes here and
    is checked again, with the values, for each request (`request_problem`).
    """

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        # Depth and mutation counts do not turn on variables; with the smallest
        # pages, a cost over the limit is over it whatever the values.
        smallest = _smallest_pages(node)
        problem = operation_problem(self.context.schema, self.context.document, node, smallest)
        if problem is not None:
            self.report_error(GraphQLError(problem, node, extensions={"code": QUERY_TOO_COMPLEX}))
