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
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from storage.clock import utcnow
from storage.database import Database
from storage.queries import deliveries, webhooks
from storage.queries import events as event_log
from storage.queries.deliveries import AttemptResult, Claimed
from storage.wakeups import Listen
from webhooks import message, sealing
from webhooks import metrics as delivery_metrics
from webhooks.config import DeliveryConfig
from webhooks.schedule import next_attempt_at
from webhooks.sealing import SecretBox, SecretUnavailable
from webhooks.sender import Outcome, Sender
from webhooks.tracing import Attribute, start_span

logger = logging.getLogger("modelreg.webhooks")

SHUTDOWN_INTERRUPTED = (
    "interrupted: the dispatcher was stopped (its shutdown grace period ran out) before "
    "the endpoint answered; the endpoint may have received it"
)


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
        listen: Listen | None = None,
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
        self._stopping = asyncio.Event()  # claim nothing more
        self._closing = asyncio.Event()  # sends are over: record the last results and end
        self._results_ready = asyncio.Event()
        self._results: list[AttemptResult] = []
        self._in_flight: Counter[int] = Counter()
        self._sends: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._stop_listening: Callable[[], Awaitable[None]] | None = None
        # Claimed deliveries whose attempt is not recorded yet, and those of them
        # whose request began to go out (the others can be handed back at a stop).
        self._claimed: dict[int, Claimed] = {}
        self._sending: set[int] = set()
        # time.monotonic() of the claim loop's latest turn (for /readyz).
        self.last_tick: float | None = None

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

    @property
    def running(self) -> bool:
        """Started, not stopping, and none of its loops has ended."""
        return (
            bool(self._loops)
            and not self._stopping.is_set()
            and not any(loop.done() for loop in self._loops)
        )

    @property
    def poll_interval_seconds(self) -> float:
        return self._config.poll_interval_seconds

    def stop_claiming(self) -> None:
        """Claim nothing more (sends in flight go on, and their results are recorded)."""
        self._stopping.set()
        self._wakeup.set()

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop claiming, let sends in flight finish within the grace, record what they got.

        The loops are asked to stop rather than cancelled: a task cancelled in
        the middle of a transaction could leave the SQLite writer lock behind.
        Sends still running after the grace period are cancelled (they hold no
        transaction). A delivery whose request had begun to go out gets an
        attempt that says it may have arrived, and is due again at once; one
        that had not (claimed, not yet sent) has its lease released. Either
        way another dispatcher takes it without waiting for the lease to run out.
        """
        deadline = time.monotonic() + grace_seconds
        self.stop_claiming()
        # A claim under way ends first, so every claimed delivery has its send task.
        await asyncio.gather(*self._loops[:1], return_exceptions=True)
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=max(0.0, deadline - time.monotonic()))
        for task in self._sends:
            task.cancel()
        await asyncio.gather(*self._sends, return_exceptions=True)
        self._closing.set()
        self._results_ready.set()
        await asyncio.gather(*self._loops, return_exceptions=True)
        unsent = self._hand_back()
        await self._flush(release=unsent)
        if self._stop_listening is not None:
            await self._stop_listening()
        await self._sender.aclose()

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            self.last_tick = time.monotonic()
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
            self._claimed[delivery.id] = delivery
            self._in_flight[delivery.webhook_id] += 1
            task = asyncio.create_task(self._send(delivery))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
        return len(claimed) == free

    async def _send(self, delivery: Claimed) -> None:
        try:
            with start_span("webhook send", _span_attributes(delivery)) as span:
                now = utcnow()
                outcome = await self._attempt(delivery, now)
                span.set_attribute("modelreg.webhook.outcome", outcome.error or "ok")
                if outcome.status_code is not None:
                    span.set_attribute("http.response.status_code", outcome.status_code)
            self._results.append(self._result(delivery, now, outcome))
            self._claimed.pop(delivery.id, None)
            self._results_ready.set()
            delivery_metrics.attempted(delivery, now, outcome)  # after: it must not lose a result
        finally:
            self._in_flight[delivery.webhook_id] -= 1

    async def _attempt(self, delivery: Claimed, now: datetime) -> Outcome:
        try:
            secrets = live_secrets(self._box, delivery, now)
        except SecretUnavailable as problem:
            return Outcome(None, 0.0, f"cannot sign: {problem}", None, None)
        body = message.body(delivery.event_type, delivery.event_created_at, delivery.event_data)
        headers = message.headers(delivery.message_id, now, body, secrets)
        try:
            return await self._sender.post(
                delivery.url, body, headers, on_sending=lambda: self._sending.add(delivery.id)
            )
        except Exception as error:
            # Recorded as a failed attempt (retried on schedule), never lost.
            logger.exception("sending delivery %s failed unexpectedly", delivery.id)
            return Outcome(None, 0.0, f"internal error: {type(error).__name__}", None, None)

    def _hand_back(self) -> list[int]:
        """After a stop's sends ended: record the interrupted ones, return the unsent ones."""
        now = utcnow()
        unsent: list[int] = []
        for delivery in self._claimed.values():
            if delivery.id not in self._sending:
                unsent.append(delivery.id)
                continue
            self._results.append(
                AttemptResult(
                    delivery_id=delivery.id,
                    webhook_id=delivery.webhook_id,
                    attempted_at=now,
                    status_code=None,
                    duration_ms=0.0,
                    error=SHUTDOWN_INTERRUPTED,
                    response_body=None,
                    status=deliveries.PENDING,
                    next_attempt_at=now,
                )
            )
        if self._claimed:
            logger.info(
                "stopped with %d webhook deliveries handed back unsent and %d interrupted",
                len(unsent),
                len(self._claimed) - len(unsent),
            )
        self._claimed.clear()
        return unsent

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
        while not self._closing.is_set():
            await self._results_ready.wait()
            try:
                await self._flush()
            except Exception:
                # The leases expire and the deliveries are sent again (same webhook-id).
                logger.exception("recording webhook attempts failed")

    async def _flush(self, release: list[int] | None = None) -> None:
        self._results_ready.clear()
        batch, self._results = self._results, []
        if not batch and not release:
            return
        now = utcnow()
        async with self._db.transaction() as conn:
            await deliveries.release(conn, release or [])
            if not batch:
                return
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
        """Disable endpoints failing for too long; prune the delivery log and the event log."""
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
            pruned_events = await event_log.prune(
                conn, now - timedelta(seconds=self._config.event_retention_seconds)
            )
        delivery_metrics.disabled("failing", len(disabled))
        if disabled:
            logger.warning("disabled failing webhooks %s", disabled)
        if pruned:
            logger.info("pruned %d old webhook deliveries", pruned)
        if pruned_events:
            logger.info("pruned %d old events", pruned_events)


def _span_attributes(delivery: Claimed) -> dict[str, Attribute]:
    # Never the URL: a webhook URL may hold a token in its path.
    attributes: dict[str, Attribute] = {
        "modelreg.delivery.id": delivery.id,
        "modelreg.webhook.id": delivery.webhook_id,
        "modelreg.webhook.message_id": delivery.message_id,
        "modelreg.event.type": delivery.event_type,
        "modelreg.delivery.attempt": delivery.attempt_count + 1,
    }
    if delivery.event_request_id is not None:  # the request whose change this announces
        attributes["modelreg.request_id"] = delivery.event_request_id
    return attributes
