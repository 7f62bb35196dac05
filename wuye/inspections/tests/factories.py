"""Patrol and inspection test data on the shared cast: a guard, checkpoints at public areas, routes, rounds."""

import datetime as dt
from zoneinfo import ZoneInfo

from wuye.accounts import services as account_services
from wuye.accounts.choices import Role
from wuye.estates.choices import PublicAreaKind
from wuye.estates.models import PublicArea
from wuye.inspections import codes, services
from wuye.inspections.choices import OrderRule
from wuye.inspections.models import Checkpoint, Round, Route
from wuye.testing import factories
from wuye.workorders import services as workorder_services

SH = ZoneInfo("Asia/Shanghai")
# A Friday morning in Shanghai (as in the standards tests).
NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=SH)
# 08:00–09:00 and 20:00–21:00 every day.
TWO_ROUNDS = {"kind": "daily", "windows": [{"start": "08:00", "end": "09:00"}, {"start": "20:00", "end": "21:00"}]}


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def guard(cast, estate=None, username: str = "guard"):
    """A guard of the cast's estate (the cast has none of its own)."""
    user = cast.users.get(username)
    if user is None:
        user = factories.UserFactory(username=username, name="保安员")
        account_services.membership_ensure(user=user, estate=estate or cast.estate, role=Role.GUARD)
        cast.users[username] = user
    return user


def public_area(estate, name: str, grid=None, kind=PublicAreaKind.OTHER) -> PublicArea:
    return PublicArea.objects.get_or_create(estate=estate, name=name, defaults={"grid": grid, "kind": kind})[0]


def checkpoints(cast, names=("南门", "地下车库入口", "中心花园"), estate=None) -> list[Checkpoint]:
    estate = estate or cast.estate
    grid = cast.grid if estate == cast.estate else None
    made = []
    for name in names:
        existing = Checkpoint.objects.filter(estate=estate, name=f"{name}巡更点").first()
        made.append(
            existing
            or services.checkpoint_create(
                actor=None,
                new=services.NewCheckpoint(
                    estate=estate,
                    name=f"{name}巡更点",
                    public_area=public_area(estate, name, grid),
                    position="门岗右侧墙面 1.5 米",
                ),
            )
        )
    return made


_DEFAULT = object()


def route(
    cast,
    *,
    name: str = "东区夜巡",
    points=None,
    schedule=_DEFAULT,
    order_rule=OrderRule.STRICT,
    offsets=None,
    role=Role.GUARD,
    assignee=None,
    estate=None,
    now=NOW,
    **extra,
) -> Route:
    estate = estate or cast.estate
    points = points if points is not None else checkpoints(cast, estate=estate)
    offsets = offsets or [None] * len(points)
    return services.route_create(
        actor=None,
        new=services.NewRoute(
            estate=estate,
            name=name,
            stops=list(zip(points, offsets, strict=True)),
            grid=cast.grid if estate == cast.estate else None,
            order_rule=order_rule,
            schedule=TWO_ROUNDS if schedule is _DEFAULT else schedule,
            assignee=assignee,
            assignee_role="" if assignee else role,
            **extra,
        ),
        now=now,
    )


def round_at(route_: Route, start: dt.datetime) -> Round:
    return Round.objects.get(route=route_, window_start=start)


def code(checkpoint: Checkpoint) -> str:
    return codes.label_code(checkpoint.estate_id, checkpoint.uid)


def qr(checkpoint: Checkpoint) -> str:
    return codes.payload(checkpoint.estate_id, checkpoint.uid)


def catalogue(cast) -> None:
    for company in (cast.company, cast.other_company):
        workorder_services.catalogue_seed(company=company)
