"""Every write about people and access: sign-in throttling, API tokens, accounts, memberships and residencies."""

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from wuye.core import clock
from wuye.core.errors import Throttled, Unauthenticated

from .choices import STAFF_ROLES, Relation, Role
from .models import ApiToken, LoginFailure, Membership, Residency, User
from .selectors import roles_by_estate

TOKEN_PREFIX_LENGTH = 8


def _normalise_identifier(identifier: str) -> str:
    return (identifier or "").strip().lower()[:150]


def login_throttle_check(*, identifier: str, ip_address: str | None, now: dt.datetime) -> None:
    """Refuse further tries once an account or an address has failed too often within the window."""
    since = now - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(at__gte=since)
    by_account = recent.filter(identifier=_normalise_identifier(identifier)).count()
    # An address gets more room than one account: a whole estate office may sit behind one address.
    by_address = recent.filter(ip_address=ip_address).count() if ip_address else 0
    if by_account >= settings.LOGIN_FAILURE_LIMIT or by_address >= settings.LOGIN_FAILURE_LIMIT * 4:
        minutes = settings.LOGIN_FAILURE_WINDOW_SECONDS // 60
        raise Throttled(_("Too many failed sign-in attempts. Try again in %(minutes)d minutes.") % {"minutes": minutes})


def login_failure_record(*, identifier: str, ip_address: str | None, now: dt.datetime) -> None:
    LoginFailure.objects.create(identifier=_normalise_identifier(identifier), ip_address=ip_address, at=now)


def sign_in_check(*, request, identifier: str, password: str, ip_address: str | None) -> User:
    """Check a sign-in name (username or phone) and password, with throttling. Returns the active user or raises.

    The error never says whether the account exists or is disabled: both read "wrong name or password".
    """
    now = clock.now()
    login_throttle_check(identifier=identifier, ip_address=ip_address, now=now)
    user = authenticate(request, username=identifier, password=password)
    if user is None:
        login_failure_record(identifier=identifier, ip_address=ip_address, now=now)
        raise Unauthenticated(_("Wrong username, phone number or password."), code="bad_credentials")
    LoginFailure.objects.filter(identifier=_normalise_identifier(identifier)).delete()
    return user


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_issue(*, user: User, now: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """Create a bearer token; returns the row and the raw token, which is never stored and cannot be shown again."""
    now = now or clock.now()
    raw = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        key_hash=_hash_token(raw),
        prefix=raw[:TOKEN_PREFIX_LENGTH],
        expires_at=now + dt.timedelta(days=settings.API_TOKEN_TTL_DAYS),
    )
    return token, raw


def api_token_authenticate(*, raw: str, now: dt.datetime | None = None) -> User | None:
    """The active user a bearer token belongs to, or None. Checked on every request, so disabling an account or
    revoking a token takes effect at once."""
    if not raw:
        return None
    now = now or clock.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash_token(raw), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    # Record use at most once a minute: avoids a write on every API call.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def api_token_revoke(*, raw: str, now: dt.datetime | None = None) -> bool:
    now = now or clock.now()
    return ApiToken.objects.filter(key_hash=_hash_token(raw), revoked_at__isnull=True).update(revoked_at=now) == 1


@transaction.atomic
def user_deactivate(*, user: User, now: dt.datetime | None = None) -> None:
    """Disable an account: its sessions stop working at once (the auth backend refuses inactive users on every
    request), and its API tokens are revoked so re-enabling the account does not revive old tokens."""
    now = now or clock.now()
    user.is_active = False
    user.save(update_fields=["is_active"])
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)


def credentials_prune(*, now: dt.datetime) -> tuple[int, int]:
    """Delete expired or long-revoked tokens and sign-in failures older than the throttle window."""
    window = dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    tokens, _detail = ApiToken.objects.filter(
        Q(expires_at__lt=now) | Q(revoked_at__lt=now - dt.timedelta(days=7))
    ).delete()
    failures, _detail = LoginFailure.objects.filter(at__lt=now - window).delete()
    return tokens, failures


def membership_ensure(*, user: User, estate, role: str) -> Membership:
    """Give a user a role in an estate (or, for company_admin, in the estate's whole company); idempotent."""
    if role == Role.COMPANY_ADMIN:
        membership, _created = Membership.objects.get_or_create(
            user=user, company=estate.company, estate=None, role=role
        )
    else:
        membership, _created = Membership.objects.get_or_create(
            user=user, estate=estate, role=role, defaults={"company": estate.company}
        )
    return membership


@transaction.atomic
def residency_create(
    *, user: User, room, relation: str = Relation.OWNER, move_in_on: dt.date | None = None
) -> Residency:
    """Link a person to a room and give them the matching role in the room's estate."""
    residency = Residency.objects.create(user=user, room=room, relation=relation, move_in_on=move_in_on)
    role = Role.OWNER if relation == Relation.OWNER else Role.RESIDENT
    membership_ensure(user=user, estate=room.estate, role=role)
    return residency


def landing_url(user) -> str:
    """Where a signed-in person starts: the desk for anyone with a staff role, the portal for owners/residents."""
    if any(roles & STAFF_ROLES for roles in roles_by_estate(user).values()):
        return "desk:home"
    if roles_by_estate(user):
        return "portal:home"
    return "accounts:no_role"
