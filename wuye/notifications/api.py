from ninja import Query, Router

from . import selectors, services
from .schemas import MarkedOut, NotificationFilters, NotificationOut, NotificationPageOut

router = Router(tags=["notifications"])


def _notification_out(notification) -> dict:
    return {
        "id": notification.id,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "link": notification.link,
        "estate_id": notification.estate_id,
        "estate_name": notification.estate.name if notification.estate else None,
        "created_at": notification.created_at,
        "read_at": notification.read_at,
        "is_read": notification.is_read,
    }


@router.get("/notifications", response=NotificationPageOut, summary="My notifications, newest first")
def notification_list(request, filters: Query[NotificationFilters]):
    notifications = selectors.notification_list(request.user, unread=filters.unread)
    page = notifications[filters.offset : filters.offset + filters.limit]
    return {
        "count": notifications.count(),
        "unread_count": selectors.unread_count(request.user),
        "items": [_notification_out(notification) for notification in page],
    }


@router.post("/notifications/read-all", response=MarkedOut, summary="Mark all my notifications read")
def notification_read_all(request):
    return {"marked": services.notifications_mark_all_read(user=request.user)}


@router.post("/notifications/{notification_id}/read", response=NotificationOut, summary="Mark one notification read")
def notification_read(request, notification_id: int):
    notification = services.notification_mark_read(user=request.user, notification_id=notification_id)
    return _notification_out(notification)
