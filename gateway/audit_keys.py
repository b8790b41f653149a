"""The audit trail's keys: HMAC-SHA256 under sub-keys derived (HKDF) from AUDIT_KEY."""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _string
from operator import itemgetter

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.store import Doc

# json.dumps(body, sort_keys=True, separators=(",", ":")), without building an encoder for each
# of the tens of entries a list page appends (a fifth of an entry's cost).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
_SCALARS = (str, int, type(None))


def _value(value: object) -> str:
    """A value as _CANONICAL writes it inside an object."""
    if type(value) is str:
        return _string(value)
    if value is None:
        return "null"
    return int.__repr__(value) if type(value) is int else _CANONICAL(value)


class _Shape:
    """The canonical text of documents with the same keys, as pieces: the text between the
    values that vary from one to the next is encoded once."""

    def __init__(self, first: Doc, varying: set[str]) -> None:
        self._pieces: list[str] = []
        self._slots: list[tuple[int, str]] = []
        text = "{"
        for n, key in enumerate(sorted(first)):
            text += ("," if n else "") + _string(key) + ":"
            if key in varying:
                self._slots.append((len(self._pieces) + 1, key))
                self._pieces += [text, ""]
                text = ""
            else:
                text += _value(first[key])
        self._pieces.append(text + "}")

    def encode(self, doc: Doc) -> str:
        pieces = self._pieces.copy()
        for at, key in self._slots:
            pieces[at] = _value(doc[key])
        return "".join(pieces)


def _varying(docs: Sequence[Doc]) -> set[str]:
    """The keys whose values are not the same scalar, of the same type, in every document
    (`True == 1`, but they are written differently). Counted in C: a page has tens."""
    varying = set()
    for key, value in docs[0].items():
        values = list(map(itemgetter(key), docs))
        alike = values.count(value) == len(values) and len(set(map(type, values))) == 1
        if not alike or type(value) not in _SCALARS:
            varying.add(key)
    return varying


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
        body = {k: v for k, v in doc.items() if k != "mac"} if "mac" in doc else doc
        return self._mac(str(doc.get("prev_mac")), _CANONICAL(body))

    def chain(self, docs: Sequence[Doc], prev_mac: str) -> list[str]:
        """Chain `docs` (entries without their MACs) on from `prev_mac`: set each one's
        prev_mac and mac, in order. The MACs are entry_mac's, which the check recomputes;
        what the entries of one answer share is encoded once. Returns each entry's JSON
        text, MAC included, for the store: the text the MAC was taken over is not encoded
        again."""
        for doc in docs:
            doc.pop("mac", None)
            doc["prev_mac"] = ""
        shape = None
        if len(docs) > 1:  # one entry: its text is encoded once either way
            keys = docs[0].keys()
            if all(d.keys() == keys for d in docs):
                shape = _Shape(docs[0], _varying(docs) | {"prev_mac"})
        texts = []
        for doc in docs:
            doc["prev_mac"] = prev_mac
            canonical = _CANONICAL(doc) if shape is None else shape.encode(doc)
            prev_mac = doc["mac"] = self._mac(prev_mac, canonical)
            texts.append(f'{canonical[:-1]},"mac":"{prev_mac}"}}')
        return texts

    def _mac(self, prev_mac: str, canonical: str) -> str:
        message = prev_mac.encode() + b"|" + canonical.encode()
        return hmac.digest(self.entry, message, "sha256").hex()

    def sign(self, *parts: object) -> str:
        message = "|".join(str(p) for p in parts).encode()
        return hmac.digest(self.checkpoint, message, "sha256").hex()
