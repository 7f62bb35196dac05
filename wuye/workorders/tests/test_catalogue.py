"""The per-process catalogue cache that creating an order reads (wuye.workorders.catalogue): what a create costs in
queries, and that a change made anywhere reaches the next order — at once when it moves the stamp, within the TTL
when it does not."""

import datetime as dt

import pytest
import time_machine
from django.db import connection

from wuye.estates.models import Estate
from wuye.estates.permissions import estates_visible
from wuye.workorders import catalogue
from wuye.workorders.api import _estate_visible
from wuye.workorders.choices import Kind, Priority, Step
from wuye.workorders.models import Category, ServiceCalendar, SlaPolicy, SlaTarget

from . import factories as wf

pytestmark = pytest.mark.django_db

LIST = "/api/v1/workorders"
# Tuesday 24 Nov 2026, 12:00 in Shanghai: inside the default service hours (08:00–20:00).
NOON = dt.datetime(2026, 11, 24, 4, 0, tzinfo=dt.UTC)
# A time no row was saved at: what a save() in another process leaves in updated_at (its signal fires only there).
ELSEWHERE = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def shop(cast):
    wf.seed_catalogue(cast)
    return cast


def repair(cast, **changes) -> dict:
    body = {
        "estate_id": cast.estate.id,
        "kind": Kind.REPAIR_HOME,
        "category_id": wf.category(cast, "plumbing").id,
        "room_id": cast.room.id,
        "description": "卫生间下水道堵塞",
    }
    body.update(changes)
    return body


def report(client, cast, **changes):
    return client.post(LIST, data=repair(cast, **changes), content_type="application/json")


def step_of(response, step: str) -> dict:
    return next(row for row in response.json()["sla"] if row["step"] == step)


def lookup(cast, code: str = "plumbing"):
    return catalogue.catalogue_lookup(estate_id=cast.estate.id, category_id=wf.category(cast, code).id)


def arrive_targets(cast):
    return SlaTarget.objects.filter(policy=wf.category(cast).sla_policy, step=Step.ARRIVE)


@time_machine.travel(NOON, tick=False)
def test_an_owners_report_with_a_warm_catalogue_costs_six_queries_on_postgresql(shop, django_assert_num_queries):
    client = shop.api("owner")
    assert report(client, shop).status_code == 201  # warms the token's last-use stamp and the catalogue
    # token, catalogue stamp with the room, its building and unit, roles with residencies (one query); savepoint, the
    # number, order, event and steps (one WITH statement on PostgreSQL, four statements elsewhere), release.
    # (13 before the catalogue cache and the hand-written reads and writes.)
    body = repair(shop)
    with django_assert_num_queries(6 if connection.vendor == "postgresql" else 9):
        response = client.post(LIST, data=body, content_type="application/json")
    assert response.status_code == 201


def test_a_current_entry_costs_one_query_and_a_cold_one_loads_the_rows(shop, django_assert_num_queries):
    ids = {"estate_id": shop.estate.id, "category_id": wf.category(shop).id}
    catalogue.catalogue_clear()
    with django_assert_num_queries(4):  # stamp, estate with calendar, category with policy, the policy's targets
        catalogue.catalogue_lookup(**ids)
    with django_assert_num_queries(1):
        estate, category = catalogue.catalogue_lookup(**ids)
    with django_assert_num_queries(0):
        assert category.sla_policy.targets.all()
        with pytest.raises(ServiceCalendar.DoesNotExist):
            estate.service_calendar  # noqa: B018 - known to be absent, without a query


@time_machine.travel(NOON, tick=False)
def test_a_category_switched_off_in_another_process_is_refused_at_once(shop):
    client = shop.api("owner")
    assert report(client, shop).status_code == 201
    Category.objects.filter(pk=wf.category(shop).pk).update(is_active=False, updated_at=ELSEWHERE)

    response = report(client, shop)

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["category_id"]


@time_machine.travel(NOON, tick=False)
def test_an_estate_switched_off_in_another_process_answers_404_at_once(shop):
    client = shop.api("owner")
    assert report(client, shop).status_code == 201
    Estate.objects.filter(pk=shop.estate.pk).update(is_active=False, updated_at=ELSEWHERE)

    assert report(client, shop).status_code == 404


@time_machine.travel(NOON, tick=False)
def test_a_target_limit_changed_in_another_process_applies_to_the_next_order(shop):
    client = shop.api("owner")
    before = step_of(report(client, shop), Step.ARRIVE)["limit_minutes"]
    arrive_targets(shop).update(limit_minutes=before + 100)  # no signal, no updated_at: the targets' sum moves

    assert step_of(report(client, shop), Step.ARRIVE)["limit_minutes"] == before + 100


@time_machine.travel(NOON, tick=False)
def test_a_policy_warning_point_changed_in_another_process_applies_to_the_next_order(shop):
    client = shop.api("owner")
    first = step_of(report(client, shop), Step.ARRIVE)
    SlaPolicy.objects.filter(pk=wf.category(shop).sla_policy_id).update(warn_ratio=0.5, updated_at=ELSEWHERE)

    second = step_of(report(client, shop), Step.ARRIVE)

    started = dt.datetime.fromisoformat(second["started_at"])
    half = dt.timedelta(minutes=second["limit_minutes"] / 2)
    assert first["warn_at"] != second["warn_at"]
    assert dt.datetime.fromisoformat(second["warn_at"]) == started + half


@time_machine.travel(NOON, tick=False)
def test_a_calendar_added_in_another_process_moves_the_next_due_time_at_once(shop):
    client = shop.api("owner")
    first = step_of(report(client, shop), Step.RESOLVE)["due_at"]
    # bulk_create sends no signal, as a save in another process would not reach this one.
    ServiceCalendar.objects.bulk_create(
        [ServiceCalendar(estate=shop.estate, spec={"weekly_hours": {"2": [["12:00", "13:00"]]}})]
    )

    second = step_of(report(client, shop), Step.RESOLVE)["due_at"]

    assert dt.datetime.fromisoformat(second) > dt.datetime.fromisoformat(first)


def test_a_change_that_moves_no_stamp_is_picked_up_once_the_entry_is_older_than_the_ttl(shop, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(catalogue, "_monotonic", lambda: clock[0])
    target = arrive_targets(shop).filter(priority=Priority.NORMAL).first()
    lookup(shop)
    # A queryset update that leaves every stamp as it was (same count, same minutes, no updated_at).
    SlaTarget.objects.filter(pk=target.pk).update(round_the_clock=not target.round_the_clock)

    def cached_flag() -> bool:
        _estate, category = lookup(shop)
        return next(t for t in category.sla_policy.targets.all() if t.pk == target.pk).round_the_clock

    clock[0] += catalogue.CATALOGUE_TTL_SECONDS - 1
    assert cached_flag() == target.round_the_clock
    clock[0] += 2
    assert cached_flag() == (not target.round_the_clock)


def test_saving_a_catalogue_row_in_this_process_forgets_the_cache_at_once(shop):
    target = arrive_targets(shop).filter(priority=Priority.NORMAL).first()
    lookup(shop)
    target.round_the_clock = not target.round_the_clock
    target.save()  # moves no stamp (targets have no updated_at): only the signal can tell the cache

    _estate, category = lookup(shop)

    assert next(t for t in category.sla_policy.targets.all() if t.pk == target.pk).round_the_clock is (
        target.round_the_clock
    )


def test_each_lookup_builds_its_own_instances(shop):
    estate, category = lookup(shop)
    estate.name = "改过的名字"
    category.kinds.append("changed")
    category.sla_policy.escalation.append({"role": "manager", "after_minutes": 1})

    estate, category = lookup(shop)

    assert estate.name == "翠湖花园"
    assert "changed" not in category.kinds
    assert category.sla_policy.escalation == SlaPolicy.objects.get(pk=category.sla_policy_id).escalation


def test_ids_no_row_can_have_answer_404_and_422_not_500(shop):
    client = shop.api("owner")

    assert report(client, shop, estate_id=2**70).status_code == 404
    assert report(client, shop, estate_id=0).status_code == 404
    response = report(client, shop, category_id=2**70)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["category_id"]
    assert catalogue.catalogue_lookup(estate_id=shop.estate.id, category_id=-1)[1] is None


def test_the_create_visibility_rule_is_the_estates_visible_rule(shop):
    Estate.objects.filter(pk=shop.other_estate.pk).update(is_active=False)
    estates = [Estate.objects.get(pk=shop.estate.pk), Estate.objects.get(pk=shop.other_estate.pk)]
    checked = 0
    for member, user in shop.users.items():
        if user is None:
            continue
        for estate in estates:
            expected = estates_visible(user).filter(pk=estate.pk).exists()
            assert _estate_visible(user, estate) is expected, (member, estate.code)
            checked += expected
    assert checked  # some member does see an estate
