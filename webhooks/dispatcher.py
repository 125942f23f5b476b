"""The dispatcher: claims due deliveries, sends them, records every attempt.

Runs inside `modelreg serve` and as `modelreg worker`; several may share one
database. Each claim is a lease: a crashed dispatcher's deliveries become
claimable again when it expires, so delivery is at-least-once, and a
duplicate carries the same `webhook-id`.

Sends happen outside any transaction. Results are written in batches by one
task, so a burst of fast endpoints costs a few transactions, not one each.
"""

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from storage.clock import utcnow
from storage.database import Database
from storage.queries import deliveries, webhooks
from storage.queries.deliveries import AttemptResult, Claimed
from webhooks import message, sealing
from webhooks import metrics as delivery_metrics
from webhooks.config import DeliveryConfig
from webhooks.schedule import next_attempt_at
from webhooks.sealing import SecretBox, SecretUnavailable
from webhooks.sender import Outcome, Sender

logger = logging.getLogger("modelreg.webhooks")


def live_secrets(box: SecretBox, delivery: Claimed, now: datetime) -> list[str]:
    """The current secret, and the previous one while its rotation overlap lasts."""
    return sealing.live_secrets(
        box, delivery.secret, delivery.previous_secret, delivery.previous_secret_expires_at, now
    )


class Dispatcher:
    def __init__(
        self,
        db: Database,
        config: DeliveryConfig,
        *,
        sender: Sender | None = None,
        listen: Callable[[Callable[[], None]], Awaitable[Callable[[], Awaitable[None]]]]
        | None = None,
    ) -> None:
        self._db = db
        self._config = config
        self._box = SecretBox(config.secret_keys)
        self._sender = sender or Sender(
            allow_private_networks=config.allow_private_networks,
            timeout_seconds=config.timeout_seconds,
            connections_per_origin=config.concurrency_per_endpoint,
        )
        self._listen = listen
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._results_ready = asyncio.Event()
        self._results: list[AttemptResult] = []
        self._in_flight: Counter[int] = Counter()
        self._sends: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._stop_listening: Callable[[], Awaitable[None]] | None = None

    def wake(self) -> None:
        """Something may be due now (a commit, a finished delivery): claim without waiting."""
        self._wakeup.set()

    async def start(self) -> None:
        if self._listen is not None:
            self._stop_listening = await self._listen(self.wake)
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="webhook-claims"),
            asyncio.create_task(self._record_loop(), name="webhook-results"),
            asyncio.create_task(self._maintenance_loop(), name="webhook-maintenance"),
        ]

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop claiming, let sends in flight finish (briefly), record what they got.

        The loops are asked to stop rather than cancelled: a task cancelled in
        the middle of a transaction could leave the SQLite writer lock behind.
        Sends still running after the grace period are cancelled (they hold no
        transaction); their leases expire and another dispatcher sends them again.
        """
        self._stopping.set()
        self._wakeup.set()
        self._results_ready.set()
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=grace_seconds)
        for task in self._sends:
            task.cancel()
        await asyncio.gather(*self._sends, return_exceptions=True)
        await asyncio.gather(*self._loops, return_exceptions=True)
        await self._flush()
        if self._stop_listening is not None:
            await self._stop_listening()
        await self._sender.aclose()

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                full = await self._claim_once()
            except Exception:
                logger.exception("claiming webhook deliveries failed; retrying")
                full = False
            if full:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._config.poll_interval_seconds)

    async def _claim_once(self) -> bool:
        """Claim and start what is due; True when capacity, not work, was the limit."""
        free = self._config.max_in_flight - len(self._sends)
        if free <= 0:
            return False
        limit = self._config.concurrency_per_endpoint
        room = {webhook_id: limit - n for webhook_id, n in self._in_flight.items() if n}
        now = utcnow()
        async with self._db.transaction() as conn:
            claimed = await deliveries.claim(
                conn,
                now=now,
                lease_until=now + timedelta(seconds=self._config.lease_seconds),
                limit=free,
                room=room,
                per_webhook=limit,
            )
        for delivery in claimed:
            self._in_flight[delivery.webhook_id] += 1
            task = asyncio.create_task(self._send(delivery))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
        return len(claimed) == free

    async def _send(self, delivery: Claimed) -> None:
        try:
            now = utcnow()
            try:
                secrets = live_secrets(self._box, delivery, now)
            except SecretUnavailable as problem:
                outcome = Outcome(None, 0.0, f"cannot sign: {problem}", None, None)
            else:
                body = message.body(
                    delivery.event_type, delivery.event_created_at, delivery.event_data
                )
                headers = message.headers(delivery.message_id, now, body, secrets)
                try:
                    outcome = await self._sender.post(delivery.url, body, headers)
                except Exception as error:
                    # Recorded as a failed attempt (retried on schedule), never lost.
                    logger.exception("sending delivery %s failed unexpectedly", delivery.id)
                    outcome = Outcome(
                        None, 0.0, f"internal error: {type(error).__name__}", None, None
                    )
            delivery_metrics.attempted(delivery, now, outcome)
            self._results.append(self._result(delivery, now, outcome))
            self._results_ready.set()
        finally:
            self._in_flight[delivery.webhook_id] -= 1

    def _result(self, delivery: Claimed, attempted_at: datetime, outcome: Outcome) -> AttemptResult:
        attempts = delivery.attempt_count + 1
        status, due = deliveries.PENDING, attempted_at
        if outcome.succeeded:
            status = deliveries.SUCCEEDED
        elif outcome.gone:
            status = deliveries.FAILED
        else:
            # Retry-After counts from the answer (RFC 9110), not from when the attempt began.
            answered_at = attempted_at + timedelta(milliseconds=outcome.duration_ms)
            retry_at = next_attempt_at(
                self._config, attempts, answered_at, outcome.retry_after_seconds
            )
            if retry_at is None:
                status = deliveries.FAILED
            else:
                due = retry_at
        return AttemptResult(
            delivery_id=delivery.id,
            webhook_id=delivery.webhook_id,
            attempted_at=attempted_at,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
            response_body=outcome.response_body,
            status=status,
            next_attempt_at=due,
        )

    async def _record_loop(self) -> None:
        while not self._stopping.is_set():
            await self._results_ready.wait()
            try:
                await self._flush()
            except Exception:
                # The leases expire and the deliveries are sent again (same webhook-id).
                logger.exception("recording webhook attempts failed")

    async def _flush(self) -> None:
        self._results_ready.clear()
        batch, self._results = self._results, []
        if not batch:
            return
        now = utcnow()
        async with self._db.transaction() as conn:
            await deliveries.record_attempts(conn, batch)
            await webhooks.record_outcomes(
                conn, [(r.webhook_id, r.status == deliveries.SUCCEEDED) for r in batch], now
            )
            gone_ids = {r.webhook_id for r in batch if r.status_code == 410}
            for gone in gone_ids:
                await webhooks.disable(
                    conn, gone, f"endpoint answered 410 Gone at {now.isoformat()}"
                )
        delivery_metrics.disabled("gone", len(gone_ids))
        # The next delivery of each (endpoint, model) may be claimable now.
        self.wake()

    async def _maintenance_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.maintain()
            except Exception:
                logger.exception("webhook maintenance failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), self._config.maintenance_interval_seconds
                )

    async def maintain(self) -> None:
        """Disable endpoints failing for too long; prune the delivery log."""
        now = utcnow()
        since = now - timedelta(seconds=self._config.disable_after_seconds)
        reason = (
            f"every delivery failed for more than {self._config.disable_after_seconds:g} s "
            f"(checked {now.isoformat()})"
        )
        async with self._db.transaction() as conn:
            disabled = await webhooks.disable_failing(conn, since, reason)
            pruned = await deliveries.prune(
                conn, now - timedelta(seconds=self._config.retention_seconds)
            )
        delivery_metrics.disabled("failing", len(disabled))
        if disabled:
            logger.warning("disabled failing webhooks %s", disabled)
        if pruned:
            logger.info("pruned %d old webhook deliveries", pruned)
