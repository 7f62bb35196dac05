"""The inbox pages: the same list in the owner portal and on the staff desk, each behind that side's role check."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from wuye.accounts.choices import RESIDENT_ROLES
from wuye.accounts.selectors import roles_by_estate
from wuye.core.errors import NotFound
from wuye.estates.permissions import staff_estates

from . import selectors, services

PAGE_SIZE = 20


def _holds_resident_role(user) -> bool:
    """The portal's own check (portal home): an owner or resident role in some estate."""
    return any(roles & RESIDENT_ROLES for roles in roles_by_estate(user).values())


def _works_in_an_estate(user) -> bool:
    """The desk's own check (desk home): a staff role in some active estate."""
    return staff_estates(user).exists()


@dataclass(frozen=True)
class Inbox:
    """Which side an inbox page is on: its URL namespace, its home page and who may use it."""

    namespace: str
    home: str
    allows: Callable[[object], bool]

    @property
    def list_name(self) -> str:
        return f"{self.namespace}:list"

    @property
    def open_name(self) -> str:
        return f"{self.namespace}:open"

    @property
    def read_all_name(self) -> str:
        return f"{self.namespace}:read_all"


PORTAL = Inbox(namespace="portal:notifications", home="portal:home", allows=_holds_resident_role)
DESK = Inbox(namespace="desk:notifications", home="desk:home", allows=_works_in_an_estate)


def _require_side(request: HttpRequest, inbox: Inbox) -> None:
    if not inbox.allows(request.user):
        raise PermissionDenied


@login_required
@require_GET
def notification_list(request: HttpRequest, inbox: Inbox) -> HttpResponse:
    """My notifications, newest first, unread ones highlighted; 20 a page."""
    _require_side(request, inbox)
    page = Paginator(selectors.notification_list(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page, "inbox": inbox})


@login_required
@require_POST
def notification_read_all(request: HttpRequest, inbox: Inbox) -> HttpResponse:
    _require_side(request, inbox)
    services.notifications_mark_all_read(user=request.user)
    return redirect(inbox.list_name)


@login_required
@require_GET
def notification_open(request: HttpRequest, inbox: Inbox, notification_id: int) -> HttpResponse:
    """Opening a notification marks it read and goes to what it is about (or back to the list)."""
    _require_side(request, inbox)
    try:
        notification = services.notification_mark_read(user=request.user, notification_id=notification_id)
    except NotFound as error:
        raise Http404(error.message) from error
    if notification.link and url_has_allowed_host_and_scheme(
        notification.link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(notification.link)
    return redirect(inbox.list_name)
