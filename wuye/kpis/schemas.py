"""Shapes of the KPI API."""

import datetime as dt

from ninja import Field, Schema


class KpiFilters(Schema):
    scope: str | None = Field(
        None, description="company, company:ID, estate:ID, grid:ID or person:GRID_ID:USER_ID (default: company)."
    )
    from_: str | None = Field(None, alias="from", description="First day, e.g. 2026-11-01 (default: 1st of month).")
    to: str | None = Field(None, description="Last day, e.g. 2026-11-27 (default: today).")
    month: str | None = Field(None, description="A whole month instead of from/to, e.g. 2026-10.")


class ScopeOut(Schema):
    key: str
    level: str
    name: str


class KpiOut(Schema):
    code: str
    label: str
    group: str
    unit: str
    direction: str
    value: float | None
    last_year: float | None
    target: float | None
    status: str


class TrendOut(Schema):
    months: list[str]
    series: dict[str, list[float | None]]
    last_year: dict[str, list[float | None]]


class ChildOut(Schema):
    name: str
    scope: str | None
    orders: int
    values: dict[str, float | None]
    statuses: dict[str, str]


class DashboardOut(Schema):
    scope: ScopeOut
    from_: dt.date = Field(..., alias="from")
    to: dt.date
    last_year_from: dt.date
    last_year_to: dt.date
    orders: int
    orders_last_year: int
    households: int | None
    kpis: list[KpiOut]
    trend: TrendOut
    children: list[ChildOut]
