"""Reading the repository's Dockerfile: its instructions, stage by stage.

Enough of the format for the tests that check the Dockerfile's rules and
replay its steps: comments, `\\` continuations, `AS` stage names, exec-form
(JSON) arguments and `KEY=VALUE` pairs.
"""

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DOCKERFILE = REPOSITORY / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    arguments: str  # as written, continuations joined

    def exec_form(self) -> list[str]:
        """The JSON array form (`["modelreg"]`); fails on the shell form."""
        parsed = json.loads(self.arguments)
        assert isinstance(parsed, list), parsed
        assert all(isinstance(p, str) for p in parsed), parsed
        return parsed

    def options(self) -> tuple[dict[str, str], str]:
        """Leading `--flag=value` options, and the rest."""
        found: dict[str, str] = {}
        rest = self.arguments
        while match := re.match(r"--([\w-]+)=(\S+)\s+", rest):
            found[match.group(1)] = match.group(2)
            rest = rest[match.end() :]
        return found, rest


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"no {keyword} in the stage FROM {self.image}"
        return found[-1]

    def environment(self) -> dict[str, str]:
        """ENV KEY=VALUE pairs, in order (`$PATH` left as written)."""
        pairs: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for word in shlex.split(instruction.arguments):
                key, sep, value = word.partition("=")
                assert sep, f"ENV {instruction.arguments}: use KEY=VALUE"
                pairs[key] = value
        return pairs


def instructions(text: str) -> list[Instruction]:
    found = []
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not logical):
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        keyword, _, arguments = logical.partition(" ")
        found.append(Instruction(keyword.upper(), " ".join(arguments.split())))
        logical = ""
    assert not logical, "the Dockerfile ends inside a continued line"
    return found


def stages(text: str | None = None) -> list[Stage]:
    """The Dockerfile's stages, first to last (the last is the image)."""
    found: list[Stage] = []
    for instruction in instructions(DOCKERFILE.read_text() if text is None else text):
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            found.append(Stage(words[0], name))
        else:
            assert found, f"{instruction.keyword} before the first FROM"
            found[-1].instructions.append(instruction)
    return found
