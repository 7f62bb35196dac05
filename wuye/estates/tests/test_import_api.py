"""Ledger import through the API and the desk page: counts on success, the error table on failure, who may import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from wuye.accounts.models import Residency, User
from wuye.estates.models import Room

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}  # API clients choose their language with Accept-Language


def english_browser(cast, member: str):
    """Pages ignore Accept-Language (Chinese first); a person switches with the language menu's cookie."""
    browser = cast.browser(member)
    browser.cookies["django_language"] = "en"
    return browser


ROOMS_CSV = "楼栋,单元,房号,楼层,建筑面积\n2,1,201,2,95.5\n2,1,202,2,96\n".encode()
BAD_ROOMS_CSV = "楼栋,单元,房号,楼层,建筑面积\n2,1,201,2,95.5\n2,1,202,二,96\n2,1,201,2,95.5\n".encode()
OWNERS_CSV = "姓名,手机号,楼栋,单元,房号,关系\n赵敏,13600000001,1,1,101,家属\n".encode()


def upload(content: bytes = ROOMS_CSV, name: str = "rooms.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def import_url(cast, kind: str = "rooms", estate=None) -> str:
    return f"/api/v1/estates/{(estate or cast.estate).id}/imports/{kind}"


def test_manager_imports_a_rooms_ledger_and_gets_the_counts(cast):
    response = cast.api("manager").post(import_url(cast), {"file": upload()})
    assert response.status_code == 200
    assert response.json() == {"kind": "rooms", "rows": 2, "created": 2, "updated": 0, "dry_run": False}
    assert sorted(Room.objects.filter(estate=cast.estate, building__name="2").values_list("number", flat=True)) == [
        "201",
        "202",
    ]


def test_company_admin_imports_an_owners_ledger(cast):
    response = cast.api("company_admin").post(import_url(cast, "owners"), {"file": upload(OWNERS_CSV, "owners.csv")})
    assert response.status_code == 200
    assert response.json()["created"] == 1
    assert Residency.objects.get(user__phone="13600000001").room == cast.room


def test_dry_run_through_the_api_reports_counts_and_writes_nothing(cast):
    before = Room.objects.count()
    response = cast.api("manager").post(import_url(cast), {"file": upload(), "dry_run": "true"})
    assert response.status_code == 200
    assert response.json() == {"kind": "rooms", "rows": 2, "created": 2, "updated": 0, "dry_run": True}
    assert Room.objects.count() == before


def test_bad_file_gets_422_with_each_problem_by_row_and_column_and_writes_nothing(cast):
    before = Room.objects.count()
    response = cast.api("manager").post(import_url(cast), {"file": upload(BAD_ROOMS_CSV)}, **ENGLISH)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert [(e["row"], e["field"], e["code"]) for e in body["errors"]] == [
        (3, "楼层", "not_whole_number"),
        (4, "房号", "duplicate_room"),
    ]
    assert body["errors"][0]["message"] == "Must be a whole number."
    assert Room.objects.count() == before


def test_owner_in_unknown_room_gets_422_naming_the_room(cast):
    content = "姓名,手机号,楼栋,单元,房号\n赵敏,13600000001,3,2,1502\n".encode()
    response = cast.api("manager").post(import_url(cast, "owners"), {"file": upload(content)}, **ENGLISH)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (error["row"], error["field"]) == (2, "楼栋")
    assert error["message"] == "Room 3-2-1502 does not exist in 翠湖花园; import the rooms ledger first."
    assert not User.objects.filter(phone="13600000001").exists()


def test_empty_file_gets_422_with_a_file_error_without_a_row(cast):
    response = cast.api("manager").post(import_url(cast), {"file": upload(b"")})
    assert response.status_code == 422
    assert [(e.get("row"), e["field"], e["code"]) for e in response.json()["errors"]] == [(None, "file", "empty_file")]


def test_upload_over_the_byte_limit_gets_422_and_writes_nothing(cast, settings):
    settings.LEDGER_IMPORT_MAX_BYTES = len(ROOMS_CSV) - 1
    response = cast.api("manager").post(import_url(cast), {"file": upload()})
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("file", "file_too_large")]
    assert not Room.objects.filter(building__name="2").exists()


def test_upload_over_the_row_limit_gets_422(cast, settings):
    settings.LEDGER_IMPORT_MAX_ROWS = 1
    response = cast.api("manager").post(import_url(cast), {"file": upload()})
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("file", "too_many_rows")]


def test_unknown_ledger_kind_gets_422(cast):
    response = cast.api("manager").post(import_url(cast, "cars"), {"file": upload()})
    assert response.status_code == 422


def test_request_without_a_file_gets_422_naming_the_file(cast):
    response = cast.api("manager").post(import_url(cast), {})
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["file"]


def test_technician_gets_403_and_nothing_is_written(cast):
    before = Room.objects.count()
    response = cast.api("technician").post(import_url(cast), {"file": upload()})
    assert response.status_code == 403
    assert Room.objects.count() == before


def test_supervisor_gets_403(cast):
    assert cast.api("supervisor").post(import_url(cast), {"file": upload()}).status_code == 403


def test_stranger_supervisor_gets_404(cast):
    response = cast.api("stranger_supervisor").post(import_url(cast), {"file": upload()})
    assert response.status_code == 404
    assert not Room.objects.filter(building__name="2").exists()


def test_manager_cannot_import_into_another_companys_estate(cast):
    response = cast.api("manager").post(import_url(cast, estate=cast.other_estate), {"file": upload()})
    assert response.status_code == 404


def test_anonymous_gets_401(cast):
    assert cast.api("anonymous").post(import_url(cast), {"file": upload()}).status_code == 401


# Desk page ------------------------------------------------------------------------------------------------------------


def desk_url(cast) -> str:
    return f"/desk/estates/{cast.estate.id}/import/"


def test_desk_page_shows_the_import_form_to_the_manager(cast):
    response = cast.browser("manager").get(desk_url(cast))
    assert response.status_code == 200
    assert 'data-testid="import-form"' in response.content.decode()


def test_desk_import_redirects_back_with_the_counts(cast):
    browser = english_browser(cast, "manager")
    response = browser.post(desk_url(cast), {"kind": "rooms", "file": upload()})
    assert response.status_code == 302
    assert response["Location"] == desk_url(cast)
    page = browser.get(response["Location"]).content.decode()
    assert "Imported 2 rows: 2 created, 0 updated." in page
    assert Room.objects.filter(estate=cast.estate, building__name="2").count() == 2


def test_desk_dry_run_says_nothing_was_written(cast):
    browser = english_browser(cast, "manager")
    response = browser.post(desk_url(cast), {"kind": "rooms", "file": upload(), "dry_run": "on"}, follow=True)
    assert "Checked 2 rows: no errors. Nothing was written." in response.content.decode()
    assert not Room.objects.filter(building__name="2").exists()


def test_desk_bad_file_gets_422_with_the_error_table(cast):
    response = english_browser(cast, "manager").post(desk_url(cast), {"kind": "rooms", "file": upload(BAD_ROOMS_CSV)})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="import-errors"' in html
    assert "<tr><td>3</td><td>楼层</td><td>Must be a whole number.</td></tr>" in html
    assert "<tr><td>4</td><td>房号</td><td>Room 2-1-201 already appears in row 2.</td></tr>" in html
    assert not Room.objects.filter(building__name="2").exists()


def test_desk_import_by_technician_gets_403(cast):
    response = cast.browser("technician").post(desk_url(cast), {"kind": "rooms", "file": upload()})
    assert response.status_code == 403
    assert not Room.objects.filter(building__name="2").exists()


def test_desk_import_by_stranger_supervisor_gets_404(cast):
    assert (
        cast.browser("stranger_supervisor").post(desk_url(cast), {"kind": "rooms", "file": upload()}).status_code == 404
    )


def test_desk_import_by_anonymous_is_sent_to_sign_in(cast):
    response = cast.browser("anonymous").post(desk_url(cast), {"kind": "rooms", "file": upload()})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
