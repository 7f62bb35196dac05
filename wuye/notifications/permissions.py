"""Who may see which notifications: each person sees their own, nobody else's (staff included)."""

from django.db.models import QuerySet

from .models import Notification


def notifications_visible(user) -> QuerySet[Notification]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user)
