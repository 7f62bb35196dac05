"""Ledger import: rooms and owners from the files companies keep, all rows or none, every problem named."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError
from django.utils import translation

from wuye.accounts import services as account_services
from wuye.accounts.choices import Relation, Role
from wuye.accounts.models import Membership, Residency, User
from wuye.core.errors import ValidationFailed
from wuye.core.validators import id_number_checksum_ok
from wuye.estates.ledgers import MAX_REPORTED_ERRORS, LedgerKind, ledger_import, upload_read
from wuye.estates.models import Building, Room, Unit
from wuye.testing import factories

pytestmark = pytest.mark.django_db

ROOMS_HEADER = ["楼栋", "单元", "房号", "楼层", "建筑面积"]
OWNERS_HEADER = ["姓名", "手机号", "楼栋", "单元", "房号", "关系", "身份证号", "入住日期"]


@pytest.fixture(autouse=True)
def english():
    # Messages are asserted in their English source text; the Chinese catalogue may translate them later.
    with translation.override("en"):
        yield


@pytest.fixture
def estate(db):
    return factories.EstateFactory(name="翠湖花园", code="cuihu-garden")


@pytest.fixture
def rooms(estate):
    """Building 1 unit 1 with rooms 101 and 102, and building 3 unit 2 with room 1502, as a rooms import makes them."""
    ledger_import(
        estate=estate,
        kind=LedgerKind.ROOMS,
        filename="rooms.csv",
        content=csv_bytes(
            ROOMS_HEADER, ["1", "1", "101", "1", "89.5"], ["1", "1", "102", "1", "90"], ["3", "2", "1502", "15", "120"]
        ),
    )
    return {room.label: room for room in Room.objects.filter(estate=estate).select_related("building", "unit")}


def csv_bytes(*rows, encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(*rows) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def valid_id_number(first_17: str) -> str:
    return next(first_17 + check for check in "0123456789X" if id_number_checksum_ok(first_17 + check))


def import_rooms(estate, *rows, header=ROOMS_HEADER, **kwargs):
    return ledger_import(estate=estate, kind="rooms", filename="rooms.csv", content=csv_bytes(header, *rows), **kwargs)


def import_owners(estate, *rows, header=OWNERS_HEADER, **kwargs):
    return ledger_import(
        estate=estate, kind="owners", filename="owners.csv", content=csv_bytes(header, *rows), **kwargs
    )


def problems(excinfo) -> list[tuple]:
    """(row, column, code) of every reported problem, in report order."""
    return [(error.row, error.field, error.code) for error in excinfo.value.errors]


def message_at(excinfo, row: int) -> str:
    return next(error.message for error in excinfo.value.errors if error.row == row)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Building, Unit, Room, User, Residency, Membership)}


# Rooms ledger ---------------------------------------------------------------------------------------------------------


def test_rooms_csv_creates_buildings_units_and_rooms_in_the_estate(estate):
    result = import_rooms(
        estate,
        ["1", "1", "101", "1", "89.50"],
        ["1", "2", "1801", "18", "120.05"],
        ["1", "2", "B101", "-1", "35"],
        ["2栋", "1", "301", "3", "1,200.5"],
    )
    assert (result.kind, result.rows, result.created, result.updated) == ("rooms", 4, 4, 0)
    assert {(b.name, b.floors) for b in Building.objects.filter(estate=estate)} == {("1", 18), ("2栋", 3)}
    assert sorted(Unit.objects.filter(building__estate=estate).values_list("building__name", "name")) == [
        ("1", "1"),
        ("1", "2"),
        ("2栋", "1"),
    ]
    rooms = {room.label: room for room in Room.objects.filter(estate=estate)}
    assert set(rooms) == {"1-1-101", "1-2-1801", "1-2-B101", "2栋-1-301"}
    assert rooms["1-2-B101"].floor == -1
    assert rooms["1-2-1801"].area_m2 == Decimal("120.05")
    assert rooms["2栋-1-301"].area_m2 == Decimal("1200.50")
    assert all(
        room.estate_id == room.building.estate_id == room.unit.building.estate_id == estate.id
        for room in rooms.values()
    )


def test_rooms_xlsx_with_numeric_cells_and_english_headers_creates_rooms(estate):
    content = xlsx_bytes(
        ["Building ", "UNIT", "Room", "floor", "Area_m2", "Remarks"],
        [1, 1, 101, 1, 89.5, "south"],
        [1, 1, 102.0, 1, 90, None],
    )
    result = ledger_import(estate=estate, kind=LedgerKind.ROOMS, filename="台账.xlsx", content=content)
    assert (result.rows, result.created) == (2, 2)
    assert sorted(Room.objects.filter(estate=estate).values_list("number", "area_m2")) == [
        ("101", Decimal("89.50")),
        ("102", Decimal("90.00")),
    ]


def test_rooms_gbk_csv_from_chinese_excel_imports(estate):
    content = csv_bytes(
        ["楼栋", "单元", "房号", "楼层", "面积(㎡)"], ["3栋", "2单元", "1502", "15", "120"], encoding="gbk"
    )
    result = ledger_import(estate=estate, kind="rooms", filename="房屋台账.csv", content=content)
    assert result.created == 1
    assert Room.objects.get(estate=estate).label == "3栋-2单元-1502"


def test_missing_required_columns_are_each_named_and_nothing_is_written(estate):
    before = row_counts()
    with pytest.raises(ValidationFailed) as excinfo:
        import_rooms(estate, ["1", "1", "101", "89.5"], header=["楼栋", "单元", "房号", "面积"])
    assert problems(excinfo) == [(None, "floor", "missing_column")]
    assert "楼层" in excinfo.value.errors[0].message
    with pytest.raises(ValidationFailed) as excinfo:
        import_rooms(estate, ["王芳", "13812345678"], header=["姓名", "手机号"])
    assert [field for _row, field, _code in problems(excinfo)] == ["building", "unit", "room", "floor", "area_m2"]
    assert row_counts() == before


def test_owners_file_uploaded_as_rooms_ledger_is_refused_by_its_columns(estate):
    with pytest.raises(ValidationFailed) as excinfo:
        import_rooms(estate, ["王芳", "13812345678", "1", "1", "101", "", "", ""], header=OWNERS_HEADER)
    assert problems(excinfo) == [(None, "floor", "missing_column"), (None, "area_m2", "missing_column")]


def test_two_headers_meaning_the_same_column_are_refused(estate):
    with pytest.raises(ValidationFailed) as excinfo:
        import_rooms(estate, ["1", "1", "101", "1", "89", "90"], header=[*ROOMS_HEADER, "面积"])
    assert problems(excinfo) == [(None, "面积", "duplicate_column")]


def test_every_bad_cell_is_reported_with_its_row_and_column_as_written(estate):
    with pytest.raises(ValidationFailed) as excinfo:
        import_rooms(
            estate,
            ["1", "1", "101", "十五", "89.5"],
            ["1", "1", "102", "1", "0"],
            ["1", "1", "103", "1", "89.555"],
            ["1", "1", "104", "0", "89.5"],
            ["", "1", "105", "1", "89.5"],
            ["1", "1", "106", "1", "10000"],
            ["1", "1", "107", "1.5", "abc"],
            ["1", "1", "108", "300", "89"],
            ["1", "1", "109", "1", "89.5"],
        )
    assert problems(excinfo) == [
        (2, "楼层", "not_whole_number"),
        (3, "建筑面积", "area_out_of_range"),
        (4, "建筑面积", "too_many_decimals"),
        (5, "楼层", "floor_out_of_range"),
        (6, "楼栋", "required"),
        (7, "建筑面积", "area_out_of_range"),
        (8, "楼层", "not_whole_number"),
        (8, "建筑面积", "not_number"),
        (9, "楼层", "floor_out_of_range"),
    ]
    assert message_at(excinfo, 2) == "Must be a whole number."
    assert message_at(excinfo, 3) == "Floor area must be greater than 0 and less than 10000 m²."
    assert "9 problems" in excinfo.value.message
    assert Room.objects.filter(estate=estate).count() == 0


def test_duplicate_room_in_the_file_is_reported_on_the_later_row_naming_the_earlier(estate):
    with pytest.raises(ValidationFailed) as excinfo:
        import_rooms(estate, ["1", "1", "101", "1", "89"], ["1", "1", "102", "1", "89"], ["1", "1", "101", "1", "90"])
    assert problems(excinfo) == [(4, "房号", "duplicate_room")]
    assert message_at(excinfo, 4) == "Room 1-1-101 already appears in row 2."
    assert Room.objects.count() == 0


def test_estate_column_must_name_the_target_estate(estate):
    header = ["小区", *ROOMS_HEADER]
    result = import_rooms(
        estate, ["翠湖花园", "1", "1", "101", "1", "89"], ["CUIHU-GARDEN", "1", "1", "102", "1", "89"], header=header
    )
    assert result.created == 2
    with pytest.raises(ValidationFailed) as excinfo:
        import_rooms(estate, ["他山小区", "1", "1", "103", "1", "89"], header=header)
    assert problems(excinfo) == [(2, "小区", "wrong_estate")]


def test_one_bad_row_among_good_ones_writes_nothing_at_all(estate):
    factories.UserFactory()  # rows that exist already must stay as they are, too
    before = row_counts()
    with pytest.raises(ValidationFailed) as excinfo:
        import_rooms(estate, ["1", "1", "101", "1", "89"], ["9", "1", "901", "9", "95"], ["1", "1", "102", "one", "89"])
    assert problems(excinfo) == [(4, "楼层", "not_whole_number")]
    assert row_counts() == before


def test_reimport_updates_existing_rooms_instead_of_duplicating_them(estate):
    import_rooms(estate, ["1", "1", "101", "1", "89"], ["1", "1", "102", "1", "90"])
    room_ids = set(Room.objects.values_list("id", flat=True))
    result = import_rooms(
        estate, ["1", "1", "101", "1", "88.8"], ["1", "1", "102", "1", "90"], ["1", "1", "2001", "20", "100"]
    )
    assert (result.rows, result.created, result.updated) == (3, 1, 2)
    assert room_ids < set(Room.objects.values_list("id", flat=True))
    assert Room.objects.count() == 3 and Building.objects.count() == 1 and Unit.objects.count() == 1
    assert Room.objects.get(number="101").area_m2 == Decimal("88.80")
    assert Building.objects.get().floors == 20


def test_rooms_of_another_estate_with_the_same_labels_are_left_alone(estate):
    other = factories.RoomFactory(
        unit=factories.UnitFactory(building=factories.BuildingFactory(name="1"), name="1"), number="101"
    )
    result = import_rooms(estate, ["1", "1", "101", "1", "70"])
    assert (result.created, result.updated) == (1, 0)
    other.refresh_from_db()
    assert other.area_m2 == Decimal("89.50")
    assert Room.objects.filter(number="101").count() == 2


def test_rooms_dry_run_checks_and_counts_but_writes_nothing(estate):
    import_rooms(estate, ["1", "1", "101", "1", "89"])
    before = row_counts()
    result = import_rooms(estate, ["1", "1", "101", "1", "60"], ["2", "1", "201", "2", "60"], dry_run=True)
    assert (result.rows, result.created, result.updated) == (2, 1, 1)
    assert row_counts() == before
    assert Room.objects.get().area_m2 == Decimal("89.00")
    with pytest.raises(ValidationFailed):
        import_rooms(estate, ["1", "1", "101", "x", "60"], dry_run=True)


# File-level problems --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", LedgerKind.values)
def test_empty_file_is_refused_with_a_file_error(estate, kind):
    with pytest.raises(ValidationFailed) as excinfo:
        ledger_import(estate=estate, kind=kind, filename="empty.csv", content=b"")
    assert problems(excinfo) == [(None, "file", "empty_file")]


@pytest.mark.parametrize(("kind", "header"), [("rooms", ROOMS_HEADER), ("owners", OWNERS_HEADER)])
def test_header_only_file_is_refused_as_having_no_rows(estate, kind, header):
    with pytest.raises(ValidationFailed) as excinfo:
        ledger_import(estate=estate, kind=kind, filename="t.xlsx", content=xlsx_bytes(header))
    assert problems(excinfo) == [(None, "file", "no_rows")]


def test_file_with_more_rows_than_allowed_is_refused_and_writes_nothing(estate, settings):
    settings.LEDGER_IMPORT_MAX_ROWS = 3
    rows = [["1", "1", str(100 + n), "1", "89"] for n in range(4)]
    with pytest.raises(ValidationFailed) as excinfo:
        import_rooms(estate, *rows)
    assert problems(excinfo) == [(None, "file", "too_many_rows")]
    assert "3 rows" in excinfo.value.errors[0].message
    assert Room.objects.count() == 0
    assert import_rooms(estate, *rows[:3]).created == 3


def test_file_over_the_byte_limit_is_refused_and_writes_nothing(estate, settings):
    content = csv_bytes(ROOMS_HEADER, *[["1", "1", str(1000 + n), "10", "89.5"] for n in range(200)])
    settings.LEDGER_IMPORT_MAX_BYTES = len(content) - 1
    with pytest.raises(ValidationFailed) as excinfo:
        ledger_import(estate=estate, kind="rooms", filename="big.csv", content=content)
    assert problems(excinfo) == [(None, "file", "file_too_large")]
    assert Room.objects.count() == 0


def test_an_upload_is_read_only_to_just_past_the_byte_limit(settings):
    settings.LEDGER_IMPORT_MAX_BYTES = 10
    assert upload_read(SimpleUploadedFile("big.csv", b"x" * 1000)) == b"x" * 11
    assert upload_read(SimpleUploadedFile("small.csv", b"x" * 5)) == b"x" * 5


def test_a_file_full_of_errors_gets_a_capped_report_with_a_closing_note(estate):
    rows = [["1", "1", str(1000 + n), "x", "89"] for n in range(MAX_REPORTED_ERRORS + 50)]
    with pytest.raises(ValidationFailed) as excinfo:
        import_rooms(estate, *rows)
    errors = excinfo.value.errors
    assert len(errors) == MAX_REPORTED_ERRORS + 1
    assert [error.row for error in errors[:MAX_REPORTED_ERRORS]] == list(range(2, MAX_REPORTED_ERRORS + 2))
    assert (errors[-1].field, errors[-1].code, errors[-1].row) == ("file", "too_many_errors", None)
    assert "more than 200" in excinfo.value.message


def test_exactly_as_many_errors_as_the_cap_are_all_listed_without_the_note(estate):
    rows = [["1", "1", str(1000 + n), "x", "89"] for n in range(MAX_REPORTED_ERRORS)]
    with pytest.raises(ValidationFailed) as excinfo:
        import_rooms(estate, *rows)
    assert len(excinfo.value.errors) == MAX_REPORTED_ERRORS
    assert excinfo.value.errors[-1].code == "not_whole_number"
    assert "200 problems were found" in excinfo.value.message


def test_unknown_ledger_kind_is_refused(estate):
    with pytest.raises(ValidationFailed) as excinfo:
        ledger_import(estate=estate, kind="cars", filename="t.csv", content=csv_bytes(ROOMS_HEADER))
    assert problems(excinfo) == [(None, "kind", "invalid_choice")]


# Owners ledger --------------------------------------------------------------------------------------------------------


def test_owners_csv_creates_people_links_and_memberships(estate, rooms):
    id_number = valid_id_number("11010519900307123")
    result = import_owners(
        estate,
        ["王芳", "138 1234 5678", "1", "1", "101", "", "", ""],
        ["王芳", "+8613812345678", "1", "1", "102", "业主", "", "2023/5/1"],
        ["李雷", "13912345678", "1", "1", "101", "家属", id_number.lower(), "2024-05-01"],
        ["张三", "13700000001", "3", "2", "1502", "tenant", "", "2024年6月1日"],
    )
    assert (result.kind, result.rows, result.created, result.updated) == ("owners", 4, 4, 0)
    wang = User.objects.get(phone="13812345678")
    assert (wang.username, wang.name, wang.has_usable_password()) == ("13812345678", "王芳", False)
    assert User.objects.get(phone="13912345678").id_number == id_number
    links = {
        (r.user.phone, r.room.label): (r.relation, r.move_in_on)
        for r in Residency.objects.filter(room__estate=estate).select_related("user", "room__building", "room__unit")
    }
    assert links == {
        ("13812345678", "1-1-101"): (Relation.OWNER, None),
        ("13812345678", "1-1-102"): (Relation.OWNER, dt.date(2023, 5, 1)),
        ("13912345678", "1-1-101"): (Relation.FAMILY, dt.date(2024, 5, 1)),
        ("13700000001", "3-2-1502"): (Relation.TENANT, dt.date(2024, 6, 1)),
    }
    roles = set(Membership.objects.filter(estate=estate).values_list("user__phone", "role"))
    assert roles == {("13812345678", Role.OWNER), ("13912345678", Role.RESIDENT), ("13700000001", Role.RESIDENT)}


def test_owners_xlsx_with_numeric_phones_and_real_dates_imports(estate, rooms):
    content = xlsx_bytes(
        ["name", "Phone", "building", "unit", "room", "relation", "move_in_on"],
        ["王芳", 13812345678, 1, 1, 101, "owner", dt.datetime(2024, 5, 1)],
    )
    result = ledger_import(estate=estate, kind=LedgerKind.OWNERS, filename="owners.xlsx", content=content)
    assert result.created == 1
    residency = Residency.objects.get(user__phone="13812345678")
    assert (residency.room_id, residency.move_in_on) == (rooms["1-1-101"].id, dt.date(2024, 5, 1))


def test_existing_person_with_the_phone_is_reused_and_only_blank_details_are_filled(estate, rooms):
    id_number = valid_id_number("32010219850612345")
    person = factories.UserFactory(username="wangfang", phone="13812345678", name="", id_number="")
    named = factories.UserFactory(username="lilei", phone="13912345678", name="李雷雷")
    before = User.objects.count()
    result = import_owners(
        estate,
        ["王芳", "13812345678", "1", "1", "101", "", id_number, ""],
        ["李雷", "13912345678", "1", "1", "102", "", "", ""],
    )
    assert result.created == 2
    assert User.objects.count() == before
    person.refresh_from_db()
    named.refresh_from_db()
    assert (person.username, person.name, person.id_number, person.has_usable_password()) == (
        "wangfang",
        "王芳",
        id_number,
        True,
    )
    assert named.name == "李雷雷"


def test_reimport_of_owners_links_nobody_twice_and_counts_them_as_updated(estate, rooms):
    rows = [["王芳", "13812345678", "1", "1", "101", "", "", ""], ["李雷", "13912345678", "1", "1", "102", "", "", ""]]
    import_owners(estate, *rows)
    before = row_counts()
    result = import_owners(
        estate,
        ["王芳", "13812345678", "1", "1", "101", "", "", "2020-01-01"],
        rows[1],
        ["王芳", "13812345678", "3", "2", "1502", "", "", ""],
    )
    assert (result.rows, result.created, result.updated) == (3, 1, 2)
    after = row_counts()
    assert after["Residency"] == before["Residency"] + 1
    assert after["User"] == before["User"]
    assert Residency.objects.get(user__phone="13812345678", room=rooms["1-1-101"]).move_in_on == dt.date(2020, 1, 1)


def test_bad_phone_numbers_are_reported_with_row_and_column(estate, rooms):
    with pytest.raises(ValidationFailed) as excinfo:
        import_owners(
            estate,
            ["王芳", "13812345678", "1", "1", "101", "", "", ""],
            ["李雷", "1381234567", "1", "1", "102", "", "", ""],
            ["张三", "12812345678", "1", "1", "102", "", "", ""],
            ["赵四", "010-62345678", "1", "1", "102", "", "", ""],
            ["钱五", "", "1", "1", "102", "", "", ""],
        )
    assert problems(excinfo) == [
        (3, "手机号", "phone"),
        (4, "手机号", "phone"),
        (5, "手机号", "phone"),
        (6, "手机号", "required"),
    ]
    assert "11-digit" in message_at(excinfo, 3)
    assert User.objects.filter(phone="13812345678").count() == 0


def test_bad_id_numbers_are_reported_with_the_rule_they_break(estate, rooms):
    good = valid_id_number("11010519900307123")
    wrong_check = good[:17] + next(c for c in "0123456789X" if c != good[17])
    with pytest.raises(ValidationFailed) as excinfo:
        import_owners(
            estate,
            ["王芳", "13812345678", "1", "1", "101", "", wrong_check, ""],
            ["李雷", "13912345678", "1", "1", "101", "", "11010519901307123X", ""],
            ["张三", "13700000001", "1", "1", "101", "", "12345", ""],
            ["赵四", "13700000002", "1", "1", "101", "", good, ""],
        )
    assert problems(excinfo) == [
        (2, "身份证号", "id_number_checksum"),
        (3, "身份证号", "id_number_date"),
        (4, "身份证号", "id_number_format"),
    ]
    assert Residency.objects.filter(room__estate=estate, user__phone__startswith="137").count() == 0


def test_room_in_an_unknown_building_unit_or_number_is_reported_on_the_column_that_is_wrong(estate, rooms):
    with pytest.raises(ValidationFailed) as excinfo:
        import_owners(
            estate,
            ["王芳", "13812345678", "9", "1", "101", "", "", ""],
            ["李雷", "13912345678", "1", "5", "101", "", "", ""],
            ["张三", "13700000001", "3", "2", "1503", "", "", ""],
        )
    assert problems(excinfo) == [(2, "楼栋", "unknown_room"), (3, "单元", "unknown_room"), (4, "房号", "unknown_room")]
    assert message_at(excinfo, 2) == "Room 9-1-101 does not exist in 翠湖花园; import the rooms ledger first."
    assert message_at(excinfo, 4) == "Room 3-2-1503 does not exist in 翠湖花园; import the rooms ledger first."


def test_room_of_another_estate_is_unknown_here(estate, rooms):
    factories.RoomFactory(
        unit=factories.UnitFactory(building=factories.BuildingFactory(name="7"), name="1"), number="701"
    )
    with pytest.raises(ValidationFailed) as excinfo:
        import_owners(estate, ["王芳", "13812345678", "7", "1", "701", "", "", ""])
    assert problems(excinfo) == [(2, "楼栋", "unknown_room")]


def test_same_phone_twice_for_one_room_is_reported_naming_the_earlier_row(estate, rooms):
    with pytest.raises(ValidationFailed) as excinfo:
        import_owners(
            estate,
            ["王芳", "13812345678", "1", "1", "101", "", "", ""],
            ["李雷", "13912345678", "1", "1", "101", "", "", ""],
            ["王芳", "138-1234-5678", "1", "1", "101", "家属", "", ""],
        )
    assert problems(excinfo) == [(4, "手机号", "duplicate_link")]
    assert message_at(excinfo, 4) == "13812345678 is already linked to room 1-1-101 in row 2."


def test_same_phone_with_two_names_is_reported(estate, rooms):
    with pytest.raises(ValidationFailed) as excinfo:
        import_owners(
            estate,
            ["王芳", "13812345678", "1", "1", "101", "", "", ""],
            ["王小芳", "13812345678", "1", "1", "102", "", "", ""],
        )
    assert problems(excinfo) == [(3, "姓名", "phone_has_two_names")]
    assert "Row 2" in message_at(excinfo, 3) and "王芳" in message_at(excinfo, 3)


def test_bad_relation_and_move_in_date_are_reported(estate, rooms):
    with pytest.raises(ValidationFailed) as excinfo:
        import_owners(
            estate,
            ["王芳", "13812345678", "1", "1", "101", "房东", "", "2024-02-30"],
            ["李雷", "13912345678", "1", "1", "102", "", "", "next week"],
        )
    assert problems(excinfo) == [
        (2, "关系", "invalid_choice"),
        (2, "入住日期", "invalid_date"),
        (3, "入住日期", "invalid_date"),
    ]


def test_person_recorded_with_another_id_number_is_not_silently_changed(estate, rooms):
    recorded = valid_id_number("11010519900307123")
    factories.UserFactory(phone="13812345678", id_number=recorded)
    with pytest.raises(ValidationFailed) as excinfo:
        import_owners(estate, ["王芳", "13812345678", "1", "1", "101", "", valid_id_number("11010519910307123"), ""])
    assert problems(excinfo) == [(2, "身份证号", "id_number_mismatch")]
    assert User.objects.get(phone="13812345678").id_number == recorded


def test_phone_taken_as_another_accounts_username_is_reported(estate, rooms):
    factories.UserFactory(username="13812345678", phone="13900000000")
    with pytest.raises(ValidationFailed) as excinfo:
        import_owners(estate, ["王芳", "13812345678", "1", "1", "101", "", "", ""])
    assert problems(excinfo) == [(2, "手机号", "username_taken")]


def test_one_bad_owner_row_writes_no_person_link_or_membership(estate, rooms):
    before = row_counts()
    with pytest.raises(ValidationFailed) as excinfo:
        import_owners(
            estate,
            ["王芳", "13812345678", "1", "1", "101", "", "", ""],
            ["李雷", "13912345678", "1", "1", "102", "", "", ""],
            ["张三", "1370000000x", "3", "2", "1502", "", "", ""],
        )
    assert problems(excinfo) == [(4, "手机号", "phone")]
    assert row_counts() == before


def test_owners_dry_run_counts_but_writes_nothing(estate, rooms):
    import_owners(estate, ["王芳", "13812345678", "1", "1", "101", "", "", ""])
    before = row_counts()
    result = import_owners(
        estate,
        ["王芳", "13812345678", "1", "1", "101", "", "", ""],
        ["李雷", "13912345678", "1", "1", "102", "", "", ""],
        dry_run=True,
    )
    assert (result.rows, result.created, result.updated) == (2, 1, 1)
    assert row_counts() == before


# Command line ---------------------------------------------------------------------------------------------------------


def test_import_ledger_command_imports_a_file_by_estate_code(estate, tmp_path):
    path = tmp_path / "rooms.csv"
    path.write_bytes(csv_bytes(ROOMS_HEADER, ["1", "1", "101", "1", "89"], ["1", "1", "102", "1", "89"]))
    out = io.StringIO()
    call_command("import_ledger", str(path), estate="cuihu-garden", kind="rooms", stdout=out)
    assert "2 created, 0 updated" in out.getvalue()
    assert Room.objects.filter(estate=estate).count() == 2


def test_import_ledger_command_dry_run_by_estate_id_writes_nothing(estate, tmp_path):
    path = tmp_path / "rooms.csv"
    path.write_bytes(csv_bytes(ROOMS_HEADER, ["1", "1", "101", "1", "89"]))
    out = io.StringIO()
    call_command("import_ledger", str(path), "--dry-run", estate=str(estate.id), kind="rooms", stdout=out)
    assert "1 rows checked" in out.getvalue()
    assert Room.objects.count() == 0


def test_import_ledger_command_prints_the_error_table_and_fails(estate, tmp_path):
    path = tmp_path / "rooms.csv"
    path.write_bytes(csv_bytes(ROOMS_HEADER, ["1", "1", "101", "1", "89"], ["1", "1", "102", "x", "89"]))
    err = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_ledger", str(path), estate="cuihu-garden", kind="rooms", stderr=err)
    assert excinfo.value.returncode != 0
    table_line = next(line for line in err.getvalue().splitlines() if "楼层" in line)
    assert table_line.split()[:2] == ["3", "楼层"] and "Must be a whole number." in table_line
    assert Room.objects.count() == 0


def test_import_ledger_command_refuses_an_ambiguous_estate_code(estate, tmp_path):
    factories.EstateFactory(code="cuihu-garden")
    path = tmp_path / "rooms.csv"
    path.write_bytes(csv_bytes(ROOMS_HEADER, ["1", "1", "101", "1", "89"]))
    with pytest.raises(CommandError, match="give the id"):
        call_command("import_ledger", str(path), estate="cuihu-garden", kind="rooms")
    assert Room.objects.count() == 0


def test_a_failure_while_writing_rolls_back_everything_already_written(estate, monkeypatch):
    def refuse(*args, **kwargs):
        raise IntegrityError("a concurrent import took room 1-1-101")

    monkeypatch.setattr(Room.objects, "bulk_create", refuse)
    before = row_counts()
    with pytest.raises(ValidationFailed) as excinfo:
        import_rooms(estate, ["1", "1", "101", "1", "89"], ["2", "1", "201", "2", "89"])
    assert problems(excinfo) == [(None, "file", "conflict")]
    # The buildings and units were created before the rooms failed; they are gone again.
    assert row_counts() == before


def test_a_failure_while_linking_owners_removes_the_people_already_created(estate, rooms, monkeypatch):
    calls = []
    real_residency_create = account_services.residency_create

    def fail_second(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise IntegrityError("a concurrent import linked the same person")
        return real_residency_create(**kwargs)

    monkeypatch.setattr(account_services, "residency_create", fail_second)
    before = row_counts()
    with pytest.raises(ValidationFailed) as excinfo:
        import_owners(
            estate,
            ["王芳", "13812345678", "1", "1", "101", "", "", ""],
            ["李雷", "13912345678", "1", "1", "102", "", "", ""],
        )
    assert problems(excinfo) == [(None, "file", "conflict")]
    assert len(calls) == 2
    assert row_counts() == before
