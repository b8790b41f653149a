"""The webhook rows of the authorization matrix (test_authorization_matrix.py).

Only partner clients subscribe: the matrix's callers are people, so subscribing is a 403 for
every role, and each caller's "own" subscriptions are written into the notifications store as
a client's would be (ownership is what the other routes check). "Somebody else's object" is a
real partner client's subscription: only an admin sees, changes or deletes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.notifications import webhook_store
from services.notifications.webhook_rules import Delivery, Subscription, new_secret
from shared.event_views import VIEW_ROLES
from shared.identity import Principal, Role
from tests.support import USER_OF, Gateway

Request = tuple[str, str, dict[str, Any]]
Build = Callable[["WebhooksWorld", Role, bool], Request]
Row = tuple[Build, int, Callable[[Role], int] | None]
URL = "http://127.0.0.1:9/hook"  # allow-listed in the tests; nothing listens there
KINDS = ("get", "patch", "secret", "delete", "deliveries", "redeliver")
BASE = "/v1/webhooks/subscriptions"


@dataclass
class WebhooksWorld:
    partner: dict[str, str]  # kind → a partner client's subscription id
    deliveries: dict[str, str]  # subscription id → one of its deliveries


async def client_login(gw: Gateway, client_id: str, **scope: Any) -> str:
    """A partner client of this scope, logged in; `gw.call(client_id, …)` calls as it."""
    body = {"client_id": client_id, "display_name": "Partner system", **scope}
    created = await gw.call("admin1", "POST", "/v1/admin/clients", json=body)
    assert created.status_code == 201, created.text
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": created.json()["client_secret"],
    }
    token = (await gw.client.post("/v1/auth/token", data=form)).json()["access_token"]
    gw._tokens[client_id] = token  # the helper's token cache, filled as auth would
    return client_id


def own_id(kind: str, role: Role) -> str:
    return f"whs_{kind}_{USER_OF[role]}"


async def build_webhooks_world(gw: Gateway) -> WebhooksWorld:
    partner = await client_login(gw, "hook-partner", role="dispatcher")
    ids = {}
    for kind in KINDS:
        body = {"url": URL, "event_types": ["task.created"]}
        r = await gw.call(partner, "POST", BASE, json=body)
        assert r.status_code == 201, r.text
        ids[kind] = r.json()["id"]
    now = datetime.now(UTC)
    owned = [
        Subscription(
            id=own_id(kind, role),
            owner=USER_OF[role],
            principal=Principal(user_id=USER_OF[role], role=role),
            url=URL,
            event_types=["task.created"],
            created_at=now,
            secret=new_secret(),
        )
        for kind in KINDS
        for role in VIEW_ROLES
    ]
    deliveries = {}
    store = gw.store("notifications")
    async with store.transaction() as tx:
        for sub in owned:
            await webhook_store.put_subscription(tx, subscription=sub)
        for sub_id in [*(s.id for s in owned), ids["deliveries"], ids["redeliver"]]:
            delivery = Delivery(
                id=f"msg_{sub_id}",
                subscription_id=sub_id,
                event_id=f"evt-{sub_id}",
                event_type="task.created",
                state="failed",
                created_at=now,
                next_attempt_at=None,
                body="{}",
                case_id=f"case-{sub_id}",
            )
            await webhook_store.put_delivery(tx, delivery=delivery)
            deliveries[sub_id] = delivery.id
    return WebhooksWorld(partner=ids, deliveries=deliveries)


def _target(w: WebhooksWorld, kind: str, role: Role, own: bool) -> str:
    return own_id(kind, role) if own else w.partner[kind]


def on(method: str, kind: str, tail: str = "", body: Any = None) -> Build:
    def build(w: WebhooksWorld, role: Role, own: bool) -> Request:
        sub = _target(w, kind, role, own)
        path = f"{BASE}/{sub}{tail}".replace("{delivery}", w.deliveries.get(sub, "msg_none"))
        return method, path, {"json": body} if body is not None else {}

    return build


def admin_only(ok: int) -> Callable[[Role], int]:
    return lambda role: ok if role is Role.admin else 404


NEW = {"url": URL, "event_types": ["task.created"]}
ROWS: dict[tuple[str, str], Row] = {
    # People never subscribe (partner clients do: test_webhooks.py, each role's client).
    ("POST", BASE): (lambda _w, _r, _o: ("POST", BASE, {"json": NEW}), 403, None),
    ("GET", BASE): (lambda _w, _r, _o: ("GET", BASE, {}), 200, None),
    ("GET", f"{BASE}/{{subscription_id}}"): (on("GET", "get"), 200, admin_only(200)),
    ("PATCH", f"{BASE}/{{subscription_id}}"): (
        on("PATCH", "patch", body={"active": True}),
        200,
        admin_only(200),
    ),
    ("POST", f"{BASE}/{{subscription_id}}/secret"): (
        on("POST", "secret", "/secret"),
        200,
        admin_only(200),
    ),
    ("DELETE", f"{BASE}/{{subscription_id}}"): (on("DELETE", "delete"), 204, admin_only(204)),
    ("GET", f"{BASE}/{{subscription_id}}/deliveries"): (
        on("GET", "deliveries", "/deliveries"),
        200,
        admin_only(200),
    ),
    ("POST", f"{BASE}/{{subscription_id}}/deliveries/{{delivery_id}}/redeliver"): (
        on("POST", "redeliver", "/deliveries/{delivery}/redeliver"),
        202,
        admin_only(202),
    ),
}
