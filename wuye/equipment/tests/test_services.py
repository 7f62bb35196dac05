"""The equipment ledger: adding items with a place in the estate, random label codes, status changes with events,
who sees what, and the admin's estate scoping."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.http import Http404

from wuye.core.errors import ValidationFailed
from wuye.equipment import selectors
from wuye.equipment.choices import TRANSITIONS, EquipmentStatus
from wuye.equipment.models import Equipment, EquipmentEvent
from wuye.equipment.permissions import can_change_status, can_manage_ledger
from wuye.equipment.services import NewEquipment, equipment_create, equipment_set_status
from wuye.testing import factories
from wuye.testing.plugin import listed_pks

NOW = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


def lift(cast, code="LIFT-1-1", **fields):
    new = NewEquipment(code=code, name="1栋1号客梯", category="lift", importance="A", building=cast.building, **fields)
    return equipment_create(estate=cast.estate, new=new, now=NOW)


def test_new_equipment_is_in_service_with_a_random_label_and_a_first_event(cast):
    item = lift(cast, maker="日立电梯", model_number="HGP-1000", installed_on=dt.date(2019, 6, 1))
    other = lift(cast, code="LIFT-1-2")
    assert item.status == EquipmentStatus.IN_SERVICE
    assert len(item.label_code) == 12
    assert item.label_code != other.label_code
    assert not set(item.label_code) & set("0O1IL")
    event = item.events.get()
    assert (event.from_status, event.to_status, event.at) == ("", EquipmentStatus.IN_SERVICE, NOW)


def test_a_room_gives_the_building_and_a_public_area_or_room_is_required_somewhere(cast):
    item = equipment_create(
        estate=cast.estate, new=NewEquipment(code="AC-101", name="户内空调", category="hvac", room=cast.room), now=NOW
    )
    assert item.building == cast.room.building
    with pytest.raises(ValidationFailed) as refusal:
        equipment_create(estate=cast.estate, new=NewEquipment(code="X", name="无处", category="other"), now=NOW)
    assert [e.field for e in refusal.value.errors] == ["location"]


def test_places_of_another_estate_are_refused_naming_the_field(cast):
    stranger_building = cast.stranger_room.building
    area = factories.PublicAreaFactory(estate=cast.other_estate, name="水泵房")
    new = NewEquipment(
        code="P-1", name="泵", category="water_pump", building=stranger_building, public_area=area, importance="Z"
    )
    with pytest.raises(ValidationFailed) as refusal:
        equipment_create(estate=cast.estate, new=new, now=NOW)
    assert {e.field for e in refusal.value.errors} == {"building", "public_area", "importance"}
    assert not Equipment.objects.exists()


def test_asset_numbers_are_unique_in_an_estate(cast):
    lift(cast)
    with pytest.raises(ValidationFailed) as refusal:
        lift(cast)
    assert refusal.value.errors[0].code == "duplicate"


def test_the_database_refuses_a_place_that_is_both_a_public_area_and_a_room(cast):
    area = factories.PublicAreaFactory(estate=cast.estate, name="大堂")
    with pytest.raises(IntegrityError), transaction.atomic():
        Equipment.objects.create(
            estate=cast.estate, code="X", name="x", category="other", public_area=area, room=cast.room, label_code="A"
        )


ALL_MOVES = [(start, end) for start in EquipmentStatus.values for end in EquipmentStatus.values if start != end]


@pytest.mark.parametrize(("start", "end"), ALL_MOVES)
def test_every_status_move_in_the_table_succeeds_with_one_event_and_every_other_is_refused(cast, start, end):
    item = lift(cast)
    Equipment.objects.filter(pk=item.pk).update(status=start)
    events_before = EquipmentEvent.objects.filter(equipment=item).count()
    if end in TRANSITIONS[start]:
        equipment_set_status(equipment_id=item.pk, status=end, actor=cast.technician, note="电机异响", now=NOW)
        item.refresh_from_db()
        assert item.status == end
        event = EquipmentEvent.objects.filter(equipment=item).latest("id")
        assert (event.from_status, event.to_status, event.actor) == (start, end, cast.technician)
        assert EquipmentEvent.objects.filter(equipment=item).count() == events_before + 1
    else:
        with pytest.raises(ValidationFailed) as refusal:
            equipment_set_status(equipment_id=item.pk, status=end, now=NOW)
        assert refusal.value.code == "invalid_transition"
        item.refresh_from_db()
        assert item.status == start
        assert EquipmentEvent.objects.filter(equipment=item).count() == events_before


def test_setting_the_current_status_again_changes_nothing(cast):
    item = lift(cast)
    equipment_set_status(equipment_id=item.pk, status=EquipmentStatus.IN_SERVICE, now=NOW)
    assert item.events.count() == 1


def test_staff_of_the_estate_see_its_equipment_and_no_one_else_does(cast):
    item = lift(cast)
    for member in ("service_agent", "technician", "supervisor", "manager", "company_admin"):
        assert selectors.equipment_get(cast.users[member], item.pk) == item
        assert selectors.equipment_by_label(cast.users[member], item.label_code) == item
    for member in ("owner", "other_owner", "stranger_supervisor"):
        with pytest.raises(Http404):
            selectors.equipment_get(cast.users[member], item.pk)
    assert can_manage_ledger(cast.manager, cast.estate.id)
    assert not can_manage_ledger(cast.technician, cast.estate.id)
    assert can_change_status(cast.technician, item)
    assert not can_change_status(cast.service_agent, item)


def test_the_admin_lists_only_the_estates_the_editor_manages(admin_cast, client):
    cast = admin_cast
    mine = lift(cast)
    theirs = equipment_create(
        estate=cast.other_estate,
        new=NewEquipment(code="GEN-1", name="发电机", category="generator", location_note="配电房"),
        now=NOW,
    )
    client.force_login(cast.manager)
    assert listed_pks(client.get("/admin/equipment/equipment/")) == {mine.pk}
    assert client.get(f"/admin/equipment/equipment/{theirs.pk}/change/").status_code == 302
    client.force_login(cast.users["superuser"])
    assert listed_pks(client.get("/admin/equipment/equipment/")) == {mine.pk, theirs.pk}
