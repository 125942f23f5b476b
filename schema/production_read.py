"""The registry's most frequent query, answered without graphql-core's executor.

`query($n: String!) { model(name: $n) { productionVersion { version source ... } } }`
is what serving, CI and dashboards ask in tight loops ("what is in Production
for this model"). Its database read is one indexed lookup; executing it
through graphql-core and strawberry (execution context, field collection,
one resolver wrapper, Info object and argument conversion per field, leaf
completion) was about half of what remained of the request's CPU.

A document of exactly that shape (one query operation, `model` with only its
`name` argument, under it only `productionVersion`, under that only fields of
ModelVersion that are plain attributes of scalar or enum type; aliases
allowed; no fragments, no directives, no variables but the name's `String!`)
gets a plan when it is prepared. Running it does what the schema's resolvers
do (schema/query.py `model`, schema/types.py `productionVersion`): the
argument checks of every root field, the model read with its Production
version, and each leaf serialized by its GraphQL type as graphql-core would.
Anything else, and any error at all (an invalid name, a missing model, the
database), returns None: the request then runs through the executor as
before, which answers and reports it as always. Those are reads, so running
part of one twice changes nothing (the request's DataLoaders even remember
what the first attempt read).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
    get_nullable_type,
    is_leaf_type,
)
from graphql.pyutils import Undefined
from strawberry.types.field import StrawberryField

from resolvers import models, validation
from resolvers.context import RequestContext
from schema.argument_checks import CheckedArguments
from schema.types import ModelVersion

_BACKREF = "strawberry-definition"
Serialize = Callable[[Any], Any]


class _Unplanned(Exception):
    """The document is not of the planned shape."""


@dataclass(frozen=True, slots=True)
class _Leaf:
    key: str  # the response key: the alias, or the field's name
    attribute: str  # ModelVersion's attribute holding the value
    serialize: Serialize
    non_null: bool


@dataclass(frozen=True, slots=True)
class ProductionRead:
    operation: OperationDefinitionNode
    model_key: str
    production_key: str
    # The model's name: given in the document, or the variable that holds it.
    name: str | None
    variable: str | None
    leaves: tuple[_Leaf, ...]

    async def run(
        self, variables: Mapping[str, Any] | None, context: RequestContext
    ) -> dict[str, Any] | None:
        """The response's `data`, or None: run the request through the executor."""
        name = self.name
        if self.variable is not None:
            name = (variables or {}).get(self.variable)
            if not isinstance(name, str):
                return None  # missing, null or not a string: the executor says so
        assert name is not None
        try:
            validation.arguments({"name": name})  # CheckedArguments, as on every root field
            record = await models.get_model(context, name, with_production=True)
            found = await context.loaders.production_version.load(record.id)
            production = None if found is None else self._version(ModelVersion.of(found))
        except Exception:
            return None
        return {self.model_key: {self.production_key: production}}

    def _version(self, version: ModelVersion) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for leaf in self.leaves:
            value = getattr(version, leaf.attribute)
            if value is None:
                if leaf.non_null:
                    raise _Unplanned(leaf.key)  # the executor's error to give
                data[leaf.key] = None
                continue
            serialized = leaf.serialize(value)
            if serialized is None or serialized is Undefined:
                raise _Unplanned(leaf.key)
            data[leaf.key] = serialized
        return data


def plan(schema: GraphQLSchema, document: DocumentNode) -> ProductionRead | None:
    """The plan of a valid document of the production read's shape, or None."""
    try:
        return _plan(schema, document)
    except _Unplanned:
        return None


def _plan(schema: GraphQLSchema, document: DocumentNode) -> ProductionRead:
    if len(document.definitions) != 1:
        raise _Unplanned
    operation = document.definitions[0]
    if not isinstance(operation, OperationDefinitionNode):
        raise _Unplanned
    if operation.operation != OperationType.QUERY or operation.directives:
        raise _Unplanned
    model_node = _only_field(operation.selection_set.selections)
    query = schema.query_type
    assert query is not None
    model_field = _strawberry_field(query, model_node.name.value, "model")
    if [type(e) for e in model_field.extensions] != [CheckedArguments]:
        raise _Unplanned
    name, variable = _name_argument(operation, model_node)
    if model_node.selection_set is None:
        raise _Unplanned
    production_node = _only_field(model_node.selection_set.selections)
    if production_node.arguments:
        raise _Unplanned
    model_type = get_nullable_type(query.fields["model"].type)
    assert isinstance(model_type, GraphQLObjectType)
    production_field = _strawberry_field(
        model_type, production_node.name.value, "productionVersion"
    )
    if production_field.extensions or production_node.selection_set is None:
        raise _Unplanned
    version_type = get_nullable_type(model_type.fields["productionVersion"].type)
    assert isinstance(version_type, GraphQLObjectType)
    leaves = tuple(
        _leaf(version_type, selection) for selection in production_node.selection_set.selections
    )
    return ProductionRead(
        operation,
        _key(model_node),
        _key(production_node),
        name,
        variable,
        leaves,
    )


def _only_field(selections: Any) -> FieldNode:
    if len(selections) != 1:
        raise _Unplanned
    node = selections[0]
    if not isinstance(node, FieldNode) or node.directives:
        raise _Unplanned
    return node


def _strawberry_field(parent: GraphQLObjectType, name: str, expected: str) -> StrawberryField:
    if name != expected:
        raise _Unplanned
    field: GraphQLField = parent.fields[name]
    definition = (field.extensions or {}).get(_BACKREF)
    if not isinstance(definition, StrawberryField) or definition.directives:
        raise _Unplanned
    return definition


def _name_argument(
    operation: OperationDefinitionNode, node: FieldNode
) -> tuple[str | None, str | None]:
    """The model's name as a literal, or the name of the `String!` variable holding it."""
    arguments = node.arguments or ()
    if len(arguments) != 1 or arguments[0].name.value != "name":
        raise _Unplanned
    value = arguments[0].value
    definitions = operation.variable_definitions or ()
    if isinstance(value, StringValueNode) and not definitions:
        return value.value, None
    if not isinstance(value, VariableNode) or len(definitions) != 1:
        raise _Unplanned
    definition = definitions[0]
    declared = definition.type
    if (
        definition.variable.name.value != value.name.value
        or definition.default_value is not None
        or definition.directives
        or not isinstance(declared, NonNullTypeNode)
        or not isinstance(declared.type, NamedTypeNode)
        or declared.type.name.value != "String"
    ):
        raise _Unplanned
    return None, value.name.value


def _leaf(parent: GraphQLObjectType, node: Any) -> _Leaf:
    if not isinstance(node, FieldNode) or node.directives or node.arguments:
        raise _Unplanned
    if node.selection_set is not None or node.name.value not in parent.fields:
        raise _Unplanned  # __typename and the like: the executor's
    field = parent.fields[node.name.value]
    definition = (field.extensions or {}).get(_BACKREF)
    # Only plain attributes: a field with a resolver or extensions runs in the executor.
    if (
        not isinstance(definition, StrawberryField)
        or definition.base_resolver is not None
        or definition.extensions
        or definition.directives
    ):
        raise _Unplanned
    leaf_type = get_nullable_type(field.type)
    if not is_leaf_type(leaf_type):
        raise _Unplanned
    return _Leaf(
        _key(node),
        definition.python_name,
        leaf_type.serialize,  # a scalar or an enum
        isinstance(field.type, GraphQLNonNull),
    )


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias is not None else node.name.value
