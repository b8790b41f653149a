"""No event type can be forgotten by the feed again: every contract in shared/contracts is either
streamed through a field allow-list of facts or left out with a reason, and what is streamed
can reach the gateway (its stream is one the gateway reads and may read)."""

from __future__ import annotations

import importlib
import pkgutil

import shared.contracts
from gateway.stream_events import CONTRACTS, DESK_ADDRESSED, EXCLUDED, FIELDS, STATION_ONLY
from gateway.stream_items import SOURCES
from shared.events import EventData
from shared.nats_auth import FEED_STREAMS, identities
from shared.streams import STREAMS, subject_matches

# Never on the feed, whatever the contract: names, ID numbers and free text.
FORBIDDEN = {"name", "id_number", "student", "date_of_birth", "child_name"}
# Free text some contracts carry; the allow-lists must leave it out.
FREE_TEXT = {"reason", "note", "outcome", "description", "recipients"}


def every_contract() -> dict[str, type[EventData]]:
    found: dict[str, type[EventData]] = {}
    for info in pkgutil.iter_modules(shared.contracts.__path__):
        importlib.import_module(f"shared.contracts.{info.name}")

    def walk(cls: type[EventData]) -> None:
        for sub in cls.__subclasses__():
            if "TYPE" in vars(sub):
                found[sub.TYPE] = sub
            walk(sub)

    walk(EventData)
    return found


def test_the_walk_finds_the_contracts() -> None:
    found = every_contract()
    assert {"task.created", "task.reassigned", "patrol.alert.raised"} <= set(found)
    assert len(found) > 40


def test_every_event_type_is_streamed_or_excluded_with_a_reason() -> None:
    found = set(every_contract())
    neither = found - set(FIELDS) - set(EXCLUDED)
    assert neither == set(), "add these to FIELDS or EXCLUDED in gateway/stream_events.py"
    assert set(FIELDS) & set(EXCLUDED) == set()
    assert set(FIELDS) | set(EXCLUDED) <= found, "a type no contract declares"
    assert all(len(why) > 10 for why in EXCLUDED.values())


def test_every_streamed_type_is_checked_against_its_contract() -> None:
    assert set(CONTRACTS) == set(FIELDS)
    assert set(FIELDS) >= STATION_ONLY
    assert set(FIELDS) >= DESK_ADDRESSED


def test_every_allow_listed_field_exists_on_its_contract_and_is_a_fact() -> None:
    contracts = every_contract()
    for kind, fields in FIELDS.items():
        declared = set(contracts[kind].model_fields)
        assert set(fields) <= declared, (kind, set(fields) - declared)
        assert set(fields) & (FORBIDDEN | FREE_TEXT) == set(), kind
        assert len(set(fields)) == len(fields), kind


def test_every_streamed_subject_is_on_a_stream_the_gateway_reads_and_may_read() -> None:
    contracts = every_contract()
    assert set(SOURCES) == set(FEED_STREAMS)
    gateway = next(i for i in identities() if i.user == "gateway")
    for kind in FIELDS:
        subject = contracts[kind].nats_subject()
        homes = [s.name for s in STREAMS if any(subject_matches(p, subject) for p in s.subjects)]
        assert len(homes) == 1, (kind, homes)
        assert homes[0] in SOURCES, (kind, homes[0])
        assert f"$JS.API.CONSUMER.CREATE.{homes[0]}" in gateway.publish
