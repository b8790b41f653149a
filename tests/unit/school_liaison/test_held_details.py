"""An acute-risk session files its report from the details as held, even when they were sealed
before the ID number's check digit was enforced (they would otherwise fail as a 500)."""

from services.school_liaison.counselling.sessions import _as_entered
from tests.support import resident_id


def test_details_held_with_an_unchecked_id_number_still_file_a_report() -> None:
    held = {"name": "A Student", "id_number": "110101200001011234", "grade": "7"}
    student = _as_entered(held)
    assert student.id_number is None  # the report is filed; the held details stay sealed as-is
    assert student.name == "A Student"
    assert student.grade == "7"


def test_details_with_a_valid_id_number_are_taken_as_they_are() -> None:
    number = resident_id(7)
    assert _as_entered({"name": "A Student", "id_number": number}).id_number == number
