"""An https delivery connects to the address it checked, yet TLS verifies the URL's name: a
local TLS server with a certificate for `localhost` (trusted by the test's client only)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.notifications.settings import Settings
from services.notifications.webhook_rules import Delivery, Subscription, new_secret
from services.notifications.webhook_sender import Sender
from shared.identity import Principal, Role

NOW = datetime.now(UTC)


def self_signed(name: str, folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[int, Path, list[bytes]]]:
    cert, key = self_signed("localhost", tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    heads: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    yield server.sockets[0].getsockname()[1], cert, heads
    server.close()
    await server.wait_closed()


async def send(url: str, *, allow: str, cafile: Path) -> tuple[int | None, str | None]:
    settings = Settings(webhook_allow_hosts=allow, demo_mode=True)
    sub = Subscription(
        id="whs_1",
        owner="client:p",
        principal=Principal(user_id="client:p", role=Role.admin),
        url=url,
        event_types=["task.created"],
        created_at=NOW,
        secret=new_secret(),
    )
    delivery = Delivery(
        id="msg_1",
        subscription_id=sub.id,
        event_id="evt-1",
        event_type="task.created",
        created_at=NOW,
        next_attempt_at=None,
        body="{}",
    )
    verify = ssl.create_default_context(cafile=str(cafile))
    async with httpx.AsyncClient(verify=verify) as client:
        outcome = await Sender(settings, client).send(sub, delivery)
    return outcome.status_code, outcome.error


async def test_https_by_name_is_verified_against_the_name(
    tls_server: tuple[int, Path, list[bytes]],
) -> None:
    port, cert, heads = tls_server
    status, error = await send(f"https://localhost:{port}/x", allow="localhost", cafile=cert)
    assert (status, error) == (204, None)
    assert f"host: localhost:{port}".encode() in heads[0].lower()
    assert b"webhook-signature: v1," in heads[0].lower()
    # The same server by its address: the certificate does not name it, so nothing is sent.
    status, error = await send(f"https://127.0.0.1:{port}/x", allow="127.0.0.1", cafile=cert)
    assert status is None
    assert error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in error
    assert len(heads) == 1


async def test_a_name_resolving_to_loopback_is_refused_at_send_time(
    tls_server: tuple[int, Path, list[bytes]],
) -> None:
    port, cert, heads = tls_server
    # Registered while it pointed elsewhere, `localhost` now resolves to loopback: refused.
    status, error = await send(f"https://localhost:{port}/x", allow="", cafile=cert)
    assert status is None
    assert error is not None
    assert error.startswith("refused: localhost resolves to")
    assert heads == []
