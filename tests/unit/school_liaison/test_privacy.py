"""The child's identity: sealed at rest and replaced by a pseudonym elsewhere."""

from __future__ import annotations

import base64
from datetime import date

import pytest
from cryptography.exceptions import InvalidTag

from services.school_liaison.privacy import Sealer
from shared.contracts.school import StudentDetails

pytestmark = pytest.mark.unit

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()
NAME = "Zhang Xiaoming"
ID_NUMBER = "11010520100101123X"


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(KEY)


def student(**kw: object) -> StudentDetails:
    return StudentDetails.model_validate({"name": NAME, **kw})


# --- sealing ---------------------------------------------------------------------------------


def test_seal_open_round_trip(sealer: Sealer) -> None:
    payload = {"name": NAME, "id_number": ID_NUMBER, "guardian_phone": "13800000000"}
    sealed = sealer.seal(payload, record_id="rep-1")
    assert sealer.open(sealed, record_id="rep-1") == payload


def test_sealed_text_hides_the_plaintext(sealer: Sealer) -> None:
    sealed = sealer.seal({"name": NAME, "id_number": ID_NUMBER}, record_id="rep-1")
    raw = base64.b64decode(sealed)
    for secret in (NAME, ID_NUMBER):
        assert secret not in sealed
        assert secret.encode() not in raw
        assert base64.b64encode(secret.encode()).decode()[:12] not in sealed


def test_sealing_twice_gives_different_blobs(sealer: Sealer) -> None:
    payload = {"name": NAME}
    assert sealer.seal(payload, record_id="rep-1") != sealer.seal(payload, record_id="rep-1")


def test_open_with_another_record_id_fails(sealer: Sealer) -> None:
    sealed = sealer.seal({"name": NAME}, record_id="rep-1")
    with pytest.raises(InvalidTag):
        sealer.open(sealed, record_id="rep-2")


def test_open_with_another_key_fails(sealer: Sealer) -> None:
    sealed = sealer.seal({"name": NAME}, record_id="rep-1")
    with pytest.raises(InvalidTag):
        Sealer(OTHER_KEY).open(sealed, record_id="rep-1")


def test_tampered_blob_fails(sealer: Sealer) -> None:
    raw = bytearray(base64.b64decode(sealer.seal({"name": NAME}, record_id="rep-1")))
    raw[-1] ^= 0x01
    with pytest.raises(InvalidTag):
        sealer.open(base64.b64encode(bytes(raw)).decode(), record_id="rep-1")


@pytest.mark.parametrize("length", [0, 16, 24, 31, 33, 64])
def test_wrong_length_key_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Sealer(base64.b64encode(b"k" * length).decode())


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
