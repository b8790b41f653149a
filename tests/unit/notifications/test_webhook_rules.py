"""Partner webhooks' pure rules: the retry schedule, which addresses and URLs may be called, who
may subscribe to what, and signatures that the Standard Webhooks verifier accepts."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.notifications.webhook_rules import (
    BACKOFF_S,
    DISABLE_AFTER,
    MAX_ATTEMPTS,
    AllowList,
    Delivery,
    Subscription,
    address_refusal,
    body_of,
    delivery_id,
    new_secret,
    parse_url,
    refused_addresses,
    refused_types,
    retry_delay,
    should_disable,
)
from services.notifications.webhook_sender import signed_headers
from shared.event_views import FIELDS, STATION_ONLY
from shared.events import Envelope
from shared.identity import Principal, Role

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DESK = Principal(user_id="client:desk-system", role=Role.dispatcher)
NGO = Principal(user_id="client:ngo", role=Role.social_worker, org_id="org-1")


def schedule(jitter: float) -> list[timedelta]:
    delays = []
    tries = 1
    while (delay := retry_delay(tries, jitter=jitter)) is not None:
        delays.append(delay)
        tries += 1
    return delays


@pytest.mark.parametrize("jitter", [-1.0, 0.0, 1.0])
def test_retries_span_at_least_24_hours_whatever_the_jitter(jitter: float) -> None:
    delays = schedule(jitter)
    assert len(delays) == MAX_ATTEMPTS - 1 == len(BACKOFF_S)
    assert sum(delays, timedelta()) >= timedelta(hours=24)
    assert delays == sorted(delays)  # exponential-ish: never shorter than the one before
    assert delays[0] <= timedelta(seconds=6)  # a blip is retried within seconds


def test_jitter_spreads_retries_and_the_schedule_ends() -> None:
    assert retry_delay(3, jitter=-1) != retry_delay(3, jitter=1)
    assert retry_delay(0, jitter=0) is None
    assert retry_delay(MAX_ATTEMPTS, jitter=0) is None


def test_a_subscription_failing_for_24_hours_is_disabled() -> None:
    sub = subscription()
    assert not should_disable(sub, now=NOW)
    failing = sub.model_copy(update={"failing_since": NOW})
    assert not should_disable(failing, now=NOW + DISABLE_AFTER - timedelta(seconds=1))
    assert should_disable(failing, now=NOW + DISABLE_AFTER)
    off = failing.model_copy(update={"active": False})
    assert not should_disable(off, now=NOW + DISABLE_AFTER)


REFUSED = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # link-local: the cloud metadata service
    "0.0.0.0",  # unspecified  # noqa: S104 - a test value, nothing binds it
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "100.64.0.1",  # shared address space (carrier NAT): not public
    "192.0.2.1",  # documentation
    "::1",
    "::",
    "fe80::1",  # link-local
    "fc00::1",  # unique local
    "ff02::1",  # multicast
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",  # IPv4-mapped private
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:db8::1",  # documentation
]


@pytest.mark.parametrize("address", REFUSED)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_the_allow_list_lets_named_hosts_and_networks_through() -> None:
    allow = AllowList.parse("receiver.internal, 127.0.0.1, 10.20.0.0/16")
    loop = [ipaddress.ip_address("127.0.0.1")]
    assert refused_addresses("localhost", loop, allow=AllowList()) is not None
    assert refused_addresses("localhost", loop, allow=allow) is None
    assert refused_addresses("x.test", [ipaddress.ip_address("10.20.3.4")], allow=allow) is None
    private = [ipaddress.ip_address("10.30.3.4")]
    assert refused_addresses("receiver.internal", private, allow=allow) is None  # by name
    # One bad address of several refuses: a rebinding name may answer with it next time.
    mixed = [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.30.3.4")]
    assert refused_addresses("x.test", mixed, allow=allow) is not None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://hooks.example.com/x", "only https"),
        ("ftp://hooks.example.com/x", "only https"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https:///x", "no host"),
        ("https://10.0.0.8/x", "private"),
        ("https://[::1]:8443/x", "loopback"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://hooks.example.com:99999/x", "not a valid URL"),
    ],
)
def test_urls_refused_at_registration_say_why(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_url(url, demo=False, allow=AllowList())


def test_plain_http_only_in_demo_mode_or_to_an_allow_listed_host() -> None:
    allow = AllowList.parse("127.0.0.1")
    target = parse_url("http://127.0.0.1:8080/hook?a=1", demo=False, allow=allow)
    assert (target.scheme, target.host, target.port, target.path) == (
        "http",
        "127.0.0.1",
        8080,
        "/hook?a=1",
    )
    assert parse_url("http://hooks.example.com/", demo=True, allow=AllowList()).port == 80
    assert parse_url("https://hooks.example.com", demo=False, allow=AllowList()).path == "/"


def test_a_client_subscribes_only_to_what_its_role_sees_on_the_stream() -> None:
    assert refused_types(DESK, list(FIELDS)) == []
    assert refused_types(NGO, ["task.created", "case.opened"]) == []
    assert refused_types(NGO, ["ops.dead_lettered", "task.created"]) == ["ops.dead_lettered"]
    assert set(refused_types(NGO, list(FIELDS))) == STATION_ONLY
    assert refused_types(DESK, ["school.child.erased", "no.such"]) == [
        "no.such",
        "school.child.erased",
    ]
    teacher = Principal(user_id="client:t", role=Role.teacher, school_id="sch-01")
    assert refused_types(teacher, ["task.created"]) == ["task.created"]


def subscription() -> Subscription:
    return Subscription(
        id="whs_1",
        owner=DESK.user_id,
        principal=DESK,
        url="https://hooks.example.com/x",
        event_types=["task.created"],
        created_at=NOW,
        secret=new_secret(),
    )


def task_created() -> Envelope:
    data = {
        "task_id": "t-1",
        "case_id": "c-1",
        "school_id": "sch-01",
        "kind": "police_visit",
        "title": "Visit the family",
        "agency": "police",
        "risk_level": "high",
        "due_at": NOW.isoformat(),
        "child_ref": "ch-9",  # not on the allow-list: never sent
    }
    return Envelope.model_validate(
        {
            "id": "evt-1",
            "type": "task.created",
            "source": "case_tracking",
            "subject": "t-1",
            "version": 1,
            "correlation_id": "evt-1",
            "time": NOW.isoformat(),
            "data": data,
        }
    )


def test_the_body_is_the_streams_shape_and_the_signature_verifies() -> None:
    sub = subscription()
    envelope = task_created()
    key = delivery_id(event_id=envelope.id, subscription_id=sub.id)
    assert key == delivery_id(event_id="evt-1", subscription_id="whs_1")  # stable: receivers dedupe
    assert key != delivery_id(event_id="evt-1", subscription_id="whs_2")
    body = body_of(envelope)
    delivery = Delivery(
        id=key,
        subscription_id=sub.id,
        event_id=envelope.id,
        event_type=envelope.type,
        created_at=NOW,
        next_attempt_at=NOW,
        body=body,
    )
    headers = signed_headers(sub, delivery)
    assert headers["webhook-id"] == key
    assert headers["webhook-signature"].startswith("v1,")
    payload = Webhook(sub.secret).verify(body, headers)
    assert payload["type"] == "task.created"
    assert payload["data"]["event_id"] == "evt-1"
    assert set(payload["data"]) - {"event_id"} <= set(FIELDS["task.created"])
    assert "child_ref" not in json.dumps(payload)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(sub.secret).verify(body.replace("high", "low"), headers)
