"""The unread badge in the navigation bar (templates/base.html)."""

from functools import cache

from django.urls import reverse

from .selectors import unread_count


def unread(request) -> dict:
    """`notifications_unread` (a count) and `notifications_url` (the inbox of the portal or desk page being shown,
    empty elsewhere). Both are computed only when a template uses them, at most once a request: the count is one
    query for a signed-in person, none for anyone else; the address needs no query."""

    @cache
    def inbox_url() -> str:
        if not request.user.is_authenticated:
            return ""
        for side in ("desk", "portal"):
            if request.path.startswith(reverse(f"{side}:home")):
                return reverse(f"{side}:notifications:list")
        return ""

    @cache
    def count() -> int:
        user = request.user
        return unread_count(user) if user.is_authenticated else 0

    return {"notifications_url": inbox_url, "notifications_unread": count}
