"""What the contacts service accepts and returns.

Optional text fields take ``""`` as "not given", as web forms and CSV files send
it. Phones are checked for shape here; ``phones.py`` parses them with the
configured default region.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, EmailStr, Field, StringConstraints

from crm.validation import Day, Id, QueryDateTime, ShortText, StrictInput, blankable, whole_number
from services.contacts import geo


def _lower(value: str) -> str:
    return value.lower()


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _unique_tags(tags: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for tag in tags:
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            kept.append(tag)
    return kept


_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"

Email = Annotated[EmailStr, StringConstraints(max_length=254), AfterValidator(_lower)]
PhoneText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[0-9+()./ \-A-Za-z]*$"),
]
PostalCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20, pattern=_NO_CONTROL)
]
Website = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=r"^\S+$")
]
# Several lines allowed: tabs and line breaks, no other control characters.
LongText = Annotated[
    str, StringConstraints(max_length=10_000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")
]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=_NO_CONTROL)
]
InterestName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_NO_CONTROL)
]
Limit = whole_number(ge=1, le=200)
Version = whole_number(ge=1)
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=_NO_CONTROL)]

OptionalText = blankable(ShortText)
OptionalEmail = blankable(Email)
OptionalPhone = blankable(PhoneText)
OptionalPostalCode = blankable(PostalCode)
OptionalWebsite = blankable(Website)
OptionalDay = blankable(Day)
OptionalLongText = blankable(LongText)

Direction = Literal["asc", "desc"]
Match = Literal["all", "any"]
PositionSource = Literal["typed", "phone_gps", "import"]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, description="WGS84 degrees")]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, description="WGS84 degrees")]


def _near_point(value: str) -> str:
    geo.parse_point(value)
    return value


# "lat,lon" in WGS84 degrees: the position a list is sorted around, nearest first.
NearPoint = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=60),
    AfterValidator(_near_point),
    Field(examples=["48.8566,2.3522"]),
]
# Metres, more than 0, at most half the Earth's circumference.
WithinMetres = Annotated[float, Field(gt=0, le=20_015_115, allow_inf_nan=False)]
ContactSort = Literal["last_name", "first_name", "email", "created_at", "updated_at"]
CompanySort = Literal["name", "group", "city", "created_at", "updated_at"]


class Position(StrictInput):
    """Where the address is, in WGS84 degrees (numbers, not text), and how it was obtained."""

    latitude: Latitude
    longitude: Longitude
    source: PositionSource = Field(default="typed", description="typed, phone_gps or import")


class Address(StrictInput):
    street: OptionalText = None
    postal_code: OptionalPostalCode = None
    city: OptionalText = None
    country: OptionalText = None
    position: Position | None = Field(
        default=None, description="Null clears it; in an update it is replaced whole, not merged"
    )


class Social(StrictInput):
    """Profiles as URLs or handles."""

    linkedin: OptionalText = None
    facebook: OptionalText = None
    x: OptionalText = None
    viadeo: OptionalText = None


# -- companies -------------------------------------------------------------------


class CompanyCreate(StrictInput):
    id: Id | None = None
    name: ShortText
    group: OptionalText = Field(default=None, description='Sites of one business share it, e.g. "Pomme"')
    address: Address | None = None
    phone: OptionalPhone = None
    email: OptionalEmail = None
    website: OptionalWebsite = None
    social: Social | None = None
    notes: OptionalLongText = None
    tags: Annotated[list[Tag], Field(max_length=50), AfterValidator(_unique_tags)] = []


class CompanyUpdate(StrictInput):
    """Only the fields given change; null clears one (not ``name``). Address and
    social profiles are merged key by key."""

    name: ShortText | None = None
    group: OptionalText = None
    address: Address | None = None
    phone: OptionalPhone = None
    email: OptionalEmail = None
    website: OptionalWebsite = None
    social: Social | None = None
    notes: OptionalLongText = None
    tags: Annotated[list[Tag], Field(max_length=50), AfterValidator(_unique_tags)] | None = None
    # Optimistic concurrency: if given and stale, the update is a 409.
    version: Version | None = None


# -- employments -----------------------------------------------------------------


class EmploymentFields(StrictInput):
    id: Id | None = None
    function: OptionalText = None
    phone: OptionalPhone = None
    mobile: OptionalPhone = None
    email: OptionalEmail = None
    start_date: Day | None = None
    end_date: Day | None = None


class EmploymentCreate(EmploymentFields):
    company_id: Id


class EmploymentUpdate(StrictInput):
    function: OptionalText = None
    phone: OptionalPhone = None
    mobile: OptionalPhone = None
    email: OptionalEmail = None
    start_date: Day | None = None
    end_date: Day | None = None
    version: Version | None = None


# -- contacts --------------------------------------------------------------------


class ContactFields(StrictInput):
    id: Id | None = None
    first_name: OptionalText = None
    last_name: OptionalText = None
    phone: OptionalPhone = None
    mobile: OptionalPhone = None
    email: OptionalEmail = None
    address: Address | None = None
    note: OptionalLongText = None
    birthday: OptionalDay = None
    website: OptionalWebsite = None
    social: Social | None = None
    interests: Annotated[list[Id], Field(max_length=100)] = []


class ContactCreate(ContactFields):
    employments: Annotated[list[EmploymentCreate], Field(max_length=50)] = []


class ContactUpdate(StrictInput):
    """Only the fields given change; null clears one. ``interests`` replaces the list."""

    first_name: OptionalText = None
    last_name: OptionalText = None
    phone: OptionalPhone = None
    mobile: OptionalPhone = None
    email: OptionalEmail = None
    address: Address | None = None
    note: OptionalLongText = None
    birthday: OptionalDay = None
    website: OptionalWebsite = None
    social: Social | None = None
    interests: Annotated[list[Id], Field(max_length=100)] | None = None
    version: Version | None = None


class ContactAtNewCompany(ContactFields):
    employment: EmploymentFields | None = None


class CompanyWithContacts(StrictInput):
    company: CompanyCreate
    contacts: Annotated[list[ContactAtNewCompany], Field(max_length=200)] = []


# -- interests -------------------------------------------------------------------


class InterestCreate(StrictInput):
    id: Id | None = None
    name: InterestName


class InterestQuery(StrictInput):
    interest_ids: Annotated[list[Id], Field(min_length=1, max_length=50)]
    match: Match = "all"
    limit: Limit = 50
    cursor: Cursor | None = None


# -- search ----------------------------------------------------------------------


class ContactSearch(StrictInput):
    q: SearchText | None = None
    sort: ContactSort = "last_name"
    direction: Direction = "asc"
    limit: Limit = 50
    cursor: Cursor | None = None
    updated_since: QueryDateTime | None = None
    near: NearPoint | None = None
    within_m: WithinMetres | None = None
    # true: the archived records (deleted, not purged) instead of the live ones.
    archived: bool | None = None


class CompanySearch(StrictInput):
    q: SearchText | None = None
    sort: CompanySort = "name"
    direction: Direction = "asc"
    limit: Limit = 50
    cursor: Cursor | None = None
    updated_since: QueryDateTime | None = None
    near: NearPoint | None = None
    within_m: WithinMetres | None = None
    # true: the archived records (deleted, not purged) instead of the live ones.
    archived: bool | None = None


# Outputs: documented for the OpenAPI document; the service returns plain dicts.


class PositionOut(BaseModel):
    latitude: float
    longitude: float
    source: PositionSource


class AddressOut(BaseModel):
    street: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    position: PositionOut | None


class SocialOut(BaseModel):
    linkedin: str | None
    facebook: str | None
    x: str | None
    viadeo: str | None


class CompanyOut(BaseModel):
    id: str
    org_id: str
    name: str
    group: str | None
    address: AddressOut
    phone: str | None = Field(description="As typed")
    phone_e164: str | None
    email: str | None
    website: str | None
    social: SocialOut
    notes: str | None
    tags: list[str]
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class CompanyRef(BaseModel):
    id: str
    name: str
    group: str | None
    deleted: bool


class EmploymentOut(BaseModel):
    id: str
    org_id: str
    contact_id: str
    company_id: str
    company: CompanyRef
    function: str | None
    phone: str | None
    phone_e164: str | None
    mobile: str | None
    mobile_e164: str | None
    email: str | None
    start_date: date | None
    end_date: date | None
    current: bool = Field(description="No end date, or one today or later, at a company not deleted")
    version: int
    created_at: datetime
    updated_at: datetime


class CurrentCompany(BaseModel):
    id: str
    name: str
    group: str | None
    function: str | None
    employment_id: str


class ContactOut(BaseModel):
    id: str
    org_id: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    phone_e164: str | None
    mobile: str | None
    mobile_e164: str | None
    email: str | None
    address: AddressOut
    note: str | None
    birthday: date | None
    website: str | None
    social: SocialOut
    interests: list[str] = Field(description="Interest ids")
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class ContactDetailOut(ContactOut):
    employments: list[EmploymentOut] = Field(description="Full history, latest start first")


class Employee(BaseModel):
    contact_id: str
    first_name: str | None
    last_name: str | None
    function: str | None
    employment_id: str


class CompanyWithEmployeesOut(CompanyOut):
    contacts: list[Employee] = Field(description="Current employees")


class ContactListItem(ContactOut):
    current_companies: list[CurrentCompany]
    distance_m: int | None = Field(
        default=None, description="With near: metres from that position (great circle), rounded; else null"
    )


class CompanyListItem(CompanyOut):
    matching_contacts: list[Employee] | None = Field(
        default=None, description="In interest queries: the current employees who match"
    )
    distance_m: int | None = Field(
        default=None, description="With near: metres from that position (great circle), rounded; else null"
    )


class ContactPage(BaseModel):
    items: list[ContactListItem]
    next_cursor: str | None


class CompanyPage(BaseModel):
    items: list[CompanyListItem]
    next_cursor: str | None


class InterestOut(BaseModel):
    id: str
    org_id: str
    name: str
    created_at: datetime


class InterestList(BaseModel):
    items: list[InterestOut]


class CreatedCompanyOut(CompanyOut):
    created: bool = Field(description="False when the same id and content already existed")


class CreatedContactOut(ContactDetailOut):
    created: bool = Field(description="False when the same id and content already existed")


class CreatedEmploymentOut(EmploymentOut):
    created: bool = Field(description="False when the same id and content already existed")


class CreatedInterestOut(InterestOut):
    created: bool = Field(description="False when the same id and name already existed")


class CompanyWithContactsOut(BaseModel):
    company: CreatedCompanyOut
    contacts: list[CreatedContactOut]
