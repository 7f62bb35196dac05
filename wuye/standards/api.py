"""The task API for phones: my tasks of a day, one task with what it asks for, start and finish it, proof photos.

Not visible → 404; visible but not the caller's to do → 403; a move the status does not allow (or a window still
far off) → 409; missing evidence → 422 naming each item (`evidence.<item code>`).
"""

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Body, File, Form, Query, Router
from ninja.files import UploadedFile

from wuye.core import clock
from wuye.core.errors import FieldError, Forbidden, ValidationFailed
from wuye.core.http import stored_file_response
from wuye.core.images import DEFAULT_MAX_BYTES, ImageRejected, clean_image

from . import selectors, services
from .choices import TASK_USER_ACTIONS, Evidence, TaskAction
from .models import Task
from .permissions import can_act
from .schemas import TaskActionIn, TaskFilters, TaskListItemOut, TaskOut

router = Router(tags=["standards"])
LIST_LIMIT = 300


def _person(user) -> dict | None:
    return None if user is None else {"id": user.id, "name": user.display_name}


def _item_out(user, task: Task, now: dt.datetime) -> dict:
    plan = task.plan
    return {
        "id": task.id,
        "estate_id": task.estate_id,
        "plan_id": plan.id,
        "plan_name": plan.name,
        "discipline": plan.discipline,
        "discipline_label": plan.get_discipline_display(),
        "place": plan.place_label,
        "window_start": task.window_start,
        "window_end": task.window_end,
        "grace_until": task.grace_until,
        "status": task.status,
        "status_label": task.get_status_display(),
        "assignee": _person(task.assignee),
        "assignee_role": task.assignee_role,
        "allowed_actions": selectors.allowed_task_actions(user, task, now),
    }


def _detail(request, task_id: int) -> dict:
    now = clock.now()
    task = selectors.task_get(request.user, task_id)
    photos = list(selectors.task_photos(task))
    per_item: dict[str, int] = {}
    for photo in photos:
        per_item[photo.item] = per_item.get(photo.item, 0) + 1
    return {
        **_item_out(request.user, task, now),
        "items": [
            {
                "key": item.key,
                "title": item.title,
                "standard": item.standard,
                "evidence": item.evidence,
                "evidence_label": str(Evidence(item.evidence).label),
                "reading_unit": item.reading_unit,
                "photos": per_item.get(item.key, 0),
            }
            for item in selectors.required_items(task.plan)
        ],
        "evidence": task.evidence or {},
        "note": task.note,
        "started_at": task.started_at,
        "done_at": task.done_at,
        "photos": [
            {
                "id": photo.id,
                "item": photo.item,
                "url": reverse("api:standards_task_photo", kwargs={"task_id": task.id, "photo_id": photo.id}),
                "uploaded_at": photo.uploaded_at,
            }
            for photo in photos
        ],
        "photos_url": reverse("api:standards_task_photos", kwargs={"task_id": task.id}),
        "events": [
            {
                "action": event.action,
                "action_label": event.get_action_display(),
                "actor": _person(event.actor),
                "at": event.at,
                "from_status": event.from_status,
                "to_status": event.to_status,
            }
            for event in task.events.select_related("actor").order_by("at", "id")
        ],
    }


@router.get(
    "/standards/tasks",
    response=list[TaskListItemOut],
    summary="My tasks of a day (or all I may see)",
    url_name="standards_task_list",
)
def task_list(request, filters: Query[TaskFilters]):
    now = clock.now()
    tasks = selectors.tasks_of_day(
        request.user,
        day=filters.day or clock.today(),
        mine=filters.scope == "mine",
        estate_id=filters.estate_id,
        status=filters.status,
    )[:LIST_LIMIT]
    return [_item_out(request.user, task, now) for task in tasks]


@router.get(
    "/standards/tasks/{task_id}",
    response=TaskOut,
    summary="One task with its items, evidence and timeline",
    url_name="standards_task_detail",
)
def task_detail(request, task_id: int):
    return _detail(request, task_id)


@router.post(
    "/standards/tasks/{task_id}/actions/{action}",
    response=TaskOut,
    summary="start or finish a task (finish needs the evidence each item demands)",
    url_name="standards_task_action",
)
def task_action(request, task_id: int, action: str, payload: Body[TaskActionIn | None] = None):
    if action not in TASK_USER_ACTIONS:
        raise ValidationFailed(
            _("Unknown action."),
            errors=[
                FieldError(
                    "action",
                    "invalid",
                    _("Must be one of: %(choices)s.") % {"choices": ", ".join(sorted(TASK_USER_ACTIONS))},
                )
            ],
        )
    task = selectors.task_get(request.user, task_id)
    evidence = {}
    note = ""
    if payload is not None:
        evidence = {key: value.dict(exclude_none=True) for key, value in (payload.evidence or {}).items()}
        note = payload.note or ""
    services.task_act(
        actor=request.user,
        task_id=task.id,
        action=TaskAction(action),
        evidence=evidence,
        note=note,
        now=clock.now(),
    )
    return _detail(request, task.id)


def _read_clean(upload: UploadedFile):
    content = upload.read(DEFAULT_MAX_BYTES + 1)
    try:
        return clean_image(content)
    except ImageRejected as refusal:
        raise ValidationFailed(
            refusal.message, code=refusal.code, errors=[FieldError("file", refusal.code, refusal.message)]
        ) from None


@router.post(
    "/standards/tasks/{task_id}/photos",
    response={201: TaskOut},
    summary="Add proof photos to one item (multipart: file, repeatable; item = the item code)",
    url_name="standards_task_photos",
)
def task_photos_add(request, task_id: int, file: File[list[UploadedFile]], item: Form[str]):
    task = selectors.task_get(request.user, task_id)
    if not can_act(request.user, task, TaskAction.FINISH):  # refuse before reading any upload
        raise Forbidden(_("This task is not yours to do."))
    if len(file) > services.PHOTOS_PER_ITEM:
        message = _("At most %(max)d photos per item.") % {"max": services.PHOTOS_PER_ITEM}
        raise ValidationFailed(message, errors=[FieldError("file", "too_many_photos", message)])
    cleaned = [_read_clean(upload) for upload in file]
    services.task_photos_add(actor=request.user, task_id=task.id, item=item, photos=cleaned, now=clock.now())
    return 201, _detail(request, task.id)


@router.get(
    "/standards/tasks/{task_id}/photos/{photo_id}",
    summary="A stored proof photo",
    url_name="standards_task_photo",
    response={200: None},
)
def task_photo(request, task_id: int, photo_id: int):
    photo = selectors.task_photo_get(request.user, task_id, photo_id)
    return stored_file_response(photo.file, photo.content_type)
