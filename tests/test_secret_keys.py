"""Webhook secrets are encrypted at rest by default, old formats still open, keys rotate.

A registry that was never given a key makes one beside its SQLite file on
first start; PostgreSQL replicas must be given one. Passphrases go through
scrypt with a salt (derived once per process), and `modelreg secrets reseal`
moves every stored secret to the current key.
"""

import asyncio
import base64
import hashlib
import os
import stat
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from standardwebhooks import Webhook

from server.secret_keys import SecretKeyProblem, read_or_create, secret_keys
from server.settings import Settings
from storage.database import Database, create_database
from storage.tables import webhooks
from tests.conftest import FAST_WEBHOOKS, serving
from tests.graphql import GraphQLClient, register
from tests.receiver import Receiver
from tests.test_serve_process import MODELREG, create_token, free_port, wait_until_ready
from tests.webhook_client import create_webhook, eventually, nodes, webhook_log
from webhooks import sealing
from webhooks.resealing import reseal_all
from webhooks.sealing import SecretBox, SecretUnavailable

TEST_WEBHOOK = """
mutation($id: ID!) { testWebhook(input: {id: $id}) { success statusCode error } }
"""
ROTATE = """
mutation($id: ID!) { rotateWebhookSecret(input: {id: $id}) { secret } }
"""
OLD_KEY = "old passphrase: correct horse battery staple"
NEW_KEY = Fernet.generate_key().decode()


def key_file(db: Database) -> Path:
    return Path(f"{make_url(db.url).database}.key")


async def stored_secrets(db: Database) -> list[tuple[str, str | None]]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(webhooks.c.secret, webhooks.c.previous_secret).order_by(webhooks.c.id)
        )
        return [(row.secret, row.previous_secret) for row in rows]


async def store_secret(db: Database, webhook_id: str, sealed: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            update(webhooks).where(webhooks.c.id == int(webhook_id)).values(secret=sealed)
        )


def verified(receiver: Receiver, secret: str, index: int = -1) -> dict[str, Any]:
    """The received request at `index`, verified as any Standard Webhooks consumer does."""
    got = receiver.received[index]
    headers = {k: v for k, v in got.headers.items() if k.startswith("webhook-")}
    payload: dict[str, Any] = Webhook(secret).verify(got.body, headers)
    return payload


async def signed_test(api: GraphQLClient, webhook_id: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(TEST_WEBHOOK, {"id": webhook_id}))["testWebhook"]
    return result


def with_keys(*keys: str) -> Settings:
    return FAST_WEBHOOKS.model_copy(
        update={"secret_key": keys[0], "secret_key_previous": tuple(keys[1:])}
    )


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_fresh_start_makes_a_0600_key_file_and_seals_new_secrets_with_it(
    db: Database, receiver: Receiver
) -> None:
    path = key_file(db)
    assert not path.exists()
    async with serving(db, FAST_WEBHOOKS) as api:
        assert file_mode(path) == 0o600
        key = path.read_text().strip()
        Fernet(key.encode())  # a real Fernet key, used as such (no derivation)
        webhook_id, secret = await create_webhook(api, receiver.url())
        ((stored, _),) = await stored_secrets(db)
        assert stored.startswith("fernet2::")  # the empty salt: the key is used directly
        assert not stored.startswith("plain:")
        assert secret.removeprefix("whsec_") not in stored
        token = stored.removeprefix("fernet2::")
        assert Fernet(key.encode()).decrypt(token.encode()).decode() == secret
        # The dispatcher opens it: a delivery is signed with the secret.
        await register(api, "fraud")
        await receiver.wait_for(lambda r: len(r) == 2)
        assert verified(receiver, secret)["type"] in {"model.created", "model_version.created"}
    async with serving(db, FAST_WEBHOOKS) as api:  # a restart reads the same key
        assert path.read_text().strip() == key
        assert (await signed_test(api, webhook_id))["success"] is True
        verified(receiver, secret)


def test_replicas_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "registry.db.key"
    results: list[tuple[str, bool]] = []
    start = threading.Barrier(8)

    def race() -> None:
        start.wait()
        results.append(read_or_create(path))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({key for key, _ in results}) == 1
    assert [made for _, made in results].count(True) == 1
    assert file_mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.db.key"]  # no temporaries


def test_postgresql_needs_a_shared_key_and_says_so() -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/registry"
    with pytest.raises(SecretKeyProblem, match="MODELREG_SECRET_KEY or MODELREG_SECRET_KEY_FILE"):
        secret_keys(Settings(), url)
    missing = Path("/nonexistent/modelreg.key")
    with pytest.raises(SecretKeyProblem, match="does not exist"):
        secret_keys(Settings(secret_key_file=missing), url)
    assert secret_keys(Settings(secret_key="k", secret_key_previous=("j",)), url).keys == (
        "k",
        "j",
    )


def test_a_key_file_given_for_postgresql_is_read(tmp_path: Path) -> None:
    path = tmp_path / "shared.key"
    path.write_text(NEW_KEY + "\n")
    path.chmod(0o600)
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/registry"
    assert secret_keys(Settings(secret_key_file=path), url).keys == (NEW_KEY,)
    with pytest.raises(SecretKeyProblem, match="not both"):
        secret_keys(Settings(secret_key_file=path, secret_key=NEW_KEY), url)


def test_previous_keys_come_as_one_key_or_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELREG_SECRET_KEY_PREVIOUS", "a passphrase, with a comma")
    assert Settings().secret_key_previous == ("a passphrase, with a comma",)
    monkeypatch.setenv("MODELREG_SECRET_KEY_PREVIOUS", '["key-one", "key-two"]')
    monkeypatch.setenv("MODELREG_SECRET_KEY", "key-current")
    assert Settings().secret_key_previous == ("key-one", "key-two")
    assert "key-" not in repr(Settings())  # keys never reach a log line


def test_a_passphrase_is_stretched_with_a_salt_once_per_process() -> None:
    sealing._derived.cache_clear()
    box = SecretBox([OLD_KEY])
    sealed = box.seal("whsec_abc")
    salt, _, token = sealed.removeprefix("fernet2:").partition(":")
    assert salt  # random, per box
    # Neither the passphrase itself nor its plain SHA-256 opens it.
    for weak in (
        base64.urlsafe_b64encode(hashlib.sha256(OLD_KEY.encode()).digest()),
        base64.urlsafe_b64encode(OLD_KEY.encode()[:32].ljust(32, b"\0")),
    ):
        with pytest.raises(Exception):  # noqa: B017, PT011  InvalidToken
            Fernet(weak).decrypt(token.encode())
    for _ in range(200):  # a delivery opens the secret each time: it must not re-derive
        assert box.open(sealed) == "whsec_abc"
    assert sealing._derived.cache_info().misses == 1
    other = SecretBox([OLD_KEY])  # another process: its own salt, the same passphrase
    assert other.seal("whsec_abc").split(":")[1] != salt
    assert other.open(sealed) == "whsec_abc"


def test_values_stored_by_earlier_versions_still_open() -> None:
    legacy_passphrase = Fernet(base64.urlsafe_b64encode(hashlib.sha256(OLD_KEY.encode()).digest()))
    old_fernet = "fernet:" + legacy_passphrase.encrypt(b"whsec_old").decode()
    raw_key_fernet = "fernet:" + Fernet(NEW_KEY.encode()).encrypt(b"whsec_raw").decode()
    assert SecretBox([NEW_KEY]).open("plain:whsec_plain") == "whsec_plain"
    assert SecretBox([OLD_KEY]).open(old_fernet) == "whsec_old"
    assert SecretBox([NEW_KEY, OLD_KEY]).open(old_fernet) == "whsec_old"
    assert SecretBox([NEW_KEY]).open(raw_key_fernet) == "whsec_raw"
    with pytest.raises(SecretUnavailable, match="MODELREG_SECRET_KEY_PREVIOUS"):
        SecretBox([NEW_KEY]).open(old_fernet)
    with pytest.raises(SecretUnavailable, match="unknown format"):
        SecretBox([NEW_KEY]).open("rot13:whsec")
    with pytest.raises(SecretUnavailable, match="no key"):
        SecretBox([]).seal("whsec_x")


async def test_old_plain_and_fernet_rows_sign_deliveries(db: Database, receiver: Receiver) -> None:
    legacy = Fernet(base64.urlsafe_b64encode(hashlib.sha256(OLD_KEY.encode()).digest()))
    async with serving(db, with_keys(OLD_KEY)) as api:
        webhook_id, secret = await create_webhook(api, receiver.url())
        for sealed in ("plain:" + secret, "fernet:" + legacy.encrypt(secret.encode()).decode()):
            await store_secret(db, webhook_id, sealed)
            assert (await signed_test(api, webhook_id))["success"] is True
            assert verified(receiver, secret)["type"] == "webhook.test"


async def test_rotation_with_the_previous_key_then_reseal_drops_the_previous_key(
    db: Database, receiver: Receiver
) -> None:
    async with serving(db, with_keys(OLD_KEY)) as api:
        webhook_id, first = await create_webhook(api, receiver.url())
        second = (await api.data(ROTATE, {"id": webhook_id}))["rotateWebhookSecret"]["secret"]
        (sealed_before,) = await stored_secrets(db)
        assert sealed_before[1] is not None  # the previous secret is kept for the overlap
    # Step 1: the new key is current, the old one previous: everything still opens.
    async with serving(db, with_keys(NEW_KEY, OLD_KEY)) as api:
        assert (await signed_test(api, webhook_id))["success"] is True
        verified(receiver, second)
    # Step 2: re-seal, in one transaction.
    assert await reseal_all(db, SecretBox([NEW_KEY, OLD_KEY])) == 1
    ((sealed, previous),) = await stored_secrets(db)
    assert sealed.startswith("fernet2::")
    assert previous is not None
    assert previous.startswith("fernet2::")
    assert SecretBox([NEW_KEY]).open(sealed) == second
    assert SecretBox([NEW_KEY]).open(previous) == first
    # Step 3: the previous key is no longer needed; the old key alone opens nothing.
    async with serving(db, with_keys(NEW_KEY)) as api:
        assert (await signed_test(api, webhook_id))["success"] is True
        verified(receiver, second)
    async with serving(db, with_keys(OLD_KEY)) as api:
        failed = await signed_test(api, webhook_id)
        assert failed["success"] is False
        assert failed["error"].startswith("cannot sign: secret was encrypted with a key that")


async def test_a_wrong_key_is_a_clear_error_and_reseal_changes_nothing(
    db: Database, receiver: Receiver
) -> None:
    async with serving(db, with_keys(OLD_KEY)) as api:
        webhook_id, _ = await create_webhook(api, receiver.url())
    before = await stored_secrets(db)
    async with serving(db, with_keys(NEW_KEY)) as api:
        failed = await signed_test(api, webhook_id)
        assert failed == {
            "success": False,
            "statusCode": None,
            "error": "cannot sign: secret was encrypted with a key that is not configured: "
            "set MODELREG_SECRET_KEY_PREVIOUS to the key it was sealed with",
        }
        # The dispatcher records the same reason on the delivery's attempts, and goes on.
        await register(api, "fraud")
        log = await eventually(
            lambda: webhook_log(api, webhook_id),
            lambda w: any(d["attempts"] for d in nodes(w)),
        )
        errors = {a["error"] for d in nodes(log) for a in d["attempts"]}
        assert errors == {failed["error"]}
    with pytest.raises(SecretUnavailable, match=f"nothing was changed: webhook {webhook_id}:"):
        await reseal_all(db, SecretBox([NEW_KEY]))
    assert await stored_secrets(db) == before
    assert receiver.received == []


# Real processes on one SQLite file: the key file is what they share.


def _env(database: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MODELREG_SECRET_KEY")}
    return {
        **clean,
        "MODELREG_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "MODELREG_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "MODELREG_WEBHOOK_POLL_INTERVAL_SECONDS": "0.1",
        **extra,
    }


def _spawn(env: dict[str, str], *args: str, stderr: Path | None = None) -> subprocess.Popen[bytes]:
    """`modelreg ARGS` in the background, its stderr in a file if given."""
    if stderr is None:
        return subprocess.Popen([MODELREG, *args], env=env, stdout=subprocess.DEVNULL)
    with stderr.open("wb") as err:
        return subprocess.Popen([MODELREG, *args], env=env, stdout=subprocess.DEVNULL, stderr=err)


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modelreg(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MODELREG, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_serve_makes_the_key_and_a_worker_process_signs_with_it(
    tmp_path: Path, receiver: Receiver
) -> None:
    database = tmp_path / "registry.db"
    env = _env(database, MODELREG_WEBHOOK_DISPATCHER="false")
    assert _modelreg(env, "db", "upgrade").returncode == 0
    _, token = await asyncio.to_thread(create_token, env)
    port = free_port()
    logs = tmp_path / "serve.err"
    serve = _spawn(env, "serve", "--port", str(port), stderr=logs)
    try:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_until_ready, serve, f"{base}/readyz")
        key_path = Path(f"{database}.key")
        assert file_mode(key_path) == 0o600
        assert f"A key for webhook secrets was created in {key_path}" in logs.read_text()
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            api = GraphQLClient(http, token, "admin")
            _, secret = await create_webhook(api, receiver.url(), ["model.created"])
            await register(api, "fraud")
        assert receiver.received == []  # this serve has no dispatcher
        worker = _spawn(_env(database), "worker")
        try:
            await receiver.wait_for(lambda r: len(r) == 1, 30)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        assert verified(receiver, secret)["data"]["model"]["name"] == "fraud"
    finally:
        serve.terminate()
        serve.wait(timeout=30)


async def test_the_reseal_command_rotates_and_refuses_a_wrong_key(
    tmp_path: Path, receiver: Receiver
) -> None:
    database = tmp_path / "registry.db"
    env = _env(database, MODELREG_SECRET_KEY=OLD_KEY)
    assert _modelreg(env, "db", "upgrade").returncode == 0
    db = create_database(env["MODELREG_DATABASE_URL"])
    try:
        async with serving(db, with_keys(OLD_KEY)) as api:
            webhook_id, secret = await create_webhook(api, receiver.url())
        before = await stored_secrets(db)

        wrong = await asyncio.to_thread(
            _modelreg, _env(database, MODELREG_SECRET_KEY=NEW_KEY), "secrets", "reseal"
        )
        assert wrong.returncode == 1
        (line,) = wrong.stderr.strip().splitlines()
        assert line.startswith(f"modelreg: nothing was changed: webhook {webhook_id}: secret was")
        assert await stored_secrets(db) == before

        rotation = _env(database, MODELREG_SECRET_KEY=NEW_KEY, MODELREG_SECRET_KEY_PREVIOUS=OLD_KEY)
        rotated = await asyncio.to_thread(_modelreg, rotation, "secrets", "reseal")
        assert rotated.returncode == 0, rotated.stderr
        assert "re-sealed the secrets of 1 webhook(s)" in rotated.stderr
        ((sealed, _),) = await stored_secrets(db)
        assert SecretBox([NEW_KEY]).open(sealed) == secret
    finally:
        await db.dispose()
    generated = _modelreg(env, "secrets", "generate-key")
    Fernet(generated.stdout.strip().encode())


@pytest.mark.parametrize("backend", ["postgresql"])
def test_serve_on_postgresql_without_a_key_refuses_in_one_line(database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELREG_SECRET_KEY")}
    env["MODELREG_DATABASE_URL"] = database_url
    for command in (["serve", "--port", str(free_port())], ["worker"]):
        result = _modelreg(env, *command)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert "with PostgreSQL set MODELREG_SECRET_KEY or MODELREG_SECRET_KEY_FILE" in line
