"""The real thing: `modelreg serve --workers 2` on SQLite, as `make run` starts it."""

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.graphql import CREATE_VERSION

MODELREG = str(Path(sys.executable).with_name("modelreg"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(database: Path) -> dict[str, str]:
    return {**os.environ, "MODELREG_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}


def wait_until_ready(process: subprocess.Popen[bytes], url: str, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        # Between polls, wait on the other way this can end: the server exiting.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.05)
            raise AssertionError(f"server exited with {process.returncode} before it was ready")
    raise AssertionError(f"{url} was not ready within {deadline_s} s")


def create_token(env: dict[str, str], role: str = "admin", *extra: str) -> tuple[str, str]:
    """`modelreg token create` on the database of `env`; returns (name, token)."""
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    result = subprocess.run(
        [MODELREG, "token", "create", "--name", name, "--role", role, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return name, result.stdout.strip()


@dataclass(frozen=True)
class Served:
    base: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def open_production_gate(served: Served) -> None:
    """These tests promote directly: no approval for PRODUCTION (the default wants one)."""
    query = "mutation { setStagePolicy(input: {stage: PRODUCTION}) { policy { gated } } }"
    response = httpx.post(
        f"{served.base}/graphql", json={"query": query}, headers=served.headers, timeout=30
    )
    assert response.json()["data"]["setStagePolicy"]["policy"]["gated"] is False, response.text


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    database = tmp_path / "served.db"
    env = environment(database)
    subprocess.run([MODELREG, "db", "upgrade"], env=env, check=True, capture_output=True)
    _, token = create_token(env)
    port = free_port()
    command = [MODELREG, "serve", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, f"{base}/readyz")
        served = Served(base, token)
        open_production_gate(served)
        yield served
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_two_workers_share_one_sqlite_file(served: Served) -> None:
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(
        base_url=served.base, limits=limits, timeout=30, headers=served.headers
    ) as client:

        async def create(i: int) -> int:
            payload = {"modelName": "served", "source": f"s3://runs/{i}"}
            response = await client.post(
                "/graphql", json={"query": CREATE_VERSION, "variables": {"input": payload}}
            )
            body = response.json()
            assert "errors" not in body, body
            version: int = body["data"]["createModelVersion"]["modelVersion"]["version"]
            return version

        versions = await asyncio.gather(*(create(i) for i in range(60)))
    assert sorted(versions) == list(range(1, 61))


def test_serve_refuses_a_database_that_was_not_migrated(tmp_path: Path) -> None:
    command = [MODELREG, "serve", "--port", str(free_port())]
    result = subprocess.run(
        command, env=environment(tmp_path / "new.db"), capture_output=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert b"modelreg db upgrade" in result.stderr


def cli(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELREG_URL": served.base, "MODELREG_TOKEN": served.token}
    return subprocess.run(
        [MODELREG, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_ci_commands_register_promote_roll_back_and_resolve(served: Served) -> None:
    for run in ("run-1", "run-2"):
        result = cli(
            served, "register", "fraud", "--source", f"s3://m/{run}", "--run-id", run,
            "--metric", "auc=0.9", "--tag", "team=risk",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["modelVersion"]["version"] == 2

    assert cli(served, "transition", "fraud", "1", "production").returncode == 0
    promoted = cli(served, "transition", "fraud", "2", "Production", "--comment", "better")
    assert json.loads(promoted.stdout)["archived"] == [{"version": 1, "stage": "ARCHIVED"}]

    rolled = json.loads(cli(served, "rollback", "fraud").stdout)
    assert rolled["restored"]["version"] == 1
    resolved = json.loads(cli(served, "resolve", "models:/fraud/production").stdout)
    assert resolved["source"] == "s3://m/run-1"


def test_ci_commands_set_and_remove_a_model_card_from_a_file(
    served: Served, tmp_path: Path
) -> None:
    card = tmp_path / "card.md"
    card.write_text("# fraud\n\nTrained on 2025 data; ünïcode kept.\n", encoding="utf-8")
    registered = cli(served, "register", "fraud", "--source", "s3://m/1", "--model-card", str(card))
    assert registered.returncode == 0, registered.stderr
    card.write_text("# fraud, revised\n", encoding="utf-8")
    updated = cli(served, "update-version", "fraud", "1", "--model-card", str(card))
    assert updated.returncode == 0, updated.stderr
    removed = cli(
        served, "update-version", "fraud", "1", "--remove-model-card", "--description", "x"
    )
    assert json.loads(removed.stdout)["modelVersion"]["description"] == "x"
    query = '{ modelVersion(name: "fraud", version: 1) { modelCard modelCardHistory { edges {'
    response = httpx.post(
        f"{served.base}/graphql",
        json={"query": query + " node { modelCard } } } } }"},
        headers=served.headers,
        timeout=30,
    )
    found = response.json()["data"]["modelVersion"]
    assert found["modelCard"] is None
    assert [e["node"]["modelCard"] for e in found["modelCardHistory"]["edges"]] == [
        None,
        "# fraud, revised\n",
        "# fraud\n\nTrained on 2025 data; ünïcode kept.\n",
    ]
    missing = cli(served, "update-version", "fraud", "1", "--model-card", str(tmp_path / "no.md"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("modelreg: cannot read the model card")
    nothing = cli(served, "update-version", "fraud", "1")
    assert nothing.returncode == 1
    assert "--model-card FILE" in nothing.stderr


def test_ci_commands_fail_with_the_error_code(served: Served) -> None:
    cli(served, "register", "fraud", "--source", "s3://m/1")
    again = cli(served, "transition", "fraud", "1", "none")
    assert again.returncode == 1
    assert again.stderr.startswith("modelreg: INVALID_TRANSITION:")
    missing = cli(served, "resolve", "models:/nope/1")
    assert missing.returncode == 1
    assert "NOT_FOUND" in missing.stderr
    bad_metric = cli(served, "register", "fraud", "--source", "s3://x", "--metric", "auc=high")
    assert bad_metric.returncode == 1
    assert "needs a number" in bad_metric.stderr
    unreachable = cli(Served("http://127.0.0.1:9", served.token), "resolve", "models:/fraud/1")
    assert unreachable.returncode == 1
    assert "cannot reach the registry" in unreachable.stderr


@contextlib.contextmanager
def read_only_file(path: Path) -> Iterator[None]:
    """chmod 0444; where that does not stop writes (root), make the file immutable too."""
    path.chmod(0o444)
    immutable = False
    try:
        try:
            os.close(os.open(path, os.O_WRONLY))
        except PermissionError:
            pass  # the mode is enforced: this is what an operator's chmod does
        else:
            # Root ignores the mode bits; chattr +i stops root's writes too.
            made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
            if made.returncode != 0:
                pytest.skip(
                    "running as root, where chmod 0444 does not stop writes, and chattr +i "
                    f"is not available here: {made.stderr.decode().strip()}"
                )
            immutable = True
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o644)


@pytest.mark.parametrize("command", [["serve"], ["worker"]])
def test_a_read_only_database_file_is_refused_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    database = tmp_path / "readonly.db"
    env = environment(database)
    subprocess.run([MODELREG, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = ["--port", str(free_port())] if command == ["serve"] else []
    with read_only_file(database):
        result = subprocess.run(
            [MODELREG, *command, *port], env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("modelreg: cannot ")
    assert f"the database file {database} (or its directory) is read-only" in line
