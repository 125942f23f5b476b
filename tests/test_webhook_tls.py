"""https endpoints: the connection goes to the pinned IP, TLS still checks the real name."""

import datetime
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.receiver import Receiver
from webhooks.transport import PinnedTransport


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name` (PEM files: certificate, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def _tls_receiver(tmp_path: Path, name: str) -> tuple[Receiver, Path]:
    cert, key = _certificate(tmp_path, name)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    return await Receiver().start(server_context), cert


@pytest.fixture
async def localhost_tls(tmp_path: Path) -> AsyncIterator[tuple[Receiver, Path]]:
    receiver, cert = await _tls_receiver(tmp_path, "localhost")
    try:
        yield receiver, cert
    finally:
        await receiver.stop()


async def test_https_connects_to_the_pinned_address_and_verifies_the_name(
    localhost_tls: tuple[Receiver, Path],
) -> None:
    receiver, cert = localhost_tls
    transport = PinnedTransport(allow_private=True, verify=ssl.create_default_context(cafile=cert))
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.post(f"https://localhost:{receiver.port}/hook", content=b"{}")
    assert response.status_code == 200
    # The receiver listens on 127.0.0.1 only: the pinned address `localhost` resolved to.
    (got,) = receiver.received
    assert got.headers["host"] == f"localhost:{receiver.port}"


async def test_a_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    receiver, cert = await _tls_receiver(tmp_path, "other.example")
    try:
        context = ssl.create_default_context(cafile=cert)
        transport = PinnedTransport(allow_private=True, verify=context)
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx.ConnectError, match="certificate"):
                await client.post(f"https://localhost:{receiver.port}/hook", content=b"{}")
        assert receiver.received == []
    finally:
        await receiver.stop()
