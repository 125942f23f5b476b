"""NUL, other control characters and bidi overrides: refused as BAD_USER_INPUT everywhere.

PostgreSQL cannot store a NUL (SQLite can), so without a rule of our own the
same call succeeded on one backend and failed with INTERNAL_SERVER_ERROR on the
other. The sweep below builds a call for every text leaf of every argument of
every root field from the schema itself, so an input added later is covered
without anyone remembering to add it here.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)

from resolvers import models, validation
from resolvers.authorization import UNAUTHENTICATED_ADMIN
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from schema.schema import schema
from storage.database import Database
from tests.audit_rows import audit_rows
from tests.graphql import GraphQLClient, register
from tests.snapshot import snapshot

NUL = "\x00"
_SAMPLE_SCALARS: dict[str, Any] = {
    "String": "x",
    "ID": "1",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "DateTime": "2026-01-01T00:00:00+00:00",
    "JSON": {},
}


@dataclass(frozen=True)
class Call:
    """One root field called with a NUL at one text leaf of its arguments."""

    operation: str  # "query" or "mutation"
    field: str
    document: str
    variables: dict[str, Any]
    path: str  # the `extensions.field` the refusal must name

    def __str__(self) -> str:
        return f"{self.field}:{self.path}"


def _sample(type_: GraphQLInputType) -> Any:
    """A value of `type_` with every optional field filled, so every text leaf is present."""
    if isinstance(type_, GraphQLNonNull):
        return _sample(type_.of_type)
    if isinstance(type_, GraphQLList):
        return [_sample(type_.of_type)]
    if isinstance(type_, GraphQLInputObjectType):
        return {name: _sample(field.type) for name, field in type_.fields.items()}
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    assert isinstance(type_, GraphQLScalarType)
    return _SAMPLE_SCALARS[type_.name]


def _text_leaves(
    value: Any, type_: GraphQLInputType, path: list[str | int]
) -> Iterator[list[str | int]]:
    """Paths (names and list indexes) to each String/ID leaf inside `value`."""
    if isinstance(type_, GraphQLNonNull):
        yield from _text_leaves(value, type_.of_type, path)
    elif isinstance(type_, GraphQLList):
        yield from _text_leaves(value[0], type_.of_type, [*path, 0])
    elif isinstance(type_, GraphQLInputObjectType):
        for name, field in type_.fields.items():
            yield from _text_leaves(value[name], field.type, [*path, name])
    elif isinstance(type_, GraphQLScalarType) and type_.name in ("String", "ID"):
        yield path


def _with(value: Any, path: list[str | int], leaf: str) -> Any:
    if not path:
        return leaf
    head, *rest = path
    if isinstance(value, list):
        assert isinstance(head, int)
        return [*value[:head], _with(value[head], rest, leaf), *value[head + 1 :]]
    return {**value, head: _with(value[head], rest, leaf)}


def _selection(field: GraphQLField) -> str:
    return " { __typename }" if isinstance(get_named_type(field.type), GraphQLObjectType) else ""


def sweep() -> Iterator[Call]:
    graphql_schema = schema._schema
    roots = [("query", graphql_schema.query_type), ("mutation", graphql_schema.mutation_type)]
    for operation, root in roots:
        assert root is not None
        for name, field in root.fields.items():
            if not field.args:
                continue
            samples = {arg: _sample(a.type) for arg, a in field.args.items()}
            declared = ", ".join(f"${arg}: {a.type}" for arg, a in field.args.items())
            passed = ", ".join(f"{arg}: ${arg}" for arg in field.args)
            document = f"{operation}({declared}) {{ {name}({passed}){_selection(field)} }}"
            for arg, a in field.args.items():
                for leaf in _text_leaves(samples[arg], a.type, []):
                    names = [p for p in leaf if isinstance(p, str)]
                    path = ".".join(names if arg == "input" else [arg, *names])
                    variables = {**samples, arg: _with(samples[arg], leaf, f"a{NUL}b")}
                    yield Call(operation, name, document, variables, path)


CALLS = list(sweep())


def test_the_sweep_reaches_every_kind_of_input() -> None:
    paths = {str(call) for call in CALLS}
    # Spot checks that the walk reaches nested lists, filters, ids and plain arguments.
    for expected in (
        "createModelVersion:tags.value",
        "createModelVersion:source",
        "models:filter.tags.key",
        "models:filter.nameContains",
        "auditLog:filter.actor",
        "webhook:id",
        "resolveModelUri:uri",
        "reportCheck:detailsUrl",
        "createWebhook:modelNames",
        "createApiToken:name",
        "commentOnTransitionRequest:comment",
        "models:after",
    ):
        assert expected in paths
    assert len(CALLS) > 60


async def test_a_nul_in_any_text_input_is_refused_changes_nothing_and_is_audited(
    api: GraphQLClient, db: Database
) -> None:
    await register(api, "x", description="a model named like the samples")
    before = await snapshot(db)
    rows = len(await audit_rows(db))
    refused_mutations = []
    for call in CALLS:
        response = await api.post(call.document, call.variables)
        body = response.json()
        assert response.status_code == 200, (str(call), body)
        assert len(body["errors"]) == 1, (str(call), body)
        extensions = body["errors"][0]["extensions"]
        assert extensions == {"code": "BAD_USER_INPUT", "field": call.path}, str(call)
        if call.operation == "mutation":
            refused_mutations.append(call)
    assert await snapshot(db) == before
    new_rows = (await audit_rows(db))[rows:]
    assert [row["action"] for row in new_rows] == [call.field for call in refused_mutations]
    for row in new_rows:
        assert row["result"] == "BAD_USER_INPUT"
        stored = json.dumps([row["input"], row["model_name"], row["target"], row["message"]])
        assert NUL not in stored
        assert "\\u0000" in stored


MULTI_LINE = "first line\n\tsecond line\r\n"
BIDI = "\u202eevil\u202c"


async def test_free_text_keeps_tabs_newlines_and_right_to_left_text(api: GraphQLClient) -> None:
    text = f"{MULTI_LINE}{BIDI} \u2067عربى\u2069"
    await register(api, "fraud", description=text, tags=[{"key": "note", "value": text}])
    query = """query { model(name: "fraud") { versions { edges { node {
        description tags { key value } } } } } }"""
    data = await api.data(query)
    node = data["model"]["versions"]["edges"][0]["node"]
    assert node["description"] == text
    assert node["tags"] == [{"key": "note", "value": text}]


@pytest.mark.parametrize(
    ("character", "name"),
    [("\x1b", "ESC"), ("\x7f", "DEL"), ("\x0b", "vertical tab"), ("\x0c", "form feed")],
)
async def test_free_text_refuses_the_other_controls(
    api: GraphQLClient, db: Database, character: str, name: str
) -> None:
    await register(api, "fraud")
    before = await snapshot(db)
    update = """mutation($d: String!) {
      updateModel(input: {name: "fraud", description: $d}) { __typename } }"""
    error = await api.error(update, {"d": f"bold{character}[1m"})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "description"}, name
    assert f"U+{ord(character):04X}" in error["message"]
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("team\nlead", "a control character"),
        ("team\tlead", "a control character"),
        (f"team{BIDI}", "a bidirectional control character"),
        ("team\u2066x\u2069", "a bidirectional control character"),
    ],
)
async def test_identifiers_are_one_line_without_bidi_controls(
    api: GraphQLClient, db: Database, text: str, what: str
) -> None:
    await register(api, "fraud")
    before = await snapshot(db)
    set_tag = """mutation($k: String!) {
      setTag(input: {modelName: "fraud", key: $k, value: "v"}) { __typename } }"""
    error = await api.error(set_tag, {"k": text})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "key"}
    assert what in error["message"]
    source = """mutation($s: String!) {
      createModelVersion(input: {modelName: "fraud", source: $s}) { __typename } }"""
    error = await api.error(source, {"s": f"s3://bucket/{text}"})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "source"}
    assert await snapshot(db) == before
    [*_, tag_row, source_row] = await audit_rows(db)
    assert (tag_row["action"], tag_row["result"]) == ("setTag", "BAD_USER_INPUT")
    assert (source_row["action"], source_row["result"]) == ("createModelVersion", "BAD_USER_INPUT")


async def test_the_use_cases_apply_the_rules_without_graphql(db: Database) -> None:
    """Other doors (the MLflow API, the CLI) call the use cases: the rules hold there too."""
    ctx = RequestContext(db=db, principal=UNAUTHENTICATED_ADMIN)
    try:
        before = await snapshot(db)
        with pytest.raises(BadUserInput) as refused:
            await models.create_model(ctx, name="fraud", description=f"a{NUL}b", tags_=[])
        assert refused.value.extensions == {"code": "BAD_USER_INPUT", "field": "description"}
        with pytest.raises(BadUserInput) as refused:
            await models.create_model(ctx, name="fraud", description="", tags_=[(BIDI, "v")])
        assert refused.value.extensions["field"] == "tags"
        assert await snapshot(db) == before
    finally:
        await ctx.close()


def test_the_audit_log_escapes_what_no_input_may_hold() -> None:
    assert validation.escaped(f"a{NUL}b\u202e\n") == "a\\u0000b\\u202e\n"
    assert validation.escaped("plain ünïcode") == "plain ünïcode"
