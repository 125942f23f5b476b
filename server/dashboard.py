"""The dashboard at `/`: its static assets, served from memory with strict security headers.

The assets are read once, when the app is made. Their URLs carry a build id
(a hash of every asset), so a browser may keep them for a year and still
never runs a stale mix after an upgrade: index.html names the build and is
revalidated on every load. Every response forbids inline script and style,
framing, string-to-HTML sinks (Trusted Types) and connections to any origin
but this one.
"""

import functools
import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

import dashboard

ASSET_PREFIX = "/assets"
# index.html names its assets as `{{assets}}/app.js`: this becomes /assets/<build>.
ASSETS_PLACEHOLDER = "{{assets}}"
# ...and `{{preload}}` a modulepreload link per module, so the browser fetches
# them all at once instead of discovering each import after the last.
PRELOAD_PLACEHOLDER = "{{preload}}"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Smaller than this, gzip's header costs more than it saves.
GZIP_FROM_BYTES = 512
# A Host header worth naming in connect-src (anything else: 'self' alone, which
# CSP Level 3 browsers extend to ws: and wss: of this origin anyway).
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def content_security_policy(host: str | None) -> str:
    """No inline script or style, no framing, connections to this origin (and its WebSocket)."""
    sockets = f" ws://{host} wss://{host}" if host and _HOST.fullmatch(host) else ""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            f"connect-src 'self'{sockets}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            # No string ever becomes HTML: innerHTML and friends throw.
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        )
    )


def security_headers(host: str | None) -> dict[str, str]:
    return {
        "content-security-policy": content_security_policy(host),
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
    }


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, media_type: str) -> "Asset":
        packed = gzip.compress(body, mtime=0) if len(body) >= GZIP_FROM_BYTES else None
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        return cls(body, packed, media_type, etag)


@dataclass(frozen=True, slots=True)
class DashboardAssets:
    build: str
    index: Asset
    files: dict[str, Asset]  # by path below assets/, e.g. `views/models.js`


def load_assets(assets: Path = dashboard.ASSETS, index: Path = dashboard.INDEX) -> DashboardAssets:
    """Every asset with a known media type, and index.html pointing at this build."""
    contents: dict[str, tuple[bytes, str]] = {}
    for path in sorted(assets.rglob("*")):
        media_type = MEDIA_TYPES.get(path.suffix)
        if path.is_file() and media_type is not None:
            contents[path.relative_to(assets).as_posix()] = (path.read_bytes(), media_type)
    digest = hashlib.sha256()
    for name, (body, _) in contents.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
    build = digest.hexdigest()[:16]
    base = f"{ASSET_PREFIX}/{build}"
    preload = "\n".join(
        f'<link rel="modulepreload" href="{base}/{name}">'
        for name in contents
        if name.endswith(".js")
    )
    page = (
        index.read_text(encoding="utf-8")
        .replace(PRELOAD_PLACEHOLDER, preload)
        .replace(ASSETS_PLACEHOLDER, base)
    )
    files = {name: Asset.of(body, media_type) for name, (body, media_type) in contents.items()}
    return DashboardAssets(build, Asset.of(page.encode(), MEDIA_TYPES[".html"]), files)


@functools.cache
def bundled_assets() -> DashboardAssets:
    """The assets shipped in the package, read once per process."""
    return load_assets()


def _respond(request: Request, asset: Asset, cache_control: str) -> Response:
    headers = {
        **security_headers(request.headers.get("host")),
        "cache-control": cache_control,
        "etag": asset.etag,
        "vary": "accept-encoding",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body = asset.gzipped
        headers["content-encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


def add_dashboard_routes(app: FastAPI, assets: DashboardAssets | None = None) -> None:
    """GET / (index.html, revalidated) and GET /assets/<build>/<path> (cached for a year)."""
    loaded = assets or bundled_assets()

    async def index(request: Request) -> Response:
        return _respond(request, loaded.index, REVALIDATE)

    async def asset(request: Request) -> Response:
        found = loaded.files.get(request.path_params["path"])
        if found is None:
            return Response("not found", 404, headers=security_headers(None))
        # Another build's URL (an old page, or a replica mid-upgrade): this build's
        # file, but not to be kept under that name.
        current = request.path_params["build"] == loaded.build
        return _respond(request, found, IMMUTABLE if current else REVALIDATE)

    app.router.add_route("/", index, methods=["GET"], include_in_schema=False)
    app.router.add_route(
        f"{ASSET_PREFIX}/{{build}}/{{path:path}}", asset, methods=["GET"], include_in_schema=False
    )
