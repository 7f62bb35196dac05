"""Importing the ledgers (台账) a company already keeps: its rooms, and its owners with their phone numbers and rooms.

An import writes every row or none. The whole file is checked first, against itself and against the database, and
every problem is reported with its spreadsheet row and the column header as the user wrote it; only a clean file
reaches the writing step, which runs in one transaction. Columns the import does not know (备注, 车位…) are ignored,
so a company can upload the ledger it has without deleting columns first.
"""

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from wuye.accounts import services as account_services
from wuye.accounts.choices import Relation
from wuye.accounts.models import Residency, User
from wuye.core import clock
from wuye.core.errors import FieldError, ValidationFailed
from wuye.core.tabular import FILE_FIELD, Table, TableRow, table_read
from wuye.core.validators import normalize_id_number, normalize_phone

from .models import Building, Estate, Room, Unit

# A report longer than this is not read; the user fixes these and imports again.
MAX_REPORTED_ERRORS = 200
# Chinese buildings number floors from 1 (no floor 0) and basements -1, -2…; the tallest towers have about 130.
MIN_FLOOR = -10
MAX_FLOOR = 200
MAX_AREA_M2 = Decimal("10000")
_IN_BATCH = 500
_WRITE_BATCH = 500


class LedgerKind(models.TextChoices):
    ROOMS = "rooms", gettext_lazy("Rooms ledger")
    OWNERS = "owners", gettext_lazy("Owners ledger")


@dataclass
class ImportResult:
    kind: str
    rows: int
    created: int
    updated: int


@dataclass(frozen=True)
class Column:
    """A column a ledger may have: its canonical name (used in reports when the column is missing), the headers
    accepted for it in Chinese and English, and whether it must be present."""

    name: str
    label: str
    aliases: tuple[str, ...]
    required: bool = False


_ESTATE = Column("estate", "小区", ("小区", "小区名称", "项目", "项目名称", "estate"))
_BUILDING = Column("building", "楼栋", ("楼栋", "楼号", "楼栋号", "栋号", "building"), required=True)
_UNIT = Column("unit", "单元", ("单元", "单元号", "unit"), required=True)
_ROOM = Column("room", "房号", ("房号", "房间号", "门牌号", "room", "room_number"), required=True)

ROOM_COLUMNS = (
    _ESTATE,
    _BUILDING,
    _UNIT,
    _ROOM,
    Column("floor", "楼层", ("楼层", "所在楼层", "floor"), required=True),
    Column("area_m2", "建筑面积", ("建筑面积", "面积", "area_m2", "area"), required=True),
)
OWNER_COLUMNS = (
    _ESTATE,
    Column("name", "姓名", ("姓名", "业主姓名", "name"), required=True),
    Column("phone", "手机号", ("手机号", "手机号码", "手机", "电话", "联系电话", "phone", "mobile"), required=True),
    _BUILDING,
    _UNIT,
    _ROOM,
    Column("relation", "关系", ("关系", "身份", "relation")),
    Column("id_number", "身份证号", ("身份证号", "身份证号码", "身份证", "id_number"), required=False),
    Column("move_in_on", "入住日期", ("入住日期", "入住时间", "move_in_on", "move_in_date"), required=False),
)

RELATION_WORDS = {
    "业主": Relation.OWNER,
    "产权人": Relation.OWNER,
    "owner": Relation.OWNER,
    "家属": Relation.FAMILY,
    "家庭成员": Relation.FAMILY,
    "family": Relation.FAMILY,
    "租户": Relation.TENANT,
    "租客": Relation.TENANT,
    "tenant": Relation.TENANT,
}

_HEADER_NOISE = re.compile(r"[\s_\-*＊]")
# A unit written after the header, e.g. 建筑面积(㎡) or 面积（平方米）.
_HEADER_UNIT = re.compile(r"[(（\[【].*[)）\]】]$")
_WHOLE_NUMBER = re.compile(r"^[+-]?\d+$")
_AREA_UNIT = re.compile(r"(㎡|m²|m2|平方米|平米)$", re.IGNORECASE)
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def _header_key(text: str) -> str:
    return _HEADER_UNIT.sub("", _HEADER_NOISE.sub("", text)).casefold()


@dataclass(frozen=True)
class _BoundColumn:
    column: Column
    index: int
    header: str


class _Report:
    """Row problems, gathered until the report is long enough to be useful."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        # Set once a problem is left out; checking more rows after that only costs time.
        self.full = False

    def add(self, row: TableRow, column: _BoundColumn, code: str, message: str) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(FieldError(field=column.header, code=code, message=str(message), row=row.number))
        else:
            self.full = True

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        count = len(self.errors)
        if self.full:
            message = _("The ledger was not imported: there are more than %(count)d problems. Nothing was changed.") % {
                "count": count
            }
            note = _("Only the first %(count)d problems are listed. Fix them and import the file again.") % {
                "count": count
            }
            errors = [*self.errors, FieldError(field=FILE_FIELD, code="too_many_errors", message=note)]
        else:
            message = ngettext(
                "The ledger was not imported: %(count)d problem was found. Nothing was changed.",
                "The ledger was not imported: %(count)d problems were found. Nothing was changed.",
                count,
            ) % {"count": count}
            errors = self.errors
        raise ValidationFailed(message, errors=errors)


class _Row:
    """One table row read through the ledger's columns."""

    def __init__(self, row: TableRow, columns: dict[str, _BoundColumn], report: _Report) -> None:
        self.row = row
        self.columns = columns
        self.report = report
        self.ok = True

    @property
    def number(self) -> int:
        return self.row.number

    def value(self, name: str) -> str:
        bound = self.columns.get(name)
        return self.row.cell(bound.index) if bound else ""

    def error(self, name: str, code: str, message: str) -> None:
        self.ok = False
        self.report.add(self.row, self.columns[name], code, message)

    def text(self, name: str, max_length: int) -> str:
        value = self.value(name)
        if not value and self.columns[name].column.required:
            self.error(name, "required", _("This cell must not be empty."))
        elif len(value) > max_length:
            self.error(name, "too_long", _("Must be at most %(max)d characters.") % {"max": max_length})
        return value


def ledger_import(*, estate: Estate, kind: str, filename: str, content: bytes, dry_run: bool = False) -> ImportResult:
    """Import a rooms or owners ledger (CSV or .xlsx) into `estate`: all rows or none.

    Raises `ValidationFailed` listing every problem (row, column as written, rule broken) and writes nothing when the
    file, its columns or any row is wrong. With `dry_run` it checks everything and writes nothing even when all is
    well; the counts say what an import would do.
    """
    if kind not in LedgerKind.values:
        message = _("Unknown ledger kind: choose rooms or owners.")
        raise ValidationFailed(message, errors=[FieldError(field="kind", code="invalid_choice", message=message)])
    table = table_read(
        filename=filename,
        content=content,
        max_rows=settings.LEDGER_IMPORT_MAX_ROWS,
        max_bytes=settings.LEDGER_IMPORT_MAX_BYTES,
    )
    if kind == LedgerKind.ROOMS:
        columns = _bind_columns(table, ROOM_COLUMNS)
        plan = _rooms_check(estate, table, columns)
        write = _rooms_write
    else:
        columns = _bind_columns(table, OWNER_COLUMNS)
        plan = _owners_check(estate, table, columns)
        write = _owners_write
    result = ImportResult(kind=str(kind), rows=len(table.rows), created=plan.created, updated=plan.updated)
    if dry_run:
        return result
    try:
        with transaction.atomic():
            write(estate, plan)
    except IntegrityError:
        # Only a concurrent change can get here: every constraint was checked against the database above.
        message = _(
            "This estate's data changed while the file was being imported, so nothing was written. Import it again."
        )
        raise ValidationFailed(
            message, errors=[FieldError(field=FILE_FIELD, code="conflict", message=message)]
        ) from None
    return result


def upload_read(upload) -> bytes:
    """The bytes of an uploaded ledger, read only to one byte past the size limit: `ledger_import` then refuses a
    huge upload without the web process ever holding all of it in memory."""
    return upload.read(settings.LEDGER_IMPORT_MAX_BYTES + 1)


def _bind_columns(table: Table, columns: tuple[Column, ...]) -> dict[str, _BoundColumn]:
    """Match the file's headers to the ledger's columns; raise if a required column is missing or one is doubled."""
    by_alias = {_header_key(alias): column for column in columns for alias in column.aliases}
    bound: dict[str, _BoundColumn] = {}
    errors: list[FieldError] = []
    for index, header in enumerate(table.header):
        column = by_alias.get(_header_key(header)) if header else None
        if column is None:
            continue
        if column.name in bound:
            errors.append(
                FieldError(
                    field=header,
                    code="duplicate_column",
                    message=_("Column %(header)s means the same as column %(other)s; keep only one of them.")
                    % {"header": header, "other": bound[column.name].header},
                )
            )
            continue
        bound[column.name] = _BoundColumn(column=column, index=index, header=header)
    for column in columns:
        if column.required and column.name not in bound:
            errors.append(
                FieldError(
                    field=column.name,
                    code="missing_column",
                    message=_(
                        "Required column %(label)s (%(name)s) is missing. The first non-empty row must hold the "
                        "column headers; accepted headers for this column: %(aliases)s."
                    )
                    % {"label": column.label, "name": column.name, "aliases": ", ".join(column.aliases)},
                )
            )
    if errors:
        raise ValidationFailed(
            _("The ledger was not imported: its columns are not right. Nothing was changed."), errors=errors
        )
    if not table.rows:
        message = _("The file has column headers but no rows of data.")
        raise ValidationFailed(message, errors=[FieldError(field=FILE_FIELD, code="no_rows", message=message)])
    return bound


def _check_estate_cell(line: _Row, estate: Estate) -> None:
    value = line.value("estate")
    if value and value != estate.name and value.casefold() != estate.code.casefold():
        line.error(
            "estate",
            "wrong_estate",
            _("This row is for %(value)s, but the file is being imported into %(estate)s.")
            % {"value": value, "estate": estate.name},
        )


def _label(building: str, unit: str, number: str) -> str:
    return f"{building}-{unit}-{number}"


def _chunks(values: list, size: int = _IN_BATCH) -> Iterator[list]:
    # SQLite refuses statements with too many parameters; look-ups by long lists go in batches.
    for start in range(0, len(values), size):
        yield values[start : start + size]


# Rooms ledger --------------------------------------------------------------------------------------------------------


@dataclass
class _RoomLine:
    row: int
    building: str
    unit: str
    number: str
    floor: int
    area_m2: Decimal


@dataclass
class _RoomsPlan:
    lines: list[_RoomLine]
    buildings: dict[str, Building]
    units: dict[tuple[str, str], Unit]
    rooms: dict[tuple[str, str, str], Room]
    created: int
    updated: int


def _parse_floor(line: _Row) -> int | None:
    value = line.value("floor")
    if not value:
        line.error("floor", "required", _("This cell must not be empty."))
        return None
    if not _WHOLE_NUMBER.match(value):
        line.error("floor", "not_whole_number", _("Must be a whole number."))
        return None
    floor = int(value)
    if floor == 0 or not MIN_FLOOR <= floor <= MAX_FLOOR:
        line.error(
            "floor",
            "floor_out_of_range",
            _("Floor must be between %(min)d and %(max)d and not 0 (basements are -1, -2…).")
            % {"min": MIN_FLOOR, "max": MAX_FLOOR},
        )
        return None
    return floor


def _parse_area(line: _Row) -> Decimal | None:
    value = line.value("area_m2")
    if not value:
        line.error("area_m2", "required", _("This cell must not be empty."))
        return None
    cleaned = _AREA_UNIT.sub("", value.replace(",", "")).strip()
    try:
        area = Decimal(cleaned)
    except InvalidOperation:
        area = None
    if area is None or not area.is_finite():
        line.error("area_m2", "not_number", _("Must be a number of square metres, e.g. 89.5."))
        return None
    if not Decimal(0) < area < MAX_AREA_M2:
        line.error("area_m2", "area_out_of_range", _("Floor area must be greater than 0 and less than 10000 m²."))
        return None
    if area != area.quantize(Decimal("0.01")):
        line.error("area_m2", "too_many_decimals", _("Floor area may have at most 2 decimal places."))
        return None
    return area.quantize(Decimal("0.01"))


def _rooms_check(estate: Estate, table: Table, columns: dict[str, _BoundColumn]) -> _RoomsPlan:
    report = _Report()
    lines: list[_RoomLine] = []
    first_row_of: dict[tuple[str, str, str], int] = {}
    for table_row in table.rows:
        if report.full:
            break
        line = _Row(table_row, columns, report)
        _check_estate_cell(line, estate)
        building = line.text("building", Building._meta.get_field("name").max_length)
        unit = line.text("unit", Unit._meta.get_field("name").max_length)
        number = line.text("room", Room._meta.get_field("number").max_length)
        floor = _parse_floor(line)
        area = _parse_area(line)
        if building and unit and number:
            key = (building, unit, number)
            if key in first_row_of:
                line.error(
                    "room",
                    "duplicate_room",
                    _("Room %(room)s already appears in row %(row)d.")
                    % {"room": _label(*key), "row": first_row_of[key]},
                )
            else:
                first_row_of[key] = line.number
        if line.ok:
            lines.append(_RoomLine(line.number, building, unit, number, floor, area))
    report.raise_if_any()

    buildings = {b.name: b for b in Building.objects.filter(estate=estate)}
    units = {
        (u.building.name, u.name): u for u in Unit.objects.filter(building__estate=estate).select_related("building")
    }
    rooms = {
        (r.building.name, r.unit.name, r.number): r
        for r in Room.objects.filter(unit__building__estate=estate).select_related("building", "unit")
    }
    updated = sum(1 for line in lines if (line.building, line.unit, line.number) in rooms)
    return _RoomsPlan(lines, buildings, units, rooms, created=len(lines) - updated, updated=updated)


def _rooms_write(estate: Estate, plan: _RoomsPlan) -> None:
    top_floor: dict[str, int] = defaultdict(lambda: 1)
    for line in plan.lines:
        top_floor[line.building] = max(top_floor[line.building], line.floor)
    buildings = dict(plan.buildings)
    for name, floors in top_floor.items():
        building = buildings.get(name)
        if building is None:
            buildings[name] = Building.objects.create(estate=estate, name=name, floors=floors)
        elif building.floors < floors:
            building.floors = floors
            building.save(update_fields=["floors", "updated_at"])
    units = dict(plan.units)
    for line in plan.lines:
        if (line.building, line.unit) not in units:
            units[(line.building, line.unit)] = Unit.objects.create(building=buildings[line.building], name=line.unit)

    now = clock.now()
    new_rooms: list[Room] = []
    changed_rooms: list[Room] = []
    for line in plan.lines:
        room = plan.rooms.get((line.building, line.unit, line.number))
        if room is None:
            new_rooms.append(
                Room(
                    estate=estate,
                    building=buildings[line.building],
                    unit=units[(line.building, line.unit)],
                    number=line.number,
                    floor=line.floor,
                    area_m2=line.area_m2,
                )
            )
        elif room.floor != line.floor or room.area_m2 != line.area_m2:
            room.floor, room.area_m2, room.updated_at = line.floor, line.area_m2, now
            changed_rooms.append(room)
    Room.objects.bulk_create(new_rooms, batch_size=_WRITE_BATCH)
    # bulk_update skips auto_now, so updated_at is set above.
    Room.objects.bulk_update(changed_rooms, ["floor", "area_m2", "updated_at"], batch_size=_WRITE_BATCH)


# Owners ledger -------------------------------------------------------------------------------------------------------


@dataclass
class _OwnerLine:
    source: _Row
    name: str
    phone: str
    room: Room
    relation: str
    id_number: str
    move_in_on: dt.date | None


@dataclass
class _OwnersPlan:
    lines: list[_OwnerLine]
    users: dict[str, User]
    current: dict[tuple[int, int], Residency]
    created: int
    updated: int


def _parse_phone(line: _Row) -> str:
    value = line.value("phone")
    if not value:
        line.error("phone", "required", _("This cell must not be empty."))
        return ""
    try:
        return normalize_phone(value)
    except ValidationError as error:
        line.error("phone", error.code or "phone", error.messages[0])
        return ""


def _parse_id_number(line: _Row) -> str:
    value = line.value("id_number")
    if not value:
        return ""
    try:
        return normalize_id_number(value)
    except ValidationError as error:
        line.error("id_number", error.code or "id_number", error.messages[0])
        return ""


def _parse_relation(line: _Row) -> str:
    value = line.value("relation")
    if not value:
        return Relation.OWNER
    relation = RELATION_WORDS.get(value.casefold())
    if relation is None:
        line.error("relation", "invalid_choice", _("Must be one of: 业主, 家属, 租户 (owner, family, tenant)."))
        return Relation.OWNER
    return relation


def _parse_date(line: _Row, name: str) -> dt.date | None:
    value = line.value(name)
    if not value:
        return None
    match = _DATE.match(value) or _COMPACT_DATE.match(value)
    try:
        if match is None:
            raise ValueError
        year, month, day = (int(part) for part in match.groups())
        if not 1900 <= year <= 2100:
            raise ValueError
        return dt.date(year, month, day)
    except ValueError:
        line.error(name, "invalid_date", _("Must be a date like 2024-05-01 or 2024/5/1."))
        return None


def _owners_check(estate: Estate, table: Table, columns: dict[str, _BoundColumn]) -> _OwnersPlan:
    report = _Report()
    rooms = {
        (r.building.name, r.unit.name, r.number): r
        for r in Room.objects.filter(unit__building__estate=estate).select_related("building", "unit")
    }
    building_names = {key[0] for key in rooms} | set(
        Building.objects.filter(estate=estate).values_list("name", flat=True)
    )
    unit_names = {key[:2] for key in rooms} | {
        (b, u) for b, u in Unit.objects.filter(building__estate=estate).values_list("building__name", "name")
    }

    lines: list[_OwnerLine] = []
    first_name_of: dict[str, tuple[str, int]] = {}
    first_id_number_of: dict[str, tuple[str, int]] = {}
    first_link_of: dict[tuple[str, int], int] = {}
    for table_row in table.rows:
        if report.full:
            break
        line = _Row(table_row, columns, report)
        _check_estate_cell(line, estate)
        name = line.text("name", User._meta.get_field("name").max_length)
        phone = _parse_phone(line)
        building = line.value("building")
        unit = line.value("unit")
        number = line.value("room")
        for column_name, value in (("building", building), ("unit", unit), ("room", number)):
            if not value:
                line.error(column_name, "required", _("This cell must not be empty."))
        relation = _parse_relation(line)
        id_number = _parse_id_number(line)
        move_in_on = _parse_date(line, "move_in_on")

        room = None
        if building and unit and number:
            room = rooms.get((building, unit, number))
            if room is None:
                if building not in building_names:
                    missing = "building"
                elif (building, unit) not in unit_names:
                    missing = "unit"
                else:
                    missing = "room"
                line.error(
                    missing,
                    "unknown_room",
                    _("Room %(room)s does not exist in %(estate)s; import the rooms ledger first.")
                    % {"room": _label(building, unit, number), "estate": estate.name},
                )
        if phone and name:
            earlier_name, earlier_row = first_name_of.setdefault(phone, (name, line.number))
            if earlier_name != name:
                line.error(
                    "name",
                    "phone_has_two_names",
                    _("Row %(row)d gives phone %(phone)s to %(other)s; one phone number belongs to one person.")
                    % {"row": earlier_row, "phone": phone, "other": earlier_name},
                )
        if phone and id_number:
            earlier_id, earlier_row = first_id_number_of.setdefault(phone, (id_number, line.number))
            if earlier_id != id_number:
                line.error(
                    "id_number",
                    "phone_has_two_id_numbers",
                    _("Row %(row)d gives the person with phone %(phone)s a different ID number.")
                    % {"row": earlier_row, "phone": phone},
                )
        if phone and room is not None:
            earlier_row = first_link_of.setdefault((phone, room.id), line.number)
            if earlier_row != line.number:
                line.error(
                    "phone",
                    "duplicate_link",
                    _("%(phone)s is already linked to room %(room)s in row %(row)d.")
                    % {"phone": phone, "room": room.label, "row": earlier_row},
                )
        if line.ok:
            lines.append(_OwnerLine(line, name, phone, room, relation, id_number, move_in_on))
    report.raise_if_any()

    phones = sorted({line.phone for line in lines})
    users: dict[str, User] = {}
    for batch in _chunks(phones):
        users.update({user.phone: user for user in User.objects.filter(phone__in=batch)})
    # New owners get their phone number as username; an unrelated account may already have taken it.
    taken_usernames: set[str] = set()
    for batch in _chunks([phone for phone in phones if phone not in users]):
        taken_usernames.update(User.objects.filter(username__in=batch).values_list("username", flat=True))
    phone_reported: set[str] = set()
    for line in lines:
        if report.full:
            break
        user = users.get(line.phone)
        if line.phone in taken_usernames and line.phone not in phone_reported:
            phone_reported.add(line.phone)
            line.source.error(
                "phone",
                "username_taken",
                _("Another account already uses %(phone)s as its username but is not recorded with that phone number.")
                % {"phone": line.phone},
            )
        if user is not None and line.id_number and user.id_number and user.id_number != line.id_number:
            line.source.error(
                "id_number",
                "id_number_mismatch",
                _("The person with phone %(phone)s is already recorded with a different ID number.")
                % {"phone": line.phone},
            )
    report.raise_if_any()

    current: dict[tuple[int, int], Residency] = {}
    user_ids = [user.id for user in users.values()]
    for batch in _chunks(user_ids):
        for residency in Residency.objects.filter(
            user_id__in=batch, room__unit__building__estate=estate, move_out_on__isnull=True
        ):
            current[(residency.user_id, residency.room_id)] = residency
    updated = sum(1 for line in lines if line.phone in users and (users[line.phone].id, line.room.id) in current)
    return _OwnersPlan(lines, users, current, created=len(lines) - updated, updated=updated)


def _owners_write(estate: Estate, plan: _OwnersPlan) -> None:
    users = dict(plan.users)
    new_users: dict[str, User] = {}
    filled: dict[str, set[str]] = defaultdict(set)
    for line in plan.lines:
        user = users.get(line.phone)
        if user is None:
            user = new_users.get(line.phone)
            if user is None:
                user = User(username=line.phone, phone=line.phone, name=line.name, id_number=line.id_number)
                # Owners activate their accounts later; until then nobody can sign in to this one with a password.
                user.set_unusable_password()
                new_users[line.phone] = user
            elif line.id_number and not user.id_number:
                user.id_number = line.id_number
            continue
        # A person already on record keeps the details they have; the ledger only fills what is blank.
        if line.name and not user.name:
            user.name = line.name
            filled[line.phone].add("name")
        if line.id_number and not user.id_number:
            user.id_number = line.id_number
            filled[line.phone].add("id_number")
    User.objects.bulk_create(list(new_users.values()), batch_size=_WRITE_BATCH)
    for phone, fields in filled.items():
        users[phone].save(update_fields=sorted(fields))
    users.update(new_users)

    for line in plan.lines:
        user = users[line.phone]
        residency = plan.current.get((user.id, line.room.id))
        if residency is None:
            account_services.residency_create(
                user=user, room=line.room, relation=line.relation, move_in_on=line.move_in_on
            )
        elif residency.move_in_on is None and line.move_in_on is not None:
            residency.move_in_on = line.move_in_on
            residency.save(update_fields=["move_in_on", "updated_at"])
