"""MLflow's search filter strings, tokenized and parsed by recursive descent.

    filter     := condition ( AND condition )*
    condition  := identifier comparator value
                | identifier [NOT] IN '(' string ( ',' string )* ')'
    identifier := key | entity '.' key        entity: attribute | tag | tags
    key        := word | "quoted" | `quoted`
    value      := 'string' | "string" | integer

As MLflow (mlflow.utils.search_utils.SearchModelUtils and
SearchModelVersionUtils) accepts them: models by `name` and tags, versions also
by `run_id` (also with IN), `source_path` and `version_number` (numeric
comparisons); `=`, `!=`, `LIKE` and `ILIKE` on text; only AND. What MLflow
refuses is refused with MLflow's message, as INVALID_PARAMETER_VALUE. Quoted
strings are taken between their quotes as MLflow takes them (no unescaping).
"""

from collections.abc import Sequence

from mlflow_api.filter_tokens import Kind, Token, invalid, tokenize, unquoted
from resolvers import validation
from resolvers.errors import BadUserInput
from storage.queries.search import Comparator, Condition, Field

FILTER_MAX = 4096
PROMPT_TAG = "mlflow.prompt.is_prompt"

_MODEL_ATTRIBUTES = {"name": Field.NAME}
_VERSION_ATTRIBUTES = {
    "name": Field.NAME,
    "run_id": Field.RUN_ID,
    "source_path": Field.SOURCE,
    "version_number": Field.VERSION,
}
_LIST_KEYS_MODELS = frozenset({"name"})
_LIST_KEYS_VERSIONS = frozenset({"name", "run_id"})
_STRING_COMPARATORS = ("!=", "=", "LIKE", "ILIKE", "IN", "NOT IN")
_TAG_COMPARATORS = ("!=", "=", "LIKE", "ILIKE")
_NUMERIC_COMPARATORS = (">", ">=", "!=", "=", "<", "<=")
_ENTITY_TYPES = ("attribute", "tag", "tags")


class _Parser:
    def __init__(self, text: str, tokens: Sequence[Token], *, versions: bool) -> None:
        self.text = text
        self.tokens = tokens
        self.position = 0
        self.attributes = _VERSION_ATTRIBUTES if versions else _MODEL_ATTRIBUTES
        self.list_keys = _LIST_KEYS_VERSIONS if versions else _LIST_KEYS_MODELS

    def peek(self, offset: int = 0) -> Token | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise invalid(
                f"Invalid filter '{self.text}'. Could not be parsed: it ends in the middle "
                "of a comparison."
            )
        self.position += 1
        return token

    def conditions(self) -> list[Condition]:
        if any(token.kind == Kind.SEMICOLON for token in self.tokens):
            raise invalid(
                f"Search filter contained multiple expression {self.text!r}. "
                "Provide AND-ed expression list."
            )
        found = [self.condition()]
        while self.peek() is not None:
            joiner = self.take()
            if joiner.kind != Kind.WORD or joiner.upper != "AND":
                raise invalid(f"Invalid clause(s) in filter string: {joiner.text}")
            found.append(self.condition())
        return found

    def identifier(self) -> tuple[str, str]:
        """(entity type, key): `name` is ("attribute", "name")."""
        first = self.take()
        if first.kind == Kind.WORD and self._word_is_keyword(first):
            raise invalid(f"Invalid clause(s) in filter string: {first.text}")
        if first.kind not in (Kind.WORD, Kind.QUOTED, Kind.BACKTICKED):
            raise invalid(f"Invalid comparison clause. Expected 'Identifier' found '{first.text}'")
        following = self.peek()
        if following is None or following.kind != Kind.DOT:
            return "attribute", unquoted(first.text)
        self.take()
        key = self.take()
        if key.kind not in (Kind.WORD, Kind.QUOTED, Kind.BACKTICKED, Kind.STRING, Kind.NUMBER):
            raise invalid(f"Invalid comparison clause. Expected 'Identifier' found '{key.text}'")
        if key.kind != Kind.WORD:
            return first.text, unquoted(key.text)
        # An unquoted key runs on over dots, as MLflow splits at the first: tags.a.b is "a.b".
        parts = [key.text]
        while (dot := self.peek()) is not None and dot.kind == Kind.DOT:
            self.take()
            parts.append(self.take().text)
        return first.text, ".".join(parts)

    @staticmethod
    def _word_is_keyword(token: Token) -> bool:
        return token.upper in ("AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL")

    def comparator(self) -> str:
        token = self.take()
        if token.kind == Kind.OPERATOR:
            return token.text
        if token.kind == Kind.WORD:
            if token.upper == "NOT":
                following = self.take()
                if following.upper != "IN":
                    raise invalid(f"Invalid comparator 'NOT {following.text}'")
                return "NOT IN"
            if token.upper == "IS":
                rest = [self.take().upper]
                if rest[0] == "NOT":
                    rest.append(self.take().upper)
                return " ".join(["IS", *rest])
            return token.upper
        raise invalid(f"Invalid comparison clause. Expected comparison found '{token.text}'")

    def condition(self) -> Condition:
        entity, key = self.identifier()
        if entity not in _ENTITY_TYPES:
            raise invalid(f"Invalid entity type '{entity}'. Valid entity types are {_ENTITY_TYPES}")
        comparator = self.comparator()
        if entity in ("tag", "tags"):
            return self.tag_condition(key, comparator)
        field = self.attributes.get(key)
        if field is None:
            raise invalid(
                f"Invalid attribute key '{key}' specified. Valid keys are '{set(self.attributes)}'"
            )
        if field == Field.VERSION:
            return self.number_condition(key, comparator)
        if comparator not in _STRING_COMPARATORS:
            raise invalid(
                f"Invalid comparator '{comparator}' not one of '{set(_STRING_COMPARATORS)}'"
            )
        if comparator in ("IN", "NOT IN"):
            if key not in self.list_keys:
                raise invalid(
                    f"Only {sorted(self.list_keys)} attributes support comparison with a list "
                    "of quoted string values."
                )
            return Condition(field, Comparator(comparator), self.string_list())
        return Condition(field, Comparator(comparator), self.string_value())

    def tag_condition(self, key: str, comparator: str) -> Condition:
        if comparator not in _TAG_COMPARATORS:
            raise invalid(f"Invalid comparator '{comparator}' not one of '{set(_TAG_COMPARATORS)}'")
        value = self.string_value(tag=True)
        # MLflow's client adds `tag.mlflow.prompt.is_prompt != 'true'` to every model
        # search; a model without the tag is not a prompt (SearchModelUtils' special case).
        absent_matches = key == PROMPT_TAG and (comparator, value) in (
            ("!=", "true"),
            ("=", "false"),
        )
        return Condition(
            Field.TAG, Comparator(comparator), value, key=key, absent_matches=absent_matches
        )

    def number_condition(self, key: str, comparator: str) -> Condition:
        if comparator not in _NUMERIC_COMPARATORS:
            raise invalid(
                f"Invalid comparator '{comparator}' not one of '{set(_STRING_COMPARATORS)}'"
            )
        token = self.take()
        text = unquoted(token.text) if token.kind in (Kind.STRING, Kind.QUOTED) else token.text
        if token.kind not in (Kind.NUMBER, Kind.STRING, Kind.QUOTED) or not (
            text.isascii() and text.isdigit()
        ):
            raise invalid(f"Invalid value for numeric attribute '{key}': {token.text!r}")
        number = int(text)
        if number > validation.VERSION_MAX:
            raise invalid(f"Invalid value for numeric attribute '{key}': {token.text!r}")
        return Condition(Field.VERSION, Comparator(comparator), number)

    def string_value(self, *, tag: bool = False) -> str:
        token = self.take()
        if token.kind in (Kind.STRING, Kind.QUOTED):
            return unquoted(token.text)
        if token.kind == Kind.NUMBER and not tag:
            raise invalid(
                "Only the '{'version_number', 'creation_timestamp', 'last_updated_timestamp'}' "
                "attributes support comparison with numeric values."
            )
        what = "tag (e.g. 'my-value')" if tag else "attributes"
        raise invalid(
            f"Expected a quoted string value for {what}. Got value {token.text}"
            if tag
            else "Parameter value is either not quoted or unidentified quote types used for "
            f"string value {token.text}. Use either single or double quotes."
        )

    def string_list(self) -> tuple[str, ...]:
        opening = self.take()
        if opening.kind != Kind.OPEN:
            raise invalid(
                "While parsing a list in the query, expected a non-empty list of string "
                "values, but got ill-formed list."
            )
        values = []
        while True:
            token = self.take()
            if token.kind not in (Kind.STRING, Kind.QUOTED):
                raise invalid(
                    "While parsing a list in the query, expected string value, punctuation, "
                    f"or whitespace, but got different type in list: {token.text}"
                )
            values.append(unquoted(token.text))
            separator = self.take()
            if separator.kind == Kind.CLOSE:
                return tuple(values)
            if separator.kind != Kind.COMMA:
                raise invalid(
                    "While parsing a list in the query, expected a non-empty list of string "
                    "values, but got ill-formed list."
                )


def parse_filter(text: str | None, *, versions: bool) -> list[Condition]:
    """The AND-ed conditions of a models' (or, with `versions`, a versions') filter string."""
    if text is None or not text.strip():
        return []
    if len(text) > FILTER_MAX:
        raise BadUserInput(
            f"the filter is longer than {FILTER_MAX} characters", field="filter", max=FILTER_MAX
        )
    validation.characters(text, "filter", prose=False)
    return _Parser(text, tokenize(text), versions=versions).conditions()
