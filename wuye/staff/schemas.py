"""Shapes of the appraisal API."""

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema


class ScoreFilters(Schema):
    estate: int = Field(..., description="The estate's id.")
    month: str | None = Field(None, description="YYYY-MM (default: the latest appraised month).")
    post: str | None = Field(None, description="Only this post, e.g. technician.")


class StarFilters(Schema):
    estate: int | None = Field(None, description="Only this estate.")
    month: str | None = Field(None, description="Only this month, YYYY-MM.")


class PersonOut(Schema):
    id: int
    name: str


class ScoreRowOut(Schema):
    id: int
    person: PersonOut
    post: str
    post_label: str
    score: Decimal
    volume: int
    rank: int
    post_rank: int


class ScoreListOut(Schema):
    estate_id: int
    month: str
    scores: list[ScoreRowOut]


class ComponentOut(Schema):
    code: str
    label: str
    raw: dict
    text: str
    weight: int
    share: float
    normalised: float | None
    contribution: Decimal
    counted: bool


class AccountabilityOut(Schema):
    id: int
    opened_at: dt.datetime
    breach_count: int
    threshold: int
    orders: list[str]


class BreakdownOut(Schema):
    id: int
    estate_id: int
    month: str
    person: PersonOut
    post: str
    post_label: str
    score: Decimal
    volume: int
    components: list[ComponentOut]
    accountability: list[AccountabilityOut]


class StarOut(Schema):
    id: int
    estate_id: int
    estate_name: str
    month: str
    person: PersonOut
    post_label: str
    score: Decimal
    citation: str
    status: str
    reason: str


class ConfirmIn(Schema):
    citation: str | None = Field(None, description="Reword why (at most 300 characters); empty keeps the nomination's.")


class RejectIn(Schema):
    reason: str = Field("", description="Why the nomination is rejected (required).")
