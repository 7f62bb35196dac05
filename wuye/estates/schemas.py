from decimal import Decimal

from ninja import Schema


class EstateOut(Schema):
    id: int
    name: str
    code: str
    company_id: int
    company_name: str
    city: str
    address: str
    service_level: str
    service_level_label: str
    building_count: int
    room_count: int
    grid_count: int
    my_roles: list[str]


class BuildingOut(Schema):
    id: int
    name: str
    use: str
    floors: int
    grid_id: int | None
    grid_name: str | None
    unit_count: int
    room_count: int
    position_x_m: int
    position_y_m: int


class GridOut(Schema):
    id: int
    name: str
    leader_id: int | None
    leader_name: str | None
    deputy_id: int | None
    deputy_name: str | None
    building_count: int
    area_count: int


class RoomOut(Schema):
    id: int
    label: str
    estate_id: int
    building: str
    unit: str
    number: str
    floor: int
    area_m2: Decimal


class ResidentOut(Schema):
    user_id: int
    name: str
    phone_masked: str
    relation: str
    relation_label: str


class RoomDetailOut(RoomOut):
    residents: list[ResidentOut] | None


class ImportResultOut(Schema):
    kind: str
    rows: int
    created: int
    updated: int
    dry_run: bool
