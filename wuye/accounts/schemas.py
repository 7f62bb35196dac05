import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import Field


class TokenRequest(Schema):
    username: str = Field(min_length=1, max_length=150, description="Username or 11-digit mobile number")
    password: str = Field(min_length=1, max_length=128)


class TokenOut(Schema):
    token: str
    expires_at: dt.datetime


class MembershipOut(Schema):
    estate_id: int
    estate_name: str
    company_id: int
    company_name: str
    role: str
    role_label: str


class OwnRoomOut(Schema):
    id: int
    label: str
    estate_id: int
    estate_name: str
    building: str
    unit: str
    number: str
    floor: int
    area_m2: Decimal
    relation: str


class MeOut(Schema):
    id: int
    username: str
    name: str
    phone: str | None
    memberships: list[MembershipOut]
    rooms: list[OwnRoomOut]
