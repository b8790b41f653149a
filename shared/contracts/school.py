"""school_liaison's contracts: schools, concern reports and the ReportFiled event."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.body import Body
from shared.events import Day, EventData


class ReportCategory(StrEnum):
    self_harm = "self_harm"
    bullying_victim = "bullying_victim"
    bullying_perpetrator = "bullying_perpetrator"
    truancy = "truancy"
    internet_addiction = "internet_addiction"
    gambling = "gambling"
    teacher_conflict = "teacher_conflict"
    psychological_distress = "psychological_distress"
    family_problem = "family_problem"


class Severity(StrEnum):
    """Also the case risk scale; ordered low → critical."""

    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


# The resident ID number (居民身份证号码, GB 11643-1999): 17 digits and a check digit (0-9 or
# X), the weighted sum of the 17 digits mod 11. The document says so with a pattern and a named
# format, `cn-resident-id`, which clients (and the fuzz test's generator) can implement.
RESIDENT_ID_FORMAT = "cn-resident-id"
RESIDENT_ID_PATTERN = r"^[0-9]{17}[0-9X]$"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id_check(first17: str) -> str:
    """The check digit of an ID number's first 17 digits."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _check_digit(value: str) -> str:
    if resident_id_check(value[:17]) != value[17]:
        raise ValueError("the check digit does not match (GB 11643)")
    return value


ResidentId = Annotated[
    str,
    Field(
        pattern=RESIDENT_ID_PATTERN,
        description="the resident ID number: 17 digits and its check digit (GB 11643)",
        json_schema_extra={"format": RESIDENT_ID_FORMAT},
    ),
    AfterValidator(_check_digit),
]


class StudentDetails(Body):
    """The child's identifying details. Stay sealed in school_liaison; never in events."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    id_number: str | None = Field(default=None, min_length=4, max_length=32)
    date_of_birth: date | None = None
    grade: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=300)
    guardian_name: str | None = Field(default=None, max_length=100)
    guardian_phone: str | None = Field(default=None, max_length=32)


class StudentIn(StudentDetails):
    """The child's details as school staff enter them: the ID number is checked."""

    id_number: ResidentId | None = None
    date_of_birth: Day | None = None


class ReportCreate(Body):
    model_config = ConfigDict(extra="forbid")

    school_id: str = Field(min_length=1, max_length=40)
    category: ReportCategory
    severity: Severity | None = Field(
        default=None, description="the reporter's judgement; the platform derives one if absent"
    )
    immediate_danger: bool = Field(default=False, description="the child is in danger right now")
    description: str = Field(min_length=1, max_length=5000)
    student: StudentIn


class ReportView(BaseModel):
    """A report as the caller's role may see it.

    The private part is shaped per role and *absent* (never null) where the role does not need
    it: the station's desk sees neither `description` nor `student`, a social worker sees the
    student without `id_number`. After erasure nobody sees them and `erased_at` says when.
    """

    id: str
    school_id: str
    category: ReportCategory
    severity: Severity
    immediate_danger: bool
    description: str | None = Field(default=None, description="absent unless the role needs it")
    student: StudentDetails | None = Field(
        default=None, description="absent unless the role needs it; shaped per role"
    )
    child_ref: str
    case_id: str | None
    filed_by: str
    filed_at: datetime
    erased_at: datetime | None = Field(
        default=None, description="present once the child's details were erased (retention)"
    )


class SchoolView(BaseModel):
    id: str
    name: str
    district: str
    is_liaison_station: bool
    community_officer_id: str
    social_org_id: str


# A school's id is a path segment and a key in other services' records: short, plain.
SCHOOL_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class SchoolCreate(Body):
    """A school for the registry (admin): who covers it decides where its reports' tasks go."""

    id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=SCHOOL_ID)] = Field(
        description="e.g. sch-22: letters, digits, `_.-`, at most 40; never reused"
    )
    name: Annotated[Text, Field(max_length=200)]
    district: Annotated[Text, Field(max_length=100)]
    is_liaison_station: bool = Field(
        default=False, description="the police liaison station's school (counselling list)"
    )
    community_officer_id: Annotated[Text, Field(max_length=40)] = Field(
        description="an active police officer's username: the school's reports go to him"
    )
    social_org_id: Annotated[Text, Field(max_length=40)] = Field(
        description="the social-work organisation serving the school"
    )


class ReportFiled(EventData):
    TYPE: ClassVar[str] = "school.report.filed"

    report_id: str
    school_id: str
    category: ReportCategory
    severity: Severity
    immediate_danger: bool
    child_ref: str
    community_officer_id: str
    social_org_id: str
    filed_by: str
    filed_at: datetime
    # The ID number matched a child whose sealed name or date of birth differs. Optional with a
    # default, so events written before it still parse (deploy consumers before school_liaison).
    identity_mismatch: bool = False


class ChildErased(EventData):
    """A child's identifying details were destroyed (retention); the reports' facts remain."""

    TYPE: ClassVar[str] = "school.child.erased"

    child_ref: str
    reports_erased: int
    erased_at: datetime
