"""The child's identity: sealed at rest under its own key, a pseudonym elsewhere."""

from __future__ import annotations

import base64
from datetime import date

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.school_liaison.privacy import (
    WRAP_V2,
    Sealer,
    derive,
    legacy_derive,
    new_data_key,
    seal,
    unseal,
)
from shared.contracts.school import StudentDetails

pytestmark = pytest.mark.unit

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()
NAME = "Zhang Xiaoming"
ID_NUMBER = "11010520100101123X"
# The reference the first release derived for ID_NUMBER under KEY: stored data depends on it.
PINNED_REF = "child-3e1f9fcd702a8aec5d701b1f"


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(KEY)


@pytest.fixture
def data_key() -> bytes:
    return new_data_key()


def student(**kw: object) -> StudentDetails:
    return StudentDetails.model_validate({"name": NAME, **kw})


# --- sealing with the child's data key --------------------------------------------------------


def test_seal_unseal_round_trip(data_key: bytes) -> None:
    payload = {"name": NAME, "id_number": ID_NUMBER, "guardian_phone": "13800000000"}
    sealed = seal(payload, data_key=data_key, record_id="rep-1")
    assert unseal(sealed, data_key=data_key, record_id="rep-1") == payload


def test_sealed_text_hides_the_plaintext(data_key: bytes) -> None:
    sealed = seal({"name": NAME, "id_number": ID_NUMBER}, data_key=data_key, record_id="rep-1")
    raw = base64.b64decode(sealed)
    for secret in (NAME, ID_NUMBER):
        assert secret not in sealed
        assert secret.encode() not in raw
        assert base64.b64encode(secret.encode()).decode()[:12] not in sealed


def test_sealing_twice_gives_different_blobs(data_key: bytes) -> None:
    payload = {"name": NAME}
    a = seal(payload, data_key=data_key, record_id="rep-1")
    assert a != seal(payload, data_key=data_key, record_id="rep-1")


def test_data_keys_are_random_and_32_bytes() -> None:
    keys = {new_data_key() for _ in range(50)}
    assert len(keys) == 50
    assert {len(k) for k in keys} == {32}


def test_unseal_with_another_record_id_fails(data_key: bytes) -> None:
    sealed = seal({"name": NAME}, data_key=data_key, record_id="rep-1")
    with pytest.raises(InvalidTag):
        unseal(sealed, data_key=data_key, record_id="rep-2")


def test_erasure_makes_opening_fail(data_key: bytes) -> None:
    """Once the child's key is destroyed no key opens the blob: not the child's next key
    (a child reported again after erasure gets a fresh one), not the master key."""
    sealed = seal({"name": NAME}, data_key=data_key, record_id="rep-1")
    for other in (new_data_key(), base64.b64decode(KEY)):
        with pytest.raises(InvalidTag):
            unseal(sealed, data_key=other, record_id="rep-1")


def test_tampered_blob_fails(data_key: bytes) -> None:
    raw = bytearray(base64.b64decode(seal({"name": NAME}, data_key=data_key, record_id="rep-1")))
    raw[-1] ^= 0x01
    with pytest.raises(InvalidTag):
        unseal(base64.b64encode(bytes(raw)).decode(), data_key=data_key, record_id="rep-1")


@pytest.mark.parametrize("length", [0, 16, 24, 31, 33, 64])
def test_wrong_length_key_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Sealer(base64.b64encode(b"k" * length).decode())


# --- wrapping data keys under the master key ---------------------------------------------------


def test_wrap_unwrap_round_trip(sealer: Sealer, data_key: bytes) -> None:
    wrapped = sealer.wrap(data_key, child_ref="child-1")
    assert sealer.unwrap(wrapped, child_ref="child-1") == data_key
    # A new Sealer from the same configured key (a restart) unwraps it too.
    assert Sealer(KEY).unwrap(wrapped, child_ref="child-1") == data_key


def test_wrapped_key_hides_the_data_key(sealer: Sealer, data_key: bytes) -> None:
    wrapped = sealer.wrap(data_key, child_ref="child-1")
    assert data_key not in base64.b64decode(wrapped.removeprefix(WRAP_V2))
    assert sealer.wrap(data_key, child_ref="child-1") != wrapped


def test_a_wrapped_key_serves_only_its_child(sealer: Sealer, data_key: bytes) -> None:
    wrapped = sealer.wrap(data_key, child_ref="child-1")
    with pytest.raises(InvalidTag):
        sealer.unwrap(wrapped, child_ref="child-2")


def test_unwrap_needs_the_master_key(sealer: Sealer, data_key: bytes) -> None:
    wrapped = sealer.wrap(data_key, child_ref="child-1")
    with pytest.raises(InvalidTag):
        Sealer(OTHER_KEY).unwrap(wrapped, child_ref="child-1")


def test_the_master_key_is_not_the_wrapping_key(sealer: Sealer, data_key: bytes) -> None:
    """The wrapping key is derived from pii_key, so pii_key itself opens no wrapped key."""
    wrapped = base64.b64decode(sealer.wrap(data_key, child_ref="child-1").removeprefix(WRAP_V2))
    with pytest.raises(InvalidTag):
        AESGCM(base64.b64decode(KEY)).decrypt(wrapped[:12], wrapped[12:], b"child-1")


def test_keys_are_wrapped_under_an_hkdf_key_and_old_wrappings_still_open(
    sealer: Sealer, data_key: bytes
) -> None:
    master = base64.b64decode(KEY)
    wrapped = sealer.wrap(data_key, child_ref="child-1")
    assert wrapped.startswith(WRAP_V2)
    blob = base64.b64decode(wrapped.removeprefix(WRAP_V2))
    hkdf_kek = AESGCM(derive(master, purpose=b"hulei child data-key wrapping v2"))
    assert hkdf_kek.decrypt(blob[:12], blob[12:], b"child-1") == data_key
    # A key wrapped before (no marker, legacy key) as it sits in an existing store.
    nonce = bytes(12)
    legacy_kek = AESGCM(legacy_derive(master, label=b"hulei-child-kek:"))
    old = base64.b64encode(nonce + legacy_kek.encrypt(nonce, data_key, b"child-1")).decode()
    assert sealer.unwrap(old, child_ref="child-1") == data_key


def test_child_references_keep_their_derivation_for_stored_references(sealer: Sealer) -> None:
    """Pinned: a change here would give every known child a new reference in every store."""
    ref = sealer.child_ref(student(id_number=ID_NUMBER), school_id="school-1")
    assert ref == PINNED_REF


# --- child_ref -------------------------------------------------------------------------------


def test_same_id_number_gives_same_ref_despite_whitespace_and_case(sealer: Sealer) -> None:
    a = sealer.child_ref(student(id_number=ID_NUMBER), school_id="school-1")
    b = sealer.child_ref(student(id_number=f"  {ID_NUMBER.lower()} "), school_id="school-1")
    spaced = f"{ID_NUMBER[:6]} {ID_NUMBER[6:14]} {ID_NUMBER[14:]}"
    c = sealer.child_ref(student(id_number=spaced), school_id="school-1")
    assert a == b == c


def test_id_number_decides_over_name_dob_and_school(sealer: Sealer) -> None:
    a = sealer.child_ref(
        student(id_number=ID_NUMBER, date_of_birth=date(2010, 1, 1)), school_id="school-1"
    )
    b = sealer.child_ref(
        StudentDetails(name="Another Spelling", id_number=ID_NUMBER), school_id="school-2"
    )
    assert a == b


def test_different_id_numbers_give_different_refs(sealer: Sealer) -> None:
    a = sealer.child_ref(student(id_number=ID_NUMBER), school_id="school-1")
    b = sealer.child_ref(student(id_number="110105201001011247"), school_id="school-1")
    assert a != b


@pytest.mark.parametrize(
    "variant",
    [
        "zhang xiaoming",
        "ZHANG  XIAOMING",
        " Zhang\tXiaoming ",
        "ZhangXiaoming",
        "Ｚｈａｎｇ Ｘｉａｏｍｉｎｇ",  # full-width letters: NFKC folds them
    ],
)
def test_name_normalisation_without_id_number(sealer: Sealer, variant: str) -> None:
    dob = date(2010, 1, 1)
    a = sealer.child_ref(student(date_of_birth=dob), school_id="school-1")
    b = sealer.child_ref(StudentDetails(name=variant, date_of_birth=dob), school_id="school-1")
    assert a == b


@pytest.mark.parametrize(
    ("other", "school_id"),
    [
        (StudentDetails(name="Li Hua", date_of_birth=date(2010, 1, 1)), "school-1"),
        (StudentDetails(name=NAME, date_of_birth=date(2011, 1, 1)), "school-1"),
        (StudentDetails(name=NAME), "school-1"),
        (StudentDetails(name=NAME, date_of_birth=date(2010, 1, 1)), "school-2"),
    ],
    ids=["other-name", "other-dob", "no-dob", "other-school"],
)
def test_without_id_number_name_dob_and_school_decide(
    sealer: Sealer, other: StudentDetails, school_id: str
) -> None:
    base = sealer.child_ref(student(date_of_birth=date(2010, 1, 1)), school_id="school-1")
    assert sealer.child_ref(other, school_id=school_id) != base


def test_ref_depends_on_the_key(sealer: Sealer) -> None:
    s = student(id_number=ID_NUMBER)
    assert sealer.child_ref(s, school_id="school-1") != Sealer(OTHER_KEY).child_ref(
        s, school_id="school-1"
    )


def test_ref_reveals_neither_name_nor_id_number(sealer: Sealer) -> None:
    for s in (student(id_number=ID_NUMBER), student(date_of_birth=date(2010, 1, 1))):
        ref = sealer.child_ref(s, school_id="school-1")
        assert ref.startswith("child-")
        lowered = ref.lower()
        for secret in (NAME, "zhang", "xiaoming", ID_NUMBER, ID_NUMBER[:10]):
            assert secret.lower() not in lowered
