"""Re-sealing every stored webhook secret with the current key, for key rotation.

One transaction: either every secret (and every previous secret still kept
for a rotation overlap) is sealed with the current key, or, when any of them
cannot be opened with the configured keys, nothing changes.
"""

from storage.database import Database
from storage.queries import webhooks
from webhooks.sealing import SecretBox, SecretUnavailable


async def reseal_all(db: Database, box: SecretBox) -> int:
    """Seal every stored secret anew with `box`'s current key; returns how many webhooks."""
    async with db.transaction() as conn:
        stored = await webhooks.sealed_secrets(conn)
        resealed: list[tuple[int, str, str | None]] = []
        problems: list[str] = []
        for webhook_id, secret, previous in stored:
            try:
                again = box.seal(box.open(secret))
                previous_again = box.seal(box.open(previous)) if previous else None
            except SecretUnavailable as problem:
                problems.append(f"webhook {webhook_id}: {problem}")
                continue
            resealed.append((webhook_id, again, previous_again))
        if problems:
            shown = "; ".join(problems[:3]) + (
                f" (and {len(problems) - 3} more)" * (len(problems) > 3)
            )
            raise SecretUnavailable(f"nothing was changed: {shown}")
        await webhooks.set_sealed_secrets(conn, resealed)
    return len(resealed)
