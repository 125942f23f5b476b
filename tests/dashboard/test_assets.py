"""How the dashboard is served: headers, caching, compression, and what its code may not do."""

import gzip
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import dashboard
from server.app import create_app
from server.dashboard import IMMUTABLE, bundled_assets, content_security_policy, load_assets
from server.settings import Settings


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # The dashboard's routes touch no database: the app's lifespan is not needed.
    transport = httpx.ASGITransport(app=create_app(Settings()))
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
        yield client


def asset_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', page)


async def test_the_page_forbids_inline_code_framing_and_other_origins(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = dict(
        ([*directive.split(" ", 1), ""])[:2]
        for directive in response.headers["content-security-policy"].split("; ")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self' ws://registry.test wss://registry.test"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["require-trusted-types-for"] == "'script'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-cache"
    assert "<script>" not in response.text
    assert " style=" not in response.text


def test_a_host_header_that_is_not_a_host_is_not_echoed() -> None:
    for host in ("evil.test; script-src *", "a b", "x'y", ""):
        assert content_security_policy(host).count("connect-src 'self';") == 1
    assert "ws://[::1]:8000" in content_security_policy("[::1]:8000")


async def test_assets_are_cached_for_a_year_under_their_build_and_revalidated_otherwise(
    http: httpx.AsyncClient,
) -> None:
    page = (await http.get("/")).text
    urls = set(asset_urls(page))
    assert len(urls) == len(bundled_assets().files)  # every asset is named: no waterfall
    build = bundled_assets().build
    for url in urls:
        response = await http.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == IMMUTABLE
        assert "content-security-policy" in response.headers
    script = await http.get(f"/assets/{build}/app.js")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    stale = await http.get("/assets/0123456789abcdef/app.js")
    assert stale.status_code == 200
    assert stale.headers["cache-control"] == "no-cache"
    assert stale.content == script.content


async def test_assets_are_sent_compressed_and_revalidate_with_their_etag(
    http: httpx.AsyncClient,
) -> None:
    url = f"/assets/{bundled_assets().build}/app.css"
    plain = await http.get(url, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    packed = await http.get(url, headers={"accept-encoding": "gzip, br"})
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content)
    assert packed.content == plain.content  # httpx decodes it back
    again = await http.get(url, headers={"if-none-match": plain.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    index = await http.get("/", headers={"if-none-match": (await http.get("/")).headers["etag"]})
    assert index.status_code == 304


async def test_only_files_of_the_dashboard_are_served(http: httpx.AsyncClient) -> None:
    build = bundled_assets().build
    for path in (
        f"/assets/{build}/missing.js",
        f"/assets/{build}/../__init__.py",
        f"/assets/{build}/%2e%2e/index.html",
        f"/assets/{build}/..%2f..%2fserver/app.py",
        "/assets/app.js",
    ):
        # (Routing may first redirect to add a slash: where it leads is not an asset either.)
        assert (await http.get(path, follow_redirects=True)).status_code == 404, path


def test_the_build_id_changes_with_any_asset(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "app.js").write_text("export const a = 1;\n")
    (assets / "notes.txt").write_text("not served\n")
    index = tmp_path / "index.html"
    index.write_text('<script type="module" src="{{assets}}/app.js"></script>{{preload}}')
    first = load_assets(assets, index)
    assert set(first.files) == {"app.js"}
    assert f'src="/assets/{first.build}/app.js"' in first.index.body.decode()
    assert f'rel="modulepreload" href="/assets/{first.build}/app.js"' in first.index.body.decode()
    (assets / "app.js").write_text("export const a = 2;\n")
    assert load_assets(assets, index).build != first.build
    (assets / "big.js").write_text("export const b = 'b';\n" * 100)
    packed = load_assets(assets, index).files["big.js"]
    assert packed.gzipped is not None
    assert gzip.decompress(packed.gzipped) == packed.body


SOURCES = sorted(dashboard.ASSETS.rglob("*.js"))
IMPORT = re.compile(r'(?:import|export)\s[^"\']*?from\s+["\'](\.{1,2}/[^"\']+)["\']')
# What would let a string become markup or code: none of it, anywhere.
SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function"
    r"|setAttribute\(\s*[\"']on"
)


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_modules_import_only_assets_that_exist(source: Path) -> None:
    for target in IMPORT.findall(source.read_text()):
        assert (source.parent / target).resolve().is_file(), f"{source.name} imports {target}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_no_module_turns_strings_into_markup_or_code(source: Path) -> None:
    found = SINKS.findall(source.read_text())
    assert not found, f"{source.name} uses {found}"


def test_the_token_is_kept_in_session_storage_only() -> None:
    code = "\n".join(source.read_text() for source in SOURCES)
    assert "localStorage" not in code
    assert "document.cookie" not in code
    assert "console." not in code  # nothing, the token least of all, is logged
