"""The child's identity: sealed at rest under a key of its own, a pseudonym everywhere else.

Envelope encryption: every child has a random data key; each report about the child is sealed
with it (AES-GCM, the report id as associated data) and the data key is stored only wrapped
under the master key (`pii_key`, the child reference as associated data). Destroying a child's
wrapped key makes every copy of that child's sealed details unreadable, including copies in
backups of the reports (crypto-erasure).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import unicodedata
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.contracts.school import StudentDetails

KEY_BYTES = 32
NONCE_BYTES = 12
# Marks a data key wrapped under the HKDF-derived key (base64 never contains ':'); a stored
# key without it was wrapped under the legacy derivation and still opens with that.
WRAP_V2 = "v2:"


def _encrypt(aead: AESGCM, plaintext: bytes, *, aad: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + aead.encrypt(nonce, plaintext, aad.encode())).decode()


def _decrypt(aead: AESGCM, blob_b64: str, *, aad: str) -> bytes:
    blob = base64.b64decode(blob_b64)
    return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad.encode())


def normalised_name(name: str) -> str:
    """A name as compared: compatibility forms folded, case folded, whitespace dropped, so
    "Li Ming", " li  ming" and the full-width "Ｌｉ Ｍｉｎｇ" are one name."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def derive(pii_key: bytes, *, purpose: bytes) -> bytes:
    """A key of its own for one purpose (HKDF-SHA256, the purpose as `info`)."""
    return HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(pii_key)


def fingerprint_key(pii_key: bytes) -> bytes:
    """A key of its own for request fingerprints, derived from the PII master key."""
    return derive(pii_key, purpose=b"hulei-request-fingerprint")


def legacy_derive(pii_key: bytes, *, label: bytes) -> bytes:
    """The first derivation, SHA-256 of a label and the key. Kept only where stored data
    depends on it: keys wrapped before WRAP_V2, and every child reference (see Sealer)."""
    return hashlib.sha256(label + pii_key).digest()


def new_data_key() -> bytes:
    return os.urandom(KEY_BYTES)


def seal(payload: dict[str, Any], *, data_key: bytes, record_id: str) -> str:
    """Encrypt a report's private part with its child's data key.

    The record id is associated data: a sealed blob cannot be moved to another record.
    """
    data = json.dumps(payload, separators=(",", ":")).encode()
    return _encrypt(AESGCM(data_key), data, aad=record_id)


def unseal(sealed: str, *, data_key: bytes, record_id: str) -> dict[str, Any]:
    """Raises cryptography's InvalidTag for a wrong key, record id or a tampered blob."""
    result: dict[str, Any] = json.loads(_decrypt(AESGCM(data_key), sealed, aad=record_id))
    return result


class Sealer:
    """Holds the master key: wraps and unwraps children's data keys, derives pseudonyms."""

    def __init__(self, key_b64: str) -> None:
        key = base64.b64decode(key_b64)
        if len(key) != KEY_BYTES:
            raise ValueError("pii_key must be base64 of exactly 32 bytes")
        # Separate keys derived for separate jobs, so no key ever serves two purposes.
        self._kek = AESGCM(derive(key, purpose=b"hulei child data-key wrapping v2"))
        self._legacy_kek = AESGCM(legacy_derive(key, label=b"hulei-child-kek:"))
        # Child references are stored by every service, carried in events and audit entries:
        # a new derivation would give a known child a new reference (a second case, a split
        # history). So the pseudonym key stays on the legacy derivation (pinned by a test).
        self._ref_key = legacy_derive(key, label=b"hulei-child-ref:")
        self.fingerprint_key = fingerprint_key(key)

    def wrap(self, data_key: bytes, *, child_ref: str) -> str:
        # The child reference as associated data: a wrapped key cannot serve another child.
        return WRAP_V2 + _encrypt(self._kek, data_key, aad=child_ref)

    def unwrap(self, wrapped: str, *, child_ref: str) -> bytes:
        if wrapped.startswith(WRAP_V2):
            return _decrypt(self._kek, wrapped.removeprefix(WRAP_V2), aad=child_ref)
        return _decrypt(self._legacy_kek, wrapped, aad=child_ref)

    def child_ref(self, student: StudentDetails, *, school_id: str) -> str:
        """The same child gives the same reference on every report; it reveals nothing."""
        if student.id_number:
            basis = "id:" + "".join(student.id_number.split()).upper()
        else:
            name = normalised_name(student.name)
            basis = f"name:{name}|dob:{student.date_of_birth or ''}|school:{school_id}"
        digest = hmac.new(self._ref_key, basis.encode(), hashlib.sha256).hexdigest()
        return "child-" + digest[:24]
