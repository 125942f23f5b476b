"""Liveness and readiness probes."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database answers; load balancers should route here."""
    try:
        async with request.app.state.db.read() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as error:
        return JSONResponse({"status": "unavailable", "error": type(error).__name__}, 503)
    return JSONResponse({"status": "ok"})
