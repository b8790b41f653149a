"""The event catalogue: valid AsyncAPI 3, and it describes every contract and consumer."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from shared.asyncapi import address_of, contracts, document, stream_of
from shared.streams import CONSUMERS, PUBLISHERS, STREAMS, subject_matches

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "var" / "asyncapi" / "asyncapi-3.0.0.schema.json"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return document()


def test_the_document_is_valid_asyncapi_3(doc: dict[str, Any]) -> None:
    if not SCHEMA.exists():
        message = f"{SCHEMA} missing: `make install` (or `make test`) fetches it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]
    assert errors == []
    # The validator does refuse: an AsyncAPI 2 verb is not an AsyncAPI 3 action.
    broken = json.loads(json.dumps(doc))
    next(iter(broken["operations"].values()))["action"] = "publish"
    assert not validator.is_valid(broken)


def test_every_contract_has_a_channel_on_the_stream_that_stores_it(doc: dict[str, Any]) -> None:
    addresses = {c["address"]: c for c in doc["channels"].values()}
    models = contracts()
    assert len(models) >= 40  # every module of shared/contracts was read
    for model in models:
        channel = addresses[address_of(model)]
        assert channel["x-stream"] == stream_of(model.nats_subject())
        assert model.__name__ in channel["messages"]
        payload = doc["components"]["messages"][model.__name__]["payload"]
        assert payload["properties"]["type"]["const"] == model.TYPE
        assert payload["properties"]["data"] == {"$ref": f"#/components/schemas/{model.__name__}"}


def test_every_payload_reference_resolves(doc: dict[str, Any]) -> None:
    text = json.dumps(doc)
    schemas = doc["components"]["schemas"]
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs <= set(schemas)


def test_every_published_subject_names_its_publishers(doc: dict[str, Any]) -> None:
    sends = [op for op in doc["operations"].values() if op["action"] == "send"]
    assert len(sends) == len(contracts())
    assert all(op["x-publishers"] for op in sends)
    # And no publishing right covers a subject without a contract (dead permission).
    subjects = [m.nats_subject() for m in contracts()]
    for pattern, _ in PUBLISHERS:
        assert any(subject_matches(pattern, s) for s in subjects), pattern


def test_every_durable_consumer_reads_a_described_subject(doc: dict[str, Any]) -> None:
    received = {op["x-consumer"] for op in doc["operations"].values() if op["action"] == "receive"}
    assert received == {spec.durable for spec in CONSUMERS}


def test_every_stream_holds_a_described_subject(doc: dict[str, Any]) -> None:
    streams = {c["x-stream"] for c in doc["channels"].values()}
    assert streams == {spec.name for spec in STREAMS} - {"DEADLETTER"}  # copies of any subject
