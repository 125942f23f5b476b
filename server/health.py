"""Liveness and readiness probes."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from storage import readiness

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving (it touches nothing else)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database is reachable, migrated to head and writable; 503 with each check if not.

    Load balancers should route here. A database that only refuses writes (a
    held write lock, a read-only file or standby) is reported too: reads
    would still work, writes would fail with DATABASE_BUSY or DATABASE_READ_ONLY.
    """
    checks = await readiness.check(request.app.state.db)
    ready = all(check.ok for check in checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()},
    }
    return JSONResponse(body, 200 if ready else 503)
