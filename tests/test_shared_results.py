"""SharedResults alone: which documents share a shape; one execution per shape and event."""

import asyncio
from functools import partial

from graphql import OperationDefinitionNode, get_operation_ast, parse

from resolvers.authorization import Principal
from schema.shared_results import EncodedResult, Shape, SharedResults
from storage.enums import Role

ADMIN = Principal(name="a", role=Role.ADMIN)
READER = Principal(name="r", role=Role.READER)


def shape_of(
    query: str, variables: dict[str, object] | None = None, who: Principal = ADMIN
) -> Shape:
    document = parse(query)
    operation = get_operation_ast(document)
    assert isinstance(operation, OperationDefinitionNode)
    return SharedResults().shape(query, document, operation, variables, who)


def test_the_root_fields_arguments_do_not_shape_the_result_its_selection_does() -> None:
    base = shape_of("subscription { registryEvents { type } }")
    assert shape_of('subscription { registryEvents(after: "x") { type } }') == base
    assert shape_of(
        "subscription($a: String, $f: EventFilter) { registryEvents(after: $a, filter: $f) "
        "{ type } }",
        {"a": "WyJldmVudCIsMCwxMl0", "f": {"modelNames": ["m"]}},
    ) == shape_of(
        "subscription($a: String, $f: EventFilter) { registryEvents(after: $a, filter: $f) "
        "{ type } }",
        {"a": "other", "f": {"types": ["tag.set"]}},
    )
    assert shape_of("subscription { registryEvents { type version } }") != base
    assert shape_of("subscription { e: registryEvents { type } }") != base
    assert shape_of("subscription { registryEvents { type } }", who=READER) != base
    with_data = "subscription($d: Boolean!) { registryEvents { type data @include(if: $d) } }"
    assert shape_of(with_data, {"d": True}) != shape_of(with_data, {"d": False})
    fragment = "subscription { registryEvents { ...F } } fragment F on RegistryEvent { %s }"
    assert shape_of(fragment % "type") != shape_of(fragment % "version")


async def test_one_execution_per_shape_and_event_even_when_the_first_caller_is_stopped() -> None:
    shared = SharedResults()
    runs: list[str] = []
    release = asyncio.Event()

    async def execute(name: str) -> EncodedResult:
        runs.append(name)
        await release.wait()
        return EncodedResult({"n": name}, None, payload=f'{{"data":"{name}"}}')

    shape: Shape = ("s",)
    owner = asyncio.create_task(shared.result(shape, "e1", lambda: execute("owner")))
    await asyncio.sleep(0)
    waiters = [
        asyncio.create_task(shared.result(shape, "e1", lambda: execute("waiter"))) for _ in range(3)
    ]
    await asyncio.sleep(0)
    assert runs == ["owner"]
    owner.cancel()  # its client went away mid-execution: one waiter executes instead
    await asyncio.sleep(0)
    release.set()
    got = await asyncio.gather(*waiters)
    assert runs == ["owner", "waiter"]
    assert {r.payload for r in got} == {'{"data":"waiter"}'}

    other = await shared.result(shape, "e2", lambda: execute("next"))
    again = await shared.result(shape, "e2", lambda: execute("again"))
    assert other is again
    assert runs == ["owner", "waiter", "next"]


async def test_kept_results_are_bounded() -> None:
    shared = SharedResults(kept=2)
    runs: list[str] = []

    async def execute(event: str) -> EncodedResult:
        runs.append(event)
        return EncodedResult(None, None, payload="{}")

    for event in ("e1", "e2", "e3", "e1"):
        await shared.result(("s",), event, partial(execute, event))
    assert runs == ["e1", "e2", "e3", "e1"]  # e1 was dropped for e3, so it ran again
