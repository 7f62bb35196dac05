import datetime as dt

from ninja import Schema
from pydantic import Field


class NotificationFilters(Schema):
    unread: bool | None = Field(None, description="true: only unread; false: only read; absent: all")
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    estate_id: int | None
    estate_name: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None
    is_read: bool


class NotificationPageOut(Schema):
    count: int
    unread_count: int
    items: list[NotificationOut]


class MarkedOut(Schema):
    marked: int
