"""Liveness and readiness probes."""

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from storage import readiness
from storage.readiness import Check
from webhooks.dispatcher import Dispatcher

# A claim loop turns at least once per poll interval; a claim waiting on a
# busy database (busy timeout, statement timeout) may hold it up to 30 s.
STALLED_AFTER_S = 60.0

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving (it touches nothing else)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database is reachable, migrated to head and writable, and the dispatcher runs.

    503 with each check if not. Load balancers should route here. A database
    that only refuses writes (a held write lock, a read-only file or standby)
    is reported too: reads would still work, writes would fail with
    DATABASE_BUSY or DATABASE_READ_ONLY.
    """
    checks = await readiness.check(request.app.state.db)
    checks["dispatcher"] = dispatcher_check(getattr(request.app.state, "dispatcher", None))
    ready = all(check.ok for check in checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()},
    }
    return JSONResponse(body, 200 if ready else 503)


def dispatcher_check(dispatcher: Dispatcher | None) -> Check:
    """The webhook dispatcher of this process runs, and its claim loop turned recently."""
    if dispatcher is None:
        return Check(True, "not run in this process (MODELREG_WEBHOOK_DISPATCHER=false)")
    if not dispatcher.running:
        return Check(False, "the webhook dispatcher has stopped")
    stalled_after = max(STALLED_AFTER_S, 3 * dispatcher.poll_interval_seconds)
    age = time.monotonic() - (dispatcher.last_tick or 0.0)
    if age > stalled_after:
        return Check(False, f"the webhook dispatcher's claim loop last turned {age:.0f} s ago")
    return Check(True, f"claiming webhook deliveries (last turn {age:.1f} s ago)")
