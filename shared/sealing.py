"""Sealing free text about a child at rest: AES-GCM under a data key of the child's record,
the data key stored only wrapped under a service's master key (HKDF-derived per purpose).
Destroying a wrapped data key makes every copy of what it sealed unreadable (crypto-erasure).
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12


def _encrypt(aead: AESGCM, plaintext: bytes, *, aad: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + aead.encrypt(nonce, plaintext, aad.encode())).decode()


def _decrypt(aead: AESGCM, blob_b64: str, *, aad: str) -> bytes:
    blob = base64.b64decode(blob_b64)
    return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad.encode())


def new_data_key() -> bytes:
    return os.urandom(KEY_BYTES)


def seal_text(text: str, *, data_key: bytes, record_id: str) -> str:
    """The record id is associated data: a sealed text cannot be moved to another record."""
    return _encrypt(AESGCM(data_key), text.encode(), aad=record_id)


def open_text(sealed: str, *, data_key: bytes, record_id: str) -> str:
    """Raises cryptography's InvalidTag for a wrong key, record id or a tampered blob."""
    return _decrypt(AESGCM(data_key), sealed, aad=record_id).decode()


class KeyWrapper:
    """Wraps and unwraps data keys under a key derived from a master key for one purpose."""

    def __init__(self, master_b64: str, *, purpose: bytes) -> None:
        master = base64.b64decode(master_b64)
        if len(master) != KEY_BYTES:
            raise ValueError("the sealing key must be base64 of exactly 32 bytes")
        derived = HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=purpose)
        self._kek = AESGCM(derived.derive(master))

    def wrap(self, data_key: bytes, *, owner: str) -> str:
        return _encrypt(self._kek, data_key, aad=owner)

    def unwrap(self, wrapped: str, *, owner: str) -> bytes:
        return _decrypt(self._kek, wrapped, aad=owner)
