"""Inspections through the services: checklists from SOP items, answers checked before anything is written, every
failed item opening a rectification work order due after the SOP hours, the order's completion scheduling a re-check
exactly once, re-checks verifying or failing again, and spot checks sampled from tasks and scored."""

import datetime as dt

import pytest

from wuye.core.errors import Forbidden, ValidationFailed
from wuye.core.images import clean_image
from wuye.inspections import services
from wuye.inspections.choices import InspectionKind, InspectionStatus, ItemKind, ItemResult
from wuye.inspections.models import Inspection, InspectionEvent, InspectionItem, InspectionPhoto
from wuye.notifications.models import Notification
from wuye.standards.choices import TaskStatus
from wuye.standards.tests import factories as sf
from wuye.workorders import services as workorder_services
from wuye.workorders.choices import Kind, Status
from wuye.workorders.models import WorkOrder

from . import factories as pf
from .factories import NOW

pytestmark = pytest.mark.django_db


def setup(cast):
    sf.seed(cast)
    pf.catalogue(cast)


def inspect(
    cast, codes=("eng-pump-room", "eng-lift-check", "eng-roof"), *, inspector=None, kind=InspectionKind.ROUTINE
):
    setup(cast)
    area = pf.public_area(cast.estate, "水泵房", cast.grid)
    return services.inspection_create(
        actor=cast.supervisor,
        new=services.NewInspection(
            estate=cast.estate,
            discipline="engineering",
            kind=kind,
            sop_items=[sf.sop(cast, code) for code in codes],
            public_area=area,
            inspector=inspector or cast.technician,
        ),
        now=NOW,
    )


def items(inspection) -> dict[str, InspectionItem]:
    return {item.code: item for item in inspection.items.order_by("position")}


def photo():
    return clean_image(sf.png_bytes())


def test_the_checklist_is_copied_from_the_sop_items(cast):
    inspection = inspect(cast)
    rows = items(inspection)
    pump = rows["eng-pump-room"]
    assert (pump.kind, pump.reading_unit, pump.weight, pump.rectify_hours) == (ItemKind.READING, "MPa", 3, 4)
    assert rows["eng-lift-check"].kind == ItemKind.CHECK and rows["eng-roof"].kind == ItemKind.PHOTO
    assert inspection.grid_id == cast.grid.id  # from the public area
    assert InspectionEvent.objects.filter(inspection=inspection, action="create").count() == 1
    assert Notification.objects.filter(recipient=cast.technician, kind="inspection.routine").count() == 1


def test_an_inspection_needs_items_and_an_inspector_of_the_estate(cast):
    setup(cast)
    with pytest.raises(ValidationFailed) as excinfo:
        services.inspection_create(
            actor=cast.supervisor,
            new=services.NewInspection(estate=cast.estate, discipline="cleaning", inspector=cast.stranger_supervisor),
            now=NOW,
        )
    assert {e.field for e in excinfo.value.errors} == {"sop_items", "inspector_id"}


def answers_all_pass(inspection):
    rows = items(inspection)
    return (
        {
            rows["eng-pump-room"].id: {"result": "pass", "reading": 0.45},
            rows["eng-lift-check"].id: {"result": "pass"},
            rows["eng-roof"].id: {"result": "pass"},
        },
        {rows["eng-roof"].id: [photo()]},
    )


def test_a_clean_inspection_submits_with_full_score_and_no_orders(cast):
    inspection = inspect(cast)
    answers, photos = answers_all_pass(inspection)
    done = services.inspection_submit(
        actor=cast.technician, inspection_id=inspection.id, answers=answers, photos=photos, now=NOW
    )
    assert (done.status, str(done.score), done.submitted_at) == (InspectionStatus.SUBMITTED, "100.0", NOW)
    assert not WorkOrder.objects.exists()
    assert InspectionPhoto.objects.count() == 1
    assert items(done)["eng-pump-room"].reading == 0.45


def test_every_missing_answer_is_named_and_nothing_is_written(cast):
    inspection = inspect(cast)
    rows = items(inspection)
    with pytest.raises(ValidationFailed) as excinfo:
        services.inspection_submit(
            actor=cast.technician,
            inspection_id=inspection.id,
            answers={rows["eng-pump-room"].id: {"result": "pass"}, rows["eng-lift-check"].id: {"result": "fail"}},
            photos={rows["eng-roof"].id: []},
            now=NOW,
        )
    problems = {(e.field, e.code) for e in excinfo.value.errors}
    assert problems == {
        (f"items.{rows['eng-pump-room'].id}", "reading_required"),
        (f"items.{rows['eng-lift-check'].id}", "note_required"),
        (f"items.{rows['eng-roof'].id}", "result_required"),
        (f"items.{rows['eng-roof'].id}", "photo_required"),
    }
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.OPEN
    assert not InspectionPhoto.objects.exists()


def test_only_the_inspector_submits(cast):
    inspection = inspect(cast)
    answers, photos = answers_all_pass(inspection)
    with pytest.raises(Forbidden):
        services.inspection_submit(actor=cast.supervisor, inspection_id=inspection.id, answers=answers, now=NOW)


def test_a_submitted_inspection_cannot_be_submitted_again(cast):
    inspection = inspect(cast)
    answers, photos = answers_all_pass(inspection)
    services.inspection_submit(
        actor=cast.technician, inspection_id=inspection.id, answers=answers, photos=photos, now=NOW
    )
    with pytest.raises(services.InvalidMove):
        services.inspection_submit(
            actor=cast.technician, inspection_id=inspection.id, answers=answers, photos=photos, now=NOW
        )


def fail_two(cast, inspection):
    answers, photos = answers_all_pass(inspection)
    rows = items(inspection)
    answers[rows["eng-pump-room"].id] = {"result": "fail", "reading": 0.1, "note": "出水压力低于设定值"}
    answers[rows["eng-roof"].id] = {"result": "fail", "note": "天台门锁损坏"}
    return services.inspection_submit(
        actor=cast.technician, inspection_id=inspection.id, answers=answers, photos=photos, now=NOW
    )


def test_every_failed_item_opens_a_rectification_order_due_after_the_sop_hours(cast):
    inspection = fail_two(cast, inspect(cast))
    rows = items(inspection)
    pump, roof, lift = rows["eng-pump-room"], rows["eng-roof"], rows["eng-lift-check"]
    assert lift.work_order_id is None
    assert pump.work_order.kind == Kind.RECTIFICATION and pump.work_order.category.code == "plumbing"
    assert roof.work_order.category.code == "walls"
    assert pump.rectify_due_at == NOW + dt.timedelta(hours=4)  # eng-pump-room: 4 hours
    assert roof.rectify_due_at == NOW + dt.timedelta(hours=72)
    assert pump.work_order.source_type == "inspection_item" and pump.work_order.source_id == str(pump.id)
    assert "出水压力低于设定值" in pump.work_order.description
    assert roof.work_order.photos.count() == 1  # the failed item's photo goes with the order
    # weight 3 (pump) + 3 (lift) + 2 (roof): only the lift check passed.
    assert str(inspection.score) == "37.5"


def resolve(order: WorkOrder, technician, at):
    for action, params in (
        ("accept", {}),
        ("dispatch", {"assignee_id": technician.id}),
        ("take", {}),
        ("arrive", {}),
        ("start", {}),
        ("resolve", {"resolution": "已更换"}),
    ):
        workorder_services.workorder_act(actor=None, order_id=order.id, action=action, params=params, now=at)
    order.refresh_from_db()
    return order


def rechecks_of(item: InspectionItem):
    return Inspection.objects.filter(kind=InspectionKind.RECHECK, items__recheck_of=item)


def test_resolving_the_order_schedules_one_recheck_for_the_inspector_at_once(cast):
    inspection = fail_two(cast, inspect(cast))
    pump = items(inspection)["eng-pump-room"]
    later = NOW + dt.timedelta(hours=3)
    order = resolve(pump.work_order, cast.technician, later)
    assert order.status == Status.RESOLVED
    # The work-order hook created it in the resolve's own transaction: no job had to run.
    (recheck,) = rechecks_of(pump)
    assert (recheck.inspector_id, recheck.due_at) == (cast.technician.id, later + dt.timedelta(hours=24))
    (item,) = recheck.items.all()
    assert (item.code, item.recheck_of_id, item.kind) == ("eng-pump-room", pump.id, ItemKind.READING)
    pump.refresh_from_db()
    assert pump.rectified_at == later
    # Calling it again, the sync job, and closing the order after the owner's visit: still one re-check.
    assert services.rectification_resolved(order=order, now=later) is None
    assert services.rectifications_sync(now=later) == 0
    workorder_services.workorder_act(
        actor=cast.supervisor, order_id=order.id, action="force_close", params={"reason": "已复核"}, now=later
    )
    assert Inspection.objects.filter(kind=InspectionKind.RECHECK).count() == 1
    assert Notification.objects.filter(recipient=cast.technician, kind="inspection.recheck").count() == 1


def test_force_closing_a_rectification_schedules_its_recheck_too(cast):
    inspection = fail_two(cast, inspect(cast))
    roof = items(inspection)["eng-roof"]
    workorder_services.workorder_act(
        actor=cast.supervisor,
        order_id=roof.work_order_id,
        action="force_close",
        params={"reason": "已由外包单位处理"},
        now=NOW + dt.timedelta(hours=2),
    )
    (recheck,) = rechecks_of(roof)
    assert recheck.due_at == NOW + dt.timedelta(hours=26)


def test_the_sync_job_catches_orders_completed_without_the_hook(cast):
    inspection = fail_two(cast, inspect(cast))
    rows = items(inspection)
    # Orders completed behind the services' back (an import, a repair by hand in the database): no hook ran.
    WorkOrder.objects.filter(pk=rows["eng-pump-room"].work_order_id).update(status=Status.RESOLVED)
    WorkOrder.objects.filter(pk=rows["eng-roof"].work_order_id).update(status=Status.CLOSED)
    assert not Inspection.objects.filter(kind=InspectionKind.RECHECK).exists()
    assert services.rectifications_sync(now=NOW + dt.timedelta(hours=2)) == 2
    assert services.rectifications_sync(now=NOW + dt.timedelta(hours=3)) == 0
    assert rechecks_of(rows["eng-pump-room"]).count() == 1 and rechecks_of(rows["eng-roof"]).count() == 1


def test_the_sync_job_leaves_open_rectifications_alone(cast):
    fail_two(cast, inspect(cast))
    assert services.rectifications_sync(now=NOW + dt.timedelta(hours=2)) == 0
    assert not Inspection.objects.filter(kind=InspectionKind.RECHECK).exists()


def test_a_hook_call_for_an_ordinary_order_does_nothing(cast):
    pf.catalogue(cast)
    order, _created = workorder_services.workorder_create(
        actor=cast.owner,
        new=workorder_services.NewOrder(
            estate=cast.estate,
            kind=Kind.REPAIR_HOME,
            category=cast.company.categories.get(code="plumbing"),
            description="厨房漏水",
            room=cast.room,
            reporter=cast.owner,
        ),
        now=NOW,
    )
    assert services.rectification_resolved(order=order, now=NOW) is None


def recheck_of(cast, inspection, code="eng-pump-room"):
    item = items(inspection)[code]
    resolve(item.work_order, cast.technician, NOW + dt.timedelta(hours=1))
    return rechecks_of(item).get(), item


def test_a_passed_recheck_verifies_the_rectification(cast):
    recheck, original = recheck_of(cast, fail_two(cast, inspect(cast)))
    (item,) = recheck.items.all()
    services.inspection_submit(
        actor=cast.technician,
        inspection_id=recheck.id,
        answers={item.id: {"result": "pass", "reading": 0.5}},
        now=NOW + dt.timedelta(hours=5),
    )
    original.refresh_from_db()
    assert original.verified_at == NOW + dt.timedelta(hours=5)


def test_a_failed_recheck_opens_a_new_rectification(cast):
    recheck, original = recheck_of(cast, fail_two(cast, inspect(cast)))
    (item,) = recheck.items.all()
    services.inspection_submit(
        actor=cast.technician,
        inspection_id=recheck.id,
        answers={item.id: {"result": "fail", "reading": 0.2, "note": "压力仍然偏低"}},
        now=NOW + dt.timedelta(hours=5),
    )
    item.refresh_from_db()
    original.refresh_from_db()
    assert original.verified_at is None
    assert item.work_order is not None and item.work_order_id != original.work_order_id
    assert item.rectify_due_at == NOW + dt.timedelta(hours=9)


def test_cancelling_needs_a_reason_and_an_open_inspection(cast):
    inspection = inspect(cast)
    with pytest.raises(ValidationFailed):
        services.inspection_cancel(actor=cast.supervisor, inspection_id=inspection.id, reason="", now=NOW)
    services.inspection_cancel(actor=cast.supervisor, inspection_id=inspection.id, reason="设备停用", now=NOW)
    with pytest.raises(services.InvalidMove):
        services.inspection_cancel(actor=cast.supervisor, inspection_id=inspection.id, reason="再次", now=NOW)


def test_without_a_rectification_category_the_submission_is_refused_whole(cast):
    inspection = inspect(cast)
    cast.company.categories.filter(code__in=["plumbing", "other", "walls"]).update(is_active=False)
    with pytest.raises(ValidationFailed) as excinfo:
        fail_two(cast, inspection)
    assert excinfo.value.errors[0].field == "category"
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.OPEN and not WorkOrder.objects.exists()


# ---------------------------------------------------------------------------------------------------- spot checks


def done_tasks(cast, count=4):
    sf.assign(cast, "level_1")
    plan = sf.plan(cast, name="楼道清扫", items=("cln-stairwell",))
    tasks = []
    for day in range(count):
        start = NOW - dt.timedelta(days=day + 1)
        tasks.append(
            plan.tasks.create(
                estate=cast.estate,
                window_start=start,
                window_end=start + dt.timedelta(hours=3),
                grace_until=start + dt.timedelta(hours=5),
                assignee=cast.technician,
                status=TaskStatus.DONE,
                done_at=start + dt.timedelta(hours=1),
                done_by=cast.technician,
            )
        )
    return plan, tasks


def test_spot_checks_sample_done_tasks_once_and_judge_who_did_them(cast):
    setup(cast)
    _plan, tasks = done_tasks(cast)
    first = services.spot_checks_sample(actor=cast.supervisor, estate=cast.estate, now=NOW, count=3, seed=1)
    assert len(first) == 3
    assert all(c.kind == InspectionKind.SPOT_CHECK and c.subject_id == cast.technician.id for c in first)
    assert all(c.inspector_id == cast.supervisor.id for c in first)
    assert [i.code for i in first[0].items.all()] == ["cln-stairwell"]
    second = services.spot_checks_sample(actor=cast.supervisor, estate=cast.estate, now=NOW, count=3, seed=1)
    assert len(second) == 1  # only one task was left unchecked
    assert {c.task_id for c in first + second} == {t.id for t in tasks}


def test_sampling_refuses_silly_numbers(cast):
    with pytest.raises(ValidationFailed) as excinfo:
        services.spot_checks_sample(actor=cast.supervisor, estate=cast.estate, now=NOW, count=0, days=400)
    assert {e.field for e in excinfo.value.errors} == {"count", "days"}


def test_a_failed_spot_check_item_opens_a_rectification_too(cast):
    setup(cast)
    done_tasks(cast, count=1)
    (check,) = services.spot_checks_sample(actor=cast.supervisor, estate=cast.estate, now=NOW, count=1)
    (item,) = check.items.all()
    services.inspection_submit(
        actor=cast.supervisor,
        inspection_id=check.id,
        answers={item.id: {"result": "fail", "note": "楼梯扶手有灰"}},
        now=NOW,
    )
    item.refresh_from_db()
    check.refresh_from_db()
    assert item.work_order.category.code == "cleaning" and str(check.score) == "0.0"
    assert item.result == ItemResult.FAIL
