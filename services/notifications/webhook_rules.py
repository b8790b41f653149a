"""Pure rules of partner webhooks (docs/webhooks.md): who may subscribe to what, which URLs and
addresses may be called, when to retry, when to give up, and what is sent."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from shared.contracts.webhooks import DeliveryState
from shared.event_views import shown, types_for
from shared.events import Envelope, Timestamp
from shared.identity import Principal

# Retries after the 1st, 2nd, … failed attempt; each delay is jittered by ±JITTER so that many
# deliveries failing together do not come back together. Base total 34.2 h; with the jitter at
# its lowest still 27.4 h, so a receiver is tried for at least 24 h before a delivery fails.
BACKOFF_S = (5, 30, 120, 600, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 12 * 3600)
JITTER = 0.2
MAX_ATTEMPTS = len(BACKOFF_S) + 1
# A subscription whose every attempt has failed for this long is disabled, its admins told.
DISABLE_AFTER = timedelta(hours=24)
MAX_PER_CLIENT = 20  # subscriptions: each event is sent once per subscription
ATTEMPTS_KEPT = 50  # per delivery: redelivered by hand, a delivery's log stays bounded
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class Subscription(BaseModel):
    id: str
    owner: str
    principal: Principal  # the client's role and scope when it subscribed
    url: str
    event_types: list[str]
    description: str | None = None
    active: bool = True
    disabled_reason: str | None = None
    created_at: Timestamp
    failing_since: Timestamp | None = None
    secret: str


class Attempt(BaseModel):
    at: Timestamp
    status_code: int | None
    latency_ms: int
    error: str | None = None


class Delivery(BaseModel):
    id: str  # the webhook-id: one per event and subscription, the same on every attempt
    subscription_id: str
    event_id: str
    event_type: str
    state: DeliveryState = "pending"
    created_at: Timestamp
    next_attempt_at: Timestamp | None
    tries: int = 0  # attempts of the current series (redelivery starts a new one)
    attempts: list[Attempt] = []
    body: str
    case_id: str | None = None
    child_ref: str | None = None


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def delivery_id(*, event_id: str, subscription_id: str) -> str:
    digest = hashlib.sha256(f"{event_id}\n{subscription_id}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


def refused_types(principal: Principal, event_types: Iterable[str]) -> list[str]:
    """The asked types this caller may never see on the stream (unknown ones among them)."""
    allowed = types_for(principal.role)
    return sorted(t for t in set(event_types) if t not in allowed)


def body_of(envelope: Envelope) -> str:
    """Standard Webhooks' payload: {type, timestamp, data}; data as the stream shows it."""
    data = {"event_id": envelope.id, **shown(envelope.type, envelope.data)}
    payload = {"type": envelope.type, "timestamp": envelope.time.isoformat(), "data": data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def retry_delay(tries: int, *, jitter: float) -> timedelta | None:
    """After `tries` failed attempts: the wait before the next, None when the schedule is over.
    `jitter` is in [-1, 1] (the caller draws it)."""
    if tries < 1 or tries > len(BACKOFF_S):
        return None
    return timedelta(seconds=BACKOFF_S[tries - 1] * (1 + JITTER * jitter))


def ok_status(status_code: int | None) -> bool:
    # A redirect is a failure: it is never followed, so nothing was delivered.
    return status_code is not None and 200 <= status_code < 300


def should_disable(subscription: Subscription, *, now: datetime) -> bool:
    since = subscription.failing_since
    return subscription.active and since is not None and now - since >= DISABLE_AFTER


@dataclass(frozen=True)
class AllowList:
    """Hosts and networks an operator trusts: their private addresses and plain http pass."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        hosts, networks = set(), []
        for item in (part.strip().lower() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts or any(
            self.address(ip) for ip in _literal(host)
        )

    def address(self, ip: IP) -> bool:
        return any(ip.version == n.version and ip in n for n in self.networks)


def _literal(host: str) -> list[IP]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        return []


def _embedded(ip: IP) -> IP | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in ipaddress.IPv6Network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_refusal(ip: IP) -> str | None:
    """Why an address may not be called (private, loopback, …), or None for a public one."""
    inner = _embedded(ip)
    if inner is not None and (why := address_refusal(inner)) is not None:
        return why
    for name in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{name}"):
            return f"a {name.replace('_', '-')} address"
    if not ip.is_global:
        return "not a public address"
    return None


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with its query


def parse_url(url: str, *, demo: bool, allow: AllowList) -> Target:
    """The URL's parts, or ValueError saying why it may not be called. An address literal is
    checked here; a name is resolved and checked by the caller (and again at each send)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from exc
    host = parts.hostname or ""
    if not host:
        raise ValueError("the URL names no host")
    if parts.username or parts.password:
        raise ValueError("credentials in the URL are not accepted; the signature authenticates")
    if parts.scheme != "https" and not (parts.scheme == "http" and (demo or allow.host(host))):
        raise ValueError("only https (plain http only to an allow-listed host or in demo mode)")
    for ip in _literal(host):
        if not allow.address(ip) and not allow.host(host) and (why := address_refusal(ip)):
            raise ValueError(f"{host} is {why}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


def refused_addresses(host: str, addresses: Iterable[IP], *, allow: AllowList) -> str | None:
    """Every address a name resolves to must be callable: one bad one refuses the send (a
    rebinding name may answer differently next time)."""
    if allow.host(host):
        return None
    for ip in addresses:
        if not allow.address(ip) and (why := address_refusal(ip)) is not None:
            return f"{host} resolves to {ip}, {why}"
    return None


def subscription_view(subscription: Subscription) -> dict[str, Any]:
    return subscription.model_dump(mode="json", exclude={"principal", "secret"})
