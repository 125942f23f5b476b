"""MLflow filter strings and order_by clauses: what MLflow accepts, and its refusals."""

import pytest

from mlflow_api.filters import parse_filter
from mlflow_api.ordering import DEFAULT_VERSION_ORDER, parse_order_by
from resolvers.errors import BadUserInput
from storage.queries.search import Comparator, Condition, Field, Sort, SortKey

EQ, NE, LIKE, ILIKE = Comparator.EQ, Comparator.NE, Comparator.LIKE, Comparator.ILIKE


@pytest.mark.parametrize(
    ("text", "versions", "expected"),
    [
        ("", False, []),
        ("name = 'fraud'", False, [Condition(Field.NAME, EQ, "fraud")]),
        ('attribute.name != "a b"', False, [Condition(Field.NAME, NE, "a b")]),
        (
            "name like 'fr%' and tags.team ILIKE '%Risk%'",
            False,
            [Condition(Field.NAME, LIKE, "fr%"), Condition(Field.TAG, ILIKE, "%Risk%", key="team")],
        ),
        ("tags.`my key` = 'v'", False, [Condition(Field.TAG, EQ, "v", key="my key")]),
        ("tag.\"a.b\" = 'v'", False, [Condition(Field.TAG, EQ, "v", key="a.b")]),
        ("tags.model.type = 'v'", False, [Condition(Field.TAG, EQ, "v", key="model.type")]),
        (
            "name IN ('a', \"b\")",
            False,
            [Condition(Field.NAME, Comparator.IN, ("a", "b"))],
        ),
        (
            "run_id NOT IN ('r1') AND version_number >= 3 AND source_path = 's3://x'",
            True,
            [
                Condition(Field.RUN_ID, Comparator.NOT_IN, ("r1",)),
                Condition(Field.VERSION, Comparator.GE, 3),
                Condition(Field.SOURCE, EQ, "s3://x"),
            ],
        ),
        ("version_number = '2'", True, [Condition(Field.VERSION, EQ, 2)]),
        # Taken between the quotes as MLflow takes it (no unescaping).
        ("name = 'it''s'", False, [Condition(Field.NAME, EQ, "it''s")]),
        (
            "tag.`mlflow.prompt.is_prompt` != 'true'",
            False,
            [Condition(Field.TAG, NE, "true", key="mlflow.prompt.is_prompt", absent_matches=True)],
        ),
    ],
)
def test_accepted(text: str, versions: bool, expected: list[Condition]) -> None:
    assert parse_filter(text, versions=versions) == expected


@pytest.mark.parametrize(
    ("text", "versions", "message"),
    [
        ("name = x", False, "Parameter value is either not quoted"),
        ("name = 'a' OR name = 'b'", False, "Invalid clause(s) in filter string: OR"),
        ("color = 'red'", False, "Invalid attribute key 'color' specified"),
        ("run_id = 'r'", False, "Invalid attribute key 'run_id' specified"),
        ("metrics.auc > 1", False, "Invalid entity type 'metrics'"),
        ("tags.t > 'a'", False, "Invalid comparator '>'"),
        ("name > 'a'", False, "Invalid comparator '>'"),
        ("source_path IN ('a')", True, "Only ['name', 'run_id'] attributes support"),
        ("version_number LIKE '1%'", True, "Invalid comparator 'LIKE'"),
        ("version_number = 'one'", True, "Invalid value for numeric attribute"),
        ("name = 1", False, "support comparison with numeric values"),
        ("name = 'a'; name = 'b'", False, "Search filter contained multiple expression"),
        ("name = 'open", False, "Could not be parsed"),
        ("name = 'a' AND", False, "Could not be parsed"),
        ("name IN ('a' 'b')", False, "ill-formed list"),
        ("name IN ()", False, "expected string value"),
        ("name IS NULL", False, "Invalid comparator 'IS NULL'"),
        ("name = 'a' name = 'b'", False, "Invalid clause(s)"),
        ("name ~ 'a'", False, "Could not be parsed"),
    ],
)
def test_refused_as_mlflow_refuses(text: str, versions: bool, message: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        parse_filter(text, versions=versions)
    assert message in refused.value.message
    assert refused.value.details["field"] == "filter"


def test_order_by() -> None:
    assert parse_order_by([], versions=True) == list(DEFAULT_VERSION_ORDER)
    assert parse_order_by([], versions=False) == []
    assert parse_order_by(["timestamp DESC", "`name` asc"], versions=False) == [
        Sort(SortKey.UPDATED_AT, descending=True),
        Sort(SortKey.NAME),
    ]
    assert parse_order_by(["version_number DESC"], versions=True) == [
        Sort(SortKey.VERSION, descending=True)
    ]
    for bad in (["version_number"], ["name up"], ["name ASC DESC"], ["name", "name"]):
        with pytest.raises(BadUserInput):
            parse_order_by(bad, versions=False)
