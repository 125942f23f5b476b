"""Who is calling, and whether their role and model patterns cover a call."""

from dataclasses import dataclass
from fnmatch import fnmatchcase

from resolvers.errors import Forbidden, Unauthenticated
from storage.enums import Role

ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a token's name, role and model patterns (empty: every model)."""

    name: str
    role: Role
    model_patterns: tuple[str, ...] = ()
    token_id: int | None = None

    def covers(self, model_name: str) -> bool:
        if not self.model_patterns:
            return True
        return any(fnmatchcase(model_name, pattern) for pattern in self.model_patterns)


# Everyone is this principal when MODELREG_AUTH=disabled (local experiments).
UNAUTHENTICATED_ADMIN = Principal(name=ANONYMOUS, role=Role.ADMIN)


def require(
    principal: Principal | None,
    role: Role,
    *,
    model: str | None = None,
    action: str | None = None,
    why_unauthenticated: str = "this call needs a token: send Authorization: Bearer mr_...",
) -> Principal:
    """Return the principal if it may act as `role` (on `model`), else raise.

    UNAUTHENTICATED without a valid token; FORBIDDEN when the role is too low
    or the model is outside the token's patterns.
    """
    if principal is None:
        raise Unauthenticated(why_unauthenticated)
    what = action or "this call"
    if principal.role.rank < role.rank:
        raise Forbidden(
            f"{what} needs the {role.value} role; token {principal.name!r} is "
            f"{principal.role.value}",
            requiredRole=role.value,
        )
    if model is not None and not principal.covers(model):
        raise Forbidden(
            f"token {principal.name!r} may not change model {model!r} "
            f"(it is limited to {', '.join(principal.model_patterns)})",
            model=model,
        )
    return principal
