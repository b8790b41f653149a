"""The audit trail's keys: HMAC-SHA256 under sub-keys derived (HKDF) from AUDIT_KEY."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.store import Doc

# json.dumps(body, sort_keys=True, separators=(",", ":")), without building an encoder for each
# of the tens of entries a list page appends (a fifth of an entry's cost).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


@dataclass(frozen=True)
class AuditKeys:
    """Two keys derived from AUDIT_KEY (HKDF), so chaining and signing never share one."""

    entry: bytes
    checkpoint: bytes

    @classmethod
    def derive(cls, secret: str) -> AuditKeys:
        def sub(info: bytes) -> bytes:
            return HKDF(algorithm=SHA256(), length=32, salt=None, info=info).derive(secret.encode())

        return cls(entry=sub(b"hulei audit entry mac v1"), checkpoint=sub(b"hulei checkpoint v1"))

    def entry_mac(self, doc: Doc) -> str:
        """MAC of a stored entry: its predecessor's MAC and every field but its own MAC."""
        body = {k: v for k, v in doc.items() if k != "mac"}
        canonical = _CANONICAL(body)
        message = str(doc.get("prev_mac")).encode() + b"|" + canonical.encode()
        return hmac.digest(self.entry, message, "sha256").hex()

    def sign(self, *parts: object) -> str:
        message = "|".join(str(p) for p in parts).encode()
        return hmac.digest(self.checkpoint, message, "sha256").hex()
