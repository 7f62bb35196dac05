"""What the estates endpoints return, beyond who may call them (that is the permission matrix)."""

import datetime as dt

import pytest

from wuye.accounts import services as account_services
from wuye.accounts.models import Residency
from wuye.testing import factories

pytestmark = pytest.mark.django_db


def test_estate_list_shows_only_the_callers_estates_with_counts_and_roles(cast):
    body = cast.api("supervisor").get("/api/v1/estates").json()
    assert [estate["id"] for estate in body] == [cast.estate.id]
    assert body[0]["room_count"] == 2
    assert body[0]["building_count"] == 1
    assert body[0]["my_roles"] == ["supervisor"]
    assert body[0]["service_level"] == "level_1"


def test_company_admin_sees_every_estate_of_the_company_including_new_ones(cast):
    added = factories.EstateFactory(company=cast.company, name="新开小区")
    ids = {estate["id"] for estate in cast.api("company_admin").get("/api/v1/estates").json()}
    assert ids == {cast.estate.id, added.id}
    assert cast.other_estate.id not in ids


def test_inactive_estate_disappears(cast):
    cast.estate.is_active = False
    cast.estate.save(update_fields=["is_active"])
    assert cast.api("supervisor").get(f"/api/v1/estates/{cast.estate.id}").status_code == 404


def test_room_search_finds_a_room_by_label_and_by_owner_phone(cast):
    api = cast.api("service_agent")
    by_label = api.get(f"/api/v1/estates/{cast.estate.id}/rooms", {"q": "1-1-102"}).json()
    assert [room["id"] for room in by_label] == [cast.other_room.id]
    by_phone = api.get(f"/api/v1/estates/{cast.estate.id}/rooms", {"q": cast.owner.phone}).json()
    assert [room["label"] for room in by_phone] == ["1-1-101"]


def test_room_search_by_phone_ignores_people_who_moved_out(cast):
    Residency.objects.filter(user=cast.owner).update(move_out_on=dt.date(2021, 1, 1))
    found = cast.api("service_agent").get(f"/api/v1/estates/{cast.estate.id}/rooms", {"q": cast.owner.phone}).json()
    assert found == []


def test_room_search_never_crosses_into_another_company(cast):
    stranger_phone_owner = factories.UserFactory()
    account_services.residency_create(user=stranger_phone_owner, room=cast.stranger_room)
    found = (
        cast.api("company_admin")
        .get(f"/api/v1/estates/{cast.estate.id}/rooms", {"q": stranger_phone_owner.phone})
        .json()
    )
    assert found == []


def test_room_detail_shows_masked_residents_to_customer_service_only(cast):
    agent_view = cast.api("service_agent").get(f"/api/v1/rooms/{cast.room.id}").json()
    assert agent_view["residents"] == [
        {
            "user_id": cast.owner.id,
            "name": "王业主",
            "phone_masked": cast.owner.phone[:3] + "****" + cast.owner.phone[-4:],
            "relation": "owner",
            "relation_label": agent_view["residents"][0]["relation_label"],
        }
    ]
    assert cast.owner.phone not in str(agent_view)
    assert cast.api("technician").get(f"/api/v1/rooms/{cast.room.id}").json()["residents"] is None
    assert cast.api("owner").get(f"/api/v1/rooms/{cast.room.id}").json()["residents"] is None


def test_owner_who_moved_out_no_longer_sees_the_room(cast):
    Residency.objects.filter(user=cast.owner).update(move_out_on=dt.date(2021, 1, 1))
    assert cast.api("owner").get(f"/api/v1/rooms/{cast.room.id}").status_code == 404
    assert cast.api("owner").get("/api/v1/me").json()["rooms"] == []


def test_room_list_paging_is_bounded_and_validated(cast):
    api = cast.api("supervisor")
    assert len(api.get(f"/api/v1/estates/{cast.estate.id}/rooms", {"limit": 1}).json()) == 1
    bad = api.get(f"/api/v1/estates/{cast.estate.id}/rooms", {"limit": "many"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "limit"


def test_estate_list_query_count_does_not_grow_with_estates(cast, django_assert_max_num_queries):
    for n in range(5):
        estate = factories.EstateFactory(company=cast.company, name=f"批量{n}")
        factories.RoomFactory(unit__building__estate=estate)
    api = cast.api("company_admin")
    api.get("/api/v1/estates")  # warm the token
    with django_assert_max_num_queries(6):
        body = api.get("/api/v1/estates").json()
    assert len(body) == 6


def test_building_list_query_count_is_constant(cast, django_assert_max_num_queries):
    for n in range(10):
        factories.BuildingFactory(estate=cast.estate, name=f"B{n}", grid=cast.grid)
    api = cast.api("supervisor")
    api.get("/api/v1/me")
    with django_assert_max_num_queries(6):
        body = api.get(f"/api/v1/estates/{cast.estate.id}/buildings").json()
    assert len(body) == 11
    assert {b["grid_name"] for b in body} == {"一网格"}


def test_openapi_schema_lists_the_foundation_endpoints(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    for path in ["/api/v1/auth/token", "/api/v1/me", "/api/v1/estates", "/api/v1/estates/{estate_id}/rooms"]:
        assert path in schema["paths"], path
    assert client.get("/api/v1/docs").status_code == 200
