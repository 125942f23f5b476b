"""What stage and alias policies share: their sources, bounds and check names."""

from collections.abc import Sequence
from enum import StrEnum

from resolvers import validation
from resolvers.errors import BadUserInput

CHECK_NAME_MAX = 128
CHECKS_MAX = 20
APPROVALS_MAX = 10


class PolicySource(StrEnum):
    DEFAULT = "DEFAULT"
    GLOBAL = "GLOBAL"
    MODEL = "MODEL"


def describe_needs(required_approvals: int, required_checks: Sequence[str]) -> str:
    """`1 approval and passing checks validation`, for error messages."""
    needs = []
    if required_approvals:
        plural = "s" if required_approvals > 1 else ""
        needs.append(f"{required_approvals} approval{plural}")
    if required_checks:
        needs.append("passing checks " + ", ".join(required_checks))
    return " and ".join(needs) or "nothing"


def required_approvals(value: int) -> int:
    if not 0 <= value <= APPROVALS_MAX:
        raise BadUserInput(
            f"requiredApprovals must be between 0 and {APPROVALS_MAX}", field="requiredApprovals"
        )
    return value


def check_name(name: str, field: str) -> str:
    """A check's name: what CI reports under and what a policy requires."""
    if not 1 <= len(name) <= CHECK_NAME_MAX or not validation.ALIAS_PATTERN.fullmatch(name):
        raise BadUserInput(
            f"check name {name!r} must be 1-{CHECK_NAME_MAX} letters, digits, '_' or '-'",
            field=field,
        )
    return name


def checked_checks(names: Sequence[str]) -> list[str]:
    checked: list[str] = []
    for name in names:
        check_name(name, "requiredChecks")
        if name in checked:
            raise BadUserInput(f"check {name!r} is given twice", field="requiredChecks")
        checked.append(name)
    if len(checked) > CHECKS_MAX:
        raise BadUserInput(f"at most {CHECKS_MAX} required checks", field="requiredChecks")
    return checked
