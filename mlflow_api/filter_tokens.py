"""MLflow filter strings cut into tokens: words, quoted strings, numbers, operators.

Quoted tokens keep their quotes and what is between them as written (a
doubled or backslashed quote stays inside), as sqlparse gives them to MLflow.
"""

import string
from dataclasses import dataclass
from enum import Enum

from resolvers.errors import BadUserInput


class Kind(Enum):
    WORD = "word"
    STRING = "string"  # single-quoted
    QUOTED = "quoted"  # double-quoted: a value or a key
    BACKTICKED = "backticked"
    NUMBER = "number"
    OPERATOR = "operator"
    OPEN = "("
    CLOSE = ")"
    COMMA = ","
    SEMICOLON = ";"
    DOT = "."


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # as written, quotes included

    @property
    def upper(self) -> str:
        return self.text.upper()


def invalid(message: str) -> BadUserInput:
    return BadUserInput(message, field="filter")


_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_PUNCTUATION = {"(": Kind.OPEN, ")": Kind.CLOSE, ",": Kind.COMMA, ";": Kind.SEMICOLON}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "'\"`":
            end = _closing_quote(text, i)
            kind = {"'": Kind.STRING, '"': Kind.QUOTED, "`": Kind.BACKTICKED}[char]
            tokens.append(Token(kind, text[i : end + 1]))
            i = end + 1
        elif char.isascii() and (char.isalpha() or char == "_"):
            end = _run(text, i, _WORD_CHARACTERS)
            tokens.append(Token(Kind.WORD, text[i:end]))
            i = end
        elif _is_digit(char) or (char == "-" and _is_digit(text[i + 1 : i + 2])):
            end = _run(text, i + 1, _NUMBER_CHARACTERS)
            tokens.append(Token(Kind.NUMBER, text[i:end]))
            i = end
        elif char == ".":
            tokens.append(Token(Kind.DOT, "."))
            i += 1
        elif char in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[char], char))
            i += 1
        else:
            operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
            if operator is None:
                raise invalid(f"Invalid filter '{text}'. Could not be parsed.")
            tokens.append(Token(Kind.OPERATOR, operator))
            i += len(operator)
    return tokens


_NUMBER_CHARACTERS = frozenset(string.digits + ".")
_WORD_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_")


def _run(text: str, start: int, allowed: frozenset[str]) -> int:
    """Where the run of `allowed` characters from `start` ends."""
    end = start
    while end < len(text) and text[end] in allowed:
        end += 1
    return end


def _is_digit(char: str) -> bool:
    return len(char) == 1 and "0" <= char <= "9"


def _closing_quote(text: str, start: int) -> int:
    """Where the quoted token starting at `start` ends: a doubled or backslashed quote stays in."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\" and quote != "`":
            i += 2
            continue
        if text[i] == quote:
            if text[i + 1 : i + 2] == quote:
                i += 2
                continue
            return i
        i += 1
    raise invalid(f"Invalid filter '{text}'. Could not be parsed.")


def unquoted(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return text[1:-1]
    return text
