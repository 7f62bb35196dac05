"""The master-data admin keeps companies apart: lists, change pages, form choices, autocomplete and filters."""

import datetime as dt

import pytest
import time_machine
from django.test import Client

from wuye.accounts import services as account_services
from wuye.accounts.choices import Role
from wuye.estates.models import Building, Company, Estate, Room
from wuye.testing import factories
from wuye.testing.plugin import listed_pks


def test_company_admin_room_list_shows_own_rooms_and_not_the_other_company_rooms(admin_cast):
    response = admin_cast.browser("company_admin").get("/admin/estates/room/")
    pks = listed_pks(response)
    assert {admin_cast.room.pk, admin_cast.other_room.pk} <= pks
    assert admin_cast.stranger_room.pk not in pks


def test_manager_room_list_shows_only_the_managed_estate(admin_cast):
    elsewhere = factories.RoomFactory(unit__building__estate__company=admin_cast.company)
    pks = listed_pks(admin_cast.browser("manager").get("/admin/estates/room/"))
    assert admin_cast.room.pk in pks
    assert elsewhere.pk not in pks
    assert admin_cast.stranger_room.pk not in pks


def test_company_admin_building_and_estate_lists_hide_the_other_company(admin_cast):
    client = admin_cast.browser("company_admin")
    buildings = listed_pks(client.get("/admin/estates/building/"))
    assert admin_cast.building.pk in buildings
    assert admin_cast.stranger_room.building_id not in buildings
    estates = listed_pks(client.get("/admin/estates/estate/"))
    assert estates == {admin_cast.estate.pk}
    companies = listed_pks(client.get("/admin/estates/company/"))
    assert companies == {admin_cast.company.pk}


def test_company_admin_sees_an_inactive_estate_of_the_company_to_reopen_it(admin_cast):
    closed = factories.EstateFactory(company=admin_cast.company, is_active=False)
    assert closed.pk in listed_pks(admin_cast.browser("company_admin").get("/admin/estates/estate/"))


def test_another_company_room_reads_as_missing_on_change_delete_and_history_pages(admin_cast):
    client = admin_cast.browser("company_admin")
    base = f"/admin/estates/room/{admin_cast.stranger_room.pk}"
    for page in ("change", "delete", "history"):
        response = client.get(f"{base}/{page}/")
        assert response.status_code == 302, page
        assert response.headers["Location"] == "/admin/", page


def test_posting_to_another_company_room_changes_nothing(admin_cast):
    room = admin_cast.stranger_room
    response = admin_cast.browser("company_admin").post(
        f"/admin/estates/room/{room.pk}/change/",
        {"estate": admin_cast.estate.pk, "building": admin_cast.building.pk, "unit": room.unit_id, "number": "999"},
    )
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.number == "101"


def test_room_add_form_offers_no_other_company_estates_buildings_or_units(admin_cast):
    response = admin_cast.browser("company_admin").get("/admin/estates/room/add/")
    assert response.status_code == 200
    fields = response.context["adminform"].form.fields
    assert set(fields["building"].queryset) == {admin_cast.building}
    assert set(fields["estate"].queryset) == {admin_cast.estate}
    assert admin_cast.stranger_room.unit not in set(fields["unit"].queryset)


def test_company_admin_cannot_post_a_room_into_another_company_building(admin_cast):
    stranger = admin_cast.stranger_room
    response = admin_cast.browser("company_admin").post(
        "/admin/estates/room/add/",
        {
            "estate": admin_cast.estate.pk,
            "building": stranger.building_id,
            "unit": stranger.unit_id,
            "number": "909",
            "floor": "9",
            "area_m2": "80",
        },
    )
    assert response.status_code == 200
    assert {"building", "unit"} <= set(response.context["adminform"].form.errors)
    assert not Room.objects.filter(number="909").exists()


def test_a_room_whose_building_lies_in_another_estate_is_refused(admin_cast):
    second_estate = factories.EstateFactory(company=admin_cast.company)
    response = admin_cast.browser("company_admin").post(
        "/admin/estates/room/add/",
        {
            "estate": second_estate.pk,
            "building": admin_cast.building.pk,
            "unit": admin_cast.room.unit_id,
            "number": "909",
            "floor": "9",
            "area_m2": "80",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert not Room.objects.filter(number="909").exists()


def test_company_admin_adds_a_room_to_own_estate_without_any_permission_rows(admin_cast):
    assert not admin_cast.company_admin.user_permissions.exists()
    response = admin_cast.browser("company_admin").post(
        "/admin/estates/room/add/",
        {
            "estate": admin_cast.estate.pk,
            "building": admin_cast.building.pk,
            "unit": admin_cast.room.unit_id,
            "number": "909",
            "floor": "9",
            "area_m2": "80",
        },
    )
    assert response.status_code == 302
    assert Room.objects.get(number="909").estate == admin_cast.estate


def test_room_autocomplete_answers_only_rooms_in_scope(admin_cast):
    response = admin_cast.browser("company_admin").get(
        "/admin/autocomplete/",
        {"app_label": "accounts", "model_name": "residency", "field_name": "room", "term": "101"},
    )
    assert response.status_code == 200
    ids = {int(result["id"]) for result in response.json()["results"]}
    assert ids == {admin_cast.room.pk}


def test_estate_filter_offers_only_the_company_estates(admin_cast):
    response = admin_cast.browser("company_admin").get("/admin/estates/room/")
    html = response.content.decode()
    assert admin_cast.estate.name in html
    assert admin_cast.other_estate.name not in html


def test_technician_with_admin_access_is_forbidden_the_room_list(admin_cast):
    client = admin_cast.browser("technician")
    assert client.get("/admin/estates/room/").status_code == 403
    assert client.get(f"/admin/estates/room/{admin_cast.room.pk}/change/").status_code == 403


def test_superuser_sees_rooms_of_both_companies(admin_cast):
    pks = listed_pks(admin_cast.browser("superuser").get("/admin/estates/room/"))
    assert {admin_cast.room.pk, admin_cast.stranger_room.pk} <= pks


def test_room_list_query_count_does_not_grow_with_rooms(admin_cast, django_assert_max_num_queries):
    unit = admin_cast.room.unit
    for number in range(30):
        factories.RoomFactory(unit=unit, number=f"9{number:02d}")
    client = admin_cast.browser("company_admin")
    with django_assert_max_num_queries(15):
        response = client.get("/admin/estates/room/")
    assert len(listed_pks(response)) == 32


def test_manager_may_look_at_the_company_but_not_edit_it(admin_cast):
    client = admin_cast.browser("manager")
    url = f"/admin/estates/company/{admin_cast.company.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": "改名物业", "code": admin_cast.company.code, "is_active": "on"})
    assert response.status_code == 403
    assert Company.objects.get(pk=admin_cast.company.pk).name == admin_cast.company.name


def test_company_admin_edits_own_company_but_cannot_add_companies(admin_cast):
    client = admin_cast.browser("company_admin")
    response = client.post(
        f"/admin/estates/company/{admin_cast.company.pk}/change/",
        {"name": "翠湖物业集团", "code": admin_cast.company.code, "is_active": "on"},
    )
    assert response.status_code == 302
    assert Company.objects.get(pk=admin_cast.company.pk).name == "翠湖物业集团"
    assert client.get("/admin/estates/company/add/").status_code == 403


def test_company_admin_adds_an_estate_only_to_own_company(admin_cast):
    client = admin_cast.browser("company_admin")
    form = client.get("/admin/estates/estate/add/").context["adminform"].form
    assert set(form.fields["company"].queryset) == {admin_cast.company}
    response = client.post(
        "/admin/estates/estate/add/",
        {"company": admin_cast.company.pk, "name": "翠湖二期", "code": "cuihu-2", "service_level": "level_1"},
    )
    assert response.status_code == 302
    assert Estate.objects.get(code="cuihu-2").company == admin_cast.company
    assert admin_cast.browser("manager").get("/admin/estates/estate/add/").status_code == 403


def test_manager_cannot_grant_the_company_administrator_role(admin_cast):
    response = admin_cast.browser("manager").post(
        "/admin/accounts/membership/add/",
        {"user": admin_cast.technician.pk, "company": admin_cast.company.pk, "role": Role.COMPANY_ADMIN},
    )
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    assert not admin_cast.technician.memberships.filter(role=Role.COMPANY_ADMIN).exists()


def test_membership_list_hides_the_other_company_memberships(admin_cast):
    response = admin_cast.browser("company_admin").get("/admin/accounts/membership/")
    users = {membership.user_id for membership in response.context["cl"].result_list}
    assert admin_cast.manager.pk in users
    assert admin_cast.stranger_supervisor.pk not in users


def test_building_change_page_of_own_estate_opens(admin_cast):
    response = admin_cast.browser("manager").get(f"/admin/estates/building/{admin_cast.building.pk}/change/")
    assert response.status_code == 200
    assert Building.objects.filter(estate=admin_cast.other_estate).exists()


@time_machine.travel(dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC), tick=False)
def test_expired_certificates_are_listed_under_expired_only(admin_cast):
    # The staff admin's expiry filter (wuye.staff.admin); tested here with the rest of the master-data admin.
    staff = factories.StaffProfileFactory(company=admin_cast.company, user=admin_cast.technician)
    expired = factories.CertificateFactory(staff=staff, expires_on=dt.date(2026, 2, 28))
    expiring = factories.CertificateFactory(staff=staff, expires_on=dt.date(2026, 3, 1))
    valid = factories.CertificateFactory(staff=staff, expires_on=dt.date(2026, 4, 1))
    lifelong = factories.CertificateFactory(staff=staff, expires_on=None)
    client = admin_cast.browser("company_admin")

    def listed(state: str) -> set[int]:
        return listed_pks(client.get("/admin/staff/certificate/", {"expiry": state}))

    assert listed("expired") == {expired.pk}
    assert listed("expiring") == {expiring.pk}
    assert listed("valid") == {valid.pk, lifelong.pk}


def test_certificates_of_another_company_staff_stay_hidden(admin_cast):
    mine = factories.CertificateFactory(staff__company=admin_cast.company, staff__user=admin_cast.technician)
    theirs = factories.CertificateFactory(staff__company=admin_cast.other_company)
    pks = listed_pks(admin_cast.browser("company_admin").get("/admin/staff/certificate/"))
    assert mine.pk in pks
    assert theirs.pk not in pks


def test_installation_wide_tables_are_for_superusers_only(admin_cast):
    for url in ("/admin/core/periodicjobstate/", "/admin/accounts/loginfailure/"):
        assert admin_cast.browser("company_admin").get(url).status_code == 403, url
        assert admin_cast.browser("superuser").get(url).status_code == 200, url


def test_admin_index_lists_master_data_for_a_company_admin(admin_cast):
    response = admin_cast.browser("company_admin").get("/admin/")
    assert response.status_code == 200
    apps = {app["app_label"] for app in response.context["app_list"]}
    assert {"estates", "accounts", "staff"} <= apps
    assert "core" not in apps


def test_anonymous_is_sent_to_the_admin_login(admin_cast):
    response = Client().get("/admin/estates/room/")
    assert response.status_code == 302
    assert "/admin/login/" in response.headers["Location"]


def test_company_admin_cannot_delete_another_company_room_through_the_bulk_action(admin_cast):
    response = admin_cast.browser("company_admin").post(
        "/admin/estates/room/",
        {"action": "delete_selected", "_selected_action": [admin_cast.stranger_room.pk], "post": "yes"},
    )
    assert response.status_code in {200, 302}
    assert Room.objects.filter(pk=admin_cast.stranger_room.pk).exists()


def test_owner_membership_comes_with_a_residency_added_in_the_admin(admin_cast):
    newcomer = factories.UserFactory()
    account_services.membership_ensure(user=newcomer, estate=admin_cast.estate, role=Role.TECHNICIAN)
    response = admin_cast.browser("company_admin").post(
        "/admin/accounts/residency/add/",
        {"user": newcomer.pk, "room": admin_cast.room.pk, "relation": "owner"},
    )
    assert response.status_code == 302
    assert newcomer.memberships.filter(estate=admin_cast.estate, role=Role.OWNER).exists()


ADMIN_MODELS = (
    "estates/company",
    "estates/estate",
    "estates/grid",
    "estates/building",
    "estates/unit",
    "estates/room",
    "estates/publicarea",
    "accounts/user",
    "accounts/membership",
    "accounts/residency",
    "accounts/apitoken",
    "staff/staffprofile",
    "staff/certificate",
    "staff/shift",
)


@pytest.mark.parametrize("member", ["company_admin", "superuser"])
def test_every_master_data_list_and_change_page_renders(admin_cast, member):
    staff = factories.StaffProfileFactory(company=admin_cast.company, user=admin_cast.technician)
    factories.CertificateFactory(staff=staff)
    account_services.api_token_issue(user=admin_cast.owner)
    factories.PublicAreaFactory(estate=admin_cast.estate, grid=admin_cast.grid)
    admin_cast.estate.shifts.create(name="早班", start_time="08:00", end_time="17:00", weekdays=[1, 2, 3, 4, 5])
    client = admin_cast.browser(member)
    for model in ADMIN_MODELS:
        response = client.get(f"/admin/{model}/")
        assert response.status_code == 200, model
        rows = response.context["cl"].result_list
        assert rows, model
        assert client.get(f"/admin/{model}/{rows[0].pk}/change/").status_code == 200, model
        add = client.get(f"/admin/{model}/add/")
        assert add.status_code in {200, 403}, model


def test_company_admin_edits_a_staff_member_with_certificates_inline(admin_cast):
    staff = factories.StaffProfileFactory(company=admin_cast.company, user=admin_cast.technician)
    shift = admin_cast.estate.shifts.create(name="早班", start_time="08:00", end_time="17:00", weekdays=[1, 2, 3])
    data = {
        "user": admin_cast.technician.pk,
        "company": admin_cast.company.pk,
        "employee_no": staff.employee_no,
        "post": staff.post,
        "skills-TOTAL_FORMS": "1",
        "skills-INITIAL_FORMS": "0",
        "skills-0-skill": "electrical",
        "skills-0-level": "2",
        "certificates-TOTAL_FORMS": "1",
        "certificates-INITIAL_FORMS": "0",
        "certificates-0-kind": "electrician",
        "certificates-0-number": "EL-0001",
        "certificates-0-expires_on": "2030-01-01",
        "shift_assignments-TOTAL_FORMS": "1",
        "shift_assignments-INITIAL_FORMS": "0",
        "shift_assignments-0-shift": shift.pk,
        "shift_assignments-0-starts_on": "2026-01-01",
    }
    response = admin_cast.browser("company_admin").post(f"/admin/staff/staffprofile/{staff.pk}/change/", data)
    assert response.status_code == 302
    assert staff.certificates.get().number == "EL-0001"
    assert staff.skills.get().skill == "electrical"
    assert staff.shift_assignments.get().shift == shift


def test_a_shift_of_another_company_cannot_be_assigned(admin_cast):
    staff = factories.StaffProfileFactory(company=admin_cast.company, user=admin_cast.technician)
    foreign_shift = admin_cast.other_estate.shifts.create(name="夜班", start_time="20:00", end_time="08:00")
    data = {
        "user": admin_cast.technician.pk,
        "company": admin_cast.company.pk,
        "employee_no": staff.employee_no,
        "post": staff.post,
        "skills-TOTAL_FORMS": "0",
        "skills-INITIAL_FORMS": "0",
        "certificates-TOTAL_FORMS": "0",
        "certificates-INITIAL_FORMS": "0",
        "shift_assignments-TOTAL_FORMS": "1",
        "shift_assignments-INITIAL_FORMS": "0",
        "shift_assignments-0-shift": foreign_shift.pk,
        "shift_assignments-0-starts_on": "2026-01-01",
    }
    response = admin_cast.browser("company_admin").post(f"/admin/staff/staffprofile/{staff.pk}/change/", data)
    assert response.status_code == 200
    assert not staff.shift_assignments.exists()
