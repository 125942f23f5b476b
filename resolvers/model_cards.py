"""Model cards: what a reviewer reads before a version moves on.

A card is Markdown, free text (tab and line breaks allowed, other control
characters refused) of at most `limits.MODEL_CARD_MAX_BYTES` of UTF-8; an
empty or blank card is no card. Every change is a revision (who, when, the
text before and after) and goes out in the `model_version.updated` event. A
stage policy may require a card (`requireModelCard`): checked when a version
enters the stage through `transitionStage` (admins' `force` included: a card
is one call away), through `requestTransition`, and again when the request
executes. `rollback` restores what was in Production before and is not checked.
"""

from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import limits, validation
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, ModelCardRequired
from resolvers.pagination import Page, encode_cursor, make_page, page_request
from resolvers.policies import Policy
from storage.clock import utcnow
from storage.queries import model_cards
from storage.records import CardRevisionRecord, ModelRecord, VersionRecord
from webhooks.payloads import card_json

FIELD: Final = "modelCard"
_CURSOR_KIND = "modelCardHistory"


class Unchanged(Enum):
    """An update that does not mention the card leaves it as it is."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED
# What an update asks of the card: a new text, None (remove it), or nothing.
CardUpdate = str | None | Literal[Unchanged.UNCHANGED]


def checked_card(value: str | None) -> str | None:
    """The card to store: None for no card (None, empty or blank); BAD_USER_INPUT if refused."""
    if value is None or not value.strip():
        return None
    maximum = limits.MODEL_CARD_MAX_BYTES
    # A character is at least one byte: no need to encode a text this long to refuse it.
    if len(value) > maximum:
        raise _too_long(len(value), "characters")
    validation.characters(value, FIELD, prose=True)
    size = len(value.encode())
    if size > maximum:
        raise _too_long(size, "bytes")
    return value


def _too_long(size: int, unit: str) -> BadUserInput:
    maximum = limits.MODEL_CARD_MAX_BYTES
    return BadUserInput(
        f"{FIELD} is {size} {unit} long; at most {maximum} bytes of UTF-8 (64 KiB) are allowed",
        field=FIELD,
        max=maximum,
    )


@dataclass(frozen=True, slots=True)
class CardChange:
    previous: str | None
    current: str | None

    def as_event_data(self, model_name: str, version: int) -> dict[str, Any]:
        """`changes.modelCard` of `model_version.updated`: the card before and after."""
        return {
            "previous": card_json(model_name, version, self.previous),
            "current": card_json(model_name, version, self.current),
        }


async def card_of(conn: AsyncConnection, version: VersionRecord) -> str | None:
    return (await model_cards.cards_of(conn, [version.id])).get(version.id)


async def change_card(
    conn: AsyncConnection, ctx: RequestContext, version: VersionRecord, card: str | None
) -> CardChange | None:
    """Set the version's card in the caller's transaction (the model is locked).

    Returns the change, or None when the card already is `card` (no revision).
    """
    previous = await card_of(conn, version)
    if previous == card:
        return None
    await model_cards.write_card(conn, version.id, card, previous, actor=ctx.actor, now=utcnow())
    return CardChange(previous, card)


def require_card(
    policy: Policy, model: ModelRecord, version: VersionRecord, card: str | None
) -> None:
    """MODEL_CARD_REQUIRED when the target stage's policy wants a card and there is none."""
    if policy.require_model_card and card is None:
        stage = policy.stage.value
        raise ModelCardRequired(
            f"version {version.version} of {model.name!r} has no model card, which {stage} "
            "requires: add one with updateModelVersion(input: {modelCard}) "
            "(or `modelreg update-version --model-card FILE`), then ask again",
            model=model.name,
            version=version.version,
            stage=stage,
            missing=FIELD,
        )


async def check_card(
    conn: AsyncConnection, policy: Policy, model: ModelRecord, version: VersionRecord
) -> None:
    """`require_card`, reading the card only when the policy wants one (most do not)."""
    if policy.require_model_card:
        require_card(policy, model, version, await card_of(conn, version))


async def card_history(
    ctx: RequestContext, version_id: int, *, first: int | None, after: str | None
) -> Page[CardRevisionRecord]:
    """The changes of a version's card, newest first (batched across versions)."""
    page = page_request(first, after, _CURSOR_KIND, (int,), descending=True)
    rows = await ctx.loaders.card_revision_page.load((version_id, page))

    async def count() -> int:
        return await ctx.loaders.card_revision_count.load(version_id)

    return make_page(rows, page, lambda r: encode_cursor(_CURSOR_KIND, r.id), count)
