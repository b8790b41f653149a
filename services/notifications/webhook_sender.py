"""Sending partner webhooks (docs/webhooks.md): a worker claims due deliveries, sends them with
bounded concurrency, records every attempt and schedules the next.

A claimed delivery stays `pending` with its next attempt pushed past the send's timeout (a
lease): if the process dies mid-send, the delivery comes due again and is sent again with the
same webhook-id, and its row stays one.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from standardwebhooks import Webhook

from services.notifications import webhook_store, webhooks
from services.notifications.settings import Settings
from services.notifications.webhook_rules import (
    ATTEMPTS_KEPT,
    AllowList,
    Attempt,
    Delivery,
    Subscription,
    ok_status,
    parse_url,
    refused_addresses,
    retry_delay,
    should_disable,
)
from shared.runtime import Runtime, UnitOfWork

log = logging.getLogger("hulei.notifications.webhooks")
Clock = Callable[[], datetime]
USER_AGENT = "Hulei-Webhooks/1"


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None = None


def signed_headers(subscription: Subscription, delivery: Delivery) -> dict[str, str]:
    # The real time of sending, whatever the scheduling clock: receivers check its freshness.
    sent = datetime.now(UTC)
    signature = Webhook(subscription.secret).sign(delivery.id, sent, delivery.body)
    return {
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class Sender:
    """One POST, safely: the resolved address checked at send time and connected to directly
    (no second lookup a rebinding name could answer differently), a total timeout, no
    redirects followed, at most `max_response_bytes` of the answer read."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.allow = AllowList.parse(settings.webhook_allow_hosts)
        self.client = client

    async def send(self, subscription: Subscription, delivery: Delivery) -> Outcome:
        started = time.monotonic()

        def outcome(status: int | None, error: str | None = None) -> Outcome:
            return Outcome(status, int((time.monotonic() - started) * 1000), error)

        try:
            target = parse_url(subscription.url, demo=self.settings.demo_mode, allow=self.allow)
        except ValueError as exc:
            return outcome(None, f"refused: {exc}")
        try:
            async with asyncio.timeout(self.settings.webhook_timeout_s):
                addresses = await webhooks.resolve(target.host, target.port)
                if not addresses:
                    return outcome(None, f"{target.host} does not resolve")
                if (why := refused_addresses(target.host, addresses, allow=self.allow)) is not None:
                    return outcome(None, f"refused: {why}")
                ip = addresses[0]
                literal = f"[{ip}]" if ip.version == 6 else str(ip)
                url = f"{target.scheme}://{literal}:{target.port}{target.path}"
                headers = {"host": _host_header(target.host, target.port, target.scheme)}
                headers.update(signed_headers(subscription, delivery))
                extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
                request = self.client.build_request(
                    "POST", url, content=delivery.body.encode(), headers=headers,
                    extensions=extensions,
                )  # fmt: skip
                response = await self.client.send(request, stream=True, follow_redirects=False)
                try:
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= self.settings.webhook_max_response_bytes:
                            break  # the rest is never read: the connection is closed
                finally:
                    await response.aclose()
        except TimeoutError:
            return outcome(None, f"no answer within {self.settings.webhook_timeout_s:g} s")
        except httpx.HTTPError as exc:
            return outcome(None, f"{type(exc).__name__}: {str(exc)[:200]}")
        if 300 <= response.status_code < 400:
            return outcome(response.status_code, "redirect not followed")
        return outcome(response.status_code)


def _host_header(host: str, port: int, scheme: str) -> str:
    default = 443 if scheme == "https" else 80
    name = f"[{host}]" if ":" in host else host
    return name if port == default else f"{name}:{port}"


class Deliverer:
    """The worker: started in notifications' lifespan, one per process."""

    def __init__(
        self,
        rt: Runtime,
        *,
        settings: Settings,
        clock: Clock = wall_clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.rt = rt
        self.settings = settings
        self.clock = clock
        self.transport = transport
        self.lease = timedelta(seconds=settings.webhook_timeout_s * 2)

    async def run(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)  # one connection per send
        # trust_env off: a proxy from the environment would connect past the address checks.
        client = httpx.AsyncClient(transport=self.transport, limits=limits, trust_env=False)
        async with client:
            sender = Sender(self.settings, client)
            while True:
                try:
                    sent = await self.round(sender)
                except Exception:  # a store outage: try again next round, never stop
                    log.exception("webhook delivery round failed")
                    sent = 0
                if sent == 0:
                    await asyncio.sleep(self.settings.webhook_poll_s)

    async def round(self, sender: Sender) -> int:
        """Claim what is due and send it, at most `webhook_concurrency` at a time."""
        claimed = await self.rt.transact(self._claim)
        gate = asyncio.Semaphore(self.settings.webhook_concurrency)

        async def one(subscription: Subscription, delivery: Delivery) -> None:
            async with gate:
                result = await sender.send(subscription, delivery)
            await self.rt.transact(lambda uow: self._record(uow, delivery.id, result))

        results = await asyncio.gather(*(one(s, d) for s, d in claimed), return_exceptions=True)
        for failed in (r for r in results if isinstance(r, Exception)):
            # Unrecorded, the delivery's lease runs out and it is sent again: nothing is lost.
            log.error("recording a webhook attempt failed", exc_info=failed)
        return len(claimed)

    async def _claim(self, uow: UnitOfWork) -> list[tuple[Subscription, Delivery]]:
        now = self.clock()
        claimed = []
        for delivery in await webhook_store.due(uow.tx, now=now, limit=self.settings.webhook_batch):
            sub = await webhook_store.get_subscription(
                uow.tx, subscription_id=delivery.subscription_id
            )
            if sub is None or not sub.active:
                stopped = delivery.model_copy(update={"state": "failed", "next_attempt_at": None})
                await webhook_store.put_delivery(uow.tx, delivery=stopped)
                continue
            leased = delivery.model_copy(update={"next_attempt_at": now + self.lease})
            await webhook_store.put_delivery(uow.tx, delivery=leased)
            claimed.append((sub, delivery))
        return claimed

    async def _record(self, uow: UnitOfWork, delivery_id: str, result: Outcome) -> None:
        now = self.clock()
        current = await webhook_store.get_delivery(uow.tx, delivery_id=delivery_id)
        if current is None or current.state != "pending":
            return
        attempt = Attempt(
            at=now, status_code=result.status_code, latency_ms=result.latency_ms, error=result.error
        )
        attempts = [*current.attempts, attempt][-ATTEMPTS_KEPT:]
        tries = current.tries + 1
        sub = await webhook_store.get_subscription(uow.tx, subscription_id=current.subscription_id)
        if ok_status(result.status_code):
            done = current.model_copy(
                update={"state": "delivered", "next_attempt_at": None, "tries": tries,
                        "attempts": attempts}
            )  # fmt: skip
            await webhook_store.put_delivery(uow.tx, delivery=done)
            if sub is not None and sub.failing_since is not None:
                healthy = sub.model_copy(update={"failing_since": None})
                await webhook_store.put_subscription(uow.tx, subscription=healthy)
            return
        delay = retry_delay(tries, jitter=random.uniform(-1, 1))  # noqa: S311 - not a secret
        later = current.model_copy(
            update={
                "state": "pending" if delay is not None else "failed",
                "next_attempt_at": now + delay if delay is not None else None,
                "tries": tries,
                "attempts": attempts,
            }
        )
        await webhook_store.put_delivery(uow.tx, delivery=later)
        if sub is None:
            return
        failing = sub.model_copy(update={"failing_since": sub.failing_since or now})
        if should_disable(failing, now=now):
            reason = "every delivery failed for 24 hours"
            await webhooks.disable(uow, failing, reason=reason)
            await webhooks.alert_disabled(uow, failing, now=now)
            return
        if failing != sub:
            await webhook_store.put_subscription(uow.tx, subscription=failing)
