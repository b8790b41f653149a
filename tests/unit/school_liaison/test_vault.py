"""A child's data key: created once, even when two first reports about the child race."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from services.school_liaison import vault
from services.school_liaison.privacy import WRAP_V2, Sealer, new_data_key, unseal
from shared.store import Doc, DuplicateKeyError
from tests.unit.school_liaison.factories import a_report

pytestmark = pytest.mark.unit

NOW = datetime(2024, 2, 1, tzinfo=UTC)
SEALER = Sealer(base64.b64encode(bytes(range(32))).decode())
CHILD = "child-1"


class FakeTx:
    """Just enough of the store port's Writer for the key logic: dict collections, and a
    concurrent winner that commits its key between this transaction's read and insert."""

    def __init__(self, *, rival: Doc | None = None, rival_visible: bool = True) -> None:
        self.rows: dict[str, dict[str, Doc]] = {}
        self.rival = rival
        self.rival_visible = rival_visible

    async def get(self, collection: str, id: str) -> Doc | None:
        return self.rows.get(collection, {}).get(id)

    async def insert(self, collection: str, doc: Doc) -> None:
        if self.rival is not None:
            if self.rival_visible:
                self.rows.setdefault(collection, {})[doc["id"]] = self.rival
            raise DuplicateKeyError(doc["id"])
        if doc["id"] in self.rows.get(collection, {}):
            raise DuplicateKeyError(doc["id"])
        self.rows.setdefault(collection, {})[doc["id"]] = doc

    async def put(self, collection: str, doc: Doc) -> None:
        self.rows.setdefault(collection, {})[doc["id"]] = doc


def _tx(**kw: Any) -> Any:
    return FakeTx(**kw)


def _rival(key: bytes) -> Doc:
    return {"id": CHILD, "wrapped": SEALER.wrap(key, child_ref=CHILD), "created_at": "2024-01-01"}


REPORT = a_report(child_ref=CHILD, filed_at=NOW)


async def test_first_report_creates_a_wrapped_key_and_the_next_one_reuses_it() -> None:
    tx = _tx()
    key = await vault.data_key_for(tx, SEALER, child_ref=CHILD, now=NOW)
    row = tx.rows["child_keys"][CHILD]
    assert key not in base64.b64decode(row["wrapped"].removeprefix(WRAP_V2))
    assert SEALER.unwrap(row["wrapped"], child_ref=CHILD) == key
    assert await vault.data_key_for(tx, SEALER, child_ref=CHILD, now=NOW) == key


async def test_losing_the_race_uses_the_winners_key() -> None:
    winner = new_data_key()
    rival = _rival(winner)
    assert await vault.data_key_for(_tx(rival=rival), SEALER, child_ref=CHILD, now=NOW) == winner


async def test_losing_to_a_key_not_yet_visible_asks_for_a_retry() -> None:
    rival = _rival(new_data_key())
    with pytest.raises(vault.ChildKeyRace):
        await vault.data_key_for(
            _tx(rival=rival, rival_visible=False), SEALER, child_ref=CHILD, now=NOW
        )


async def test_seal_report_seals_under_the_childs_key_and_open_report_opens_it() -> None:
    tx = _tx()
    private = {"description": "d", "student": {"name": "n"}}
    sealed = await vault.seal_report(tx, SEALER, report=REPORT, private=private, now=NOW)
    assert sealed.seal_v == vault.SEAL_VERSION
    assert sealed.sealed is not None
    assert sealed.model_copy(update={"sealed": None, "seal_v": None}) == REPORT
    key = SEALER.unwrap(tx.rows["child_keys"][CHILD]["wrapped"], child_ref=CHILD)
    assert unseal(sealed.sealed, data_key=key, record_id="rep-1") == private
    assert await vault.open_report(tx, SEALER, sealed) == private


async def test_without_the_childs_key_a_report_opens_to_nothing() -> None:
    tx = _tx()
    private = {"description": "d", "student": {"name": "n"}}
    sealed = await vault.seal_report(tx, SEALER, report=REPORT, private=private, now=NOW)
    unsealed = sealed.model_copy(update={"sealed": None})
    assert await vault.open_report(tx, SEALER, unsealed) is None
    del tx.rows["child_keys"][CHILD]  # erased
    assert await vault.open_report(tx, SEALER, sealed) is None
