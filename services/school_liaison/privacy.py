"""The child's identity: sealed at rest (AES-GCM) and replaced by a pseudonym everywhere else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import unicodedata
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.contracts.school import StudentDetails


class Sealer:
    def __init__(self, key_b64: str) -> None:
        key = base64.b64decode(key_b64)
        if len(key) != 32:
            raise ValueError("pii_key must be base64 of exactly 32 bytes")
        self._aead = AESGCM(key)
        # A separate key for pseudonyms, so the sealing key never doubles as an HMAC key.
        self._ref_key = hashlib.sha256(b"hulei-child-ref:" + key).digest()

    def seal(self, payload: dict[str, Any], *, record_id: str) -> str:
        nonce = os.urandom(12)
        data = json.dumps(payload, separators=(",", ":")).encode()
        # The record id as associated data: a sealed blob cannot be moved to another record.
        blob = nonce + self._aead.encrypt(nonce, data, record_id.encode())
        return base64.b64encode(blob).decode()

    def open(self, sealed: str, *, record_id: str) -> dict[str, Any]:
        blob = base64.b64decode(sealed)
        data = self._aead.decrypt(blob[:12], blob[12:], record_id.encode())
        result: dict[str, Any] = json.loads(data)
        return result

    def child_ref(self, student: StudentDetails, *, school_id: str) -> str:
        """The same child gives the same reference on every report; it reveals nothing."""
        if student.id_number:
            basis = "id:" + "".join(student.id_number.split()).upper()
        else:
            name = unicodedata.normalize("NFKC", student.name).casefold()
            name = "".join(name.split())
            basis = f"name:{name}|dob:{student.date_of_birth or ''}|school:{school_id}"
        digest = hmac.new(self._ref_key, basis.encode(), hashlib.sha256).hexdigest()
        return "child-" + digest[:24]
