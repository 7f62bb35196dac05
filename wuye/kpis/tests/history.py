"""A generated history of work orders for the KPI tests, made through the real work-order services (numbers, SLA
clocks, events, reopen rules): a few hundred orders over twelve days and the same days a year before, in two grids
and outside any grid, handled by three technicians, with every kind of outcome — fast and slow, on time and late,
rated good and bad, return visits satisfied or not, reopened, transferred, held, cancelled, closed by force, and
some still open.
"""

import datetime as dt
import random
from dataclasses import dataclass, field

from wuye.accounts import services as account_services
from wuye.accounts.choices import Role
from wuye.accounts.models import User
from wuye.estates.models import Grid
from wuye.testing import factories
from wuye.workorders import services
from wuye.workorders.choices import Action, Channel, Kind, Priority
from wuye.workorders.models import Category

# A Friday, 10:00 in Shanghai: the tests freeze the clock here.
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
SEED = 7


@dataclass
class History:
    cast: object
    now: dt.datetime
    technicians: list[User]
    grids: list[Grid]
    orders: list[int] = field(default_factory=list)


def _place(cast):
    """A second grid with its own building and public area, a building outside any grid, owners in their rooms."""
    grid2 = factories.GridFactory(estate=cast.estate, name="二网格")
    building2 = factories.BuildingFactory(estate=cast.estate, name="2", grid=grid2)
    loose_building = factories.BuildingFactory(estate=cast.estate, name="9", grid=None)
    rooms = [cast.room, cast.other_room]
    owners = {cast.room.id: cast.owner, cast.other_room.id: cast.other_owner}
    for building, count in ((building2, 3), (loose_building, 2), (cast.building, 1)):
        unit = factories.UnitFactory(building=building, name="2")
        for number in range(count):
            room = factories.RoomFactory(unit=unit, number=f"{3 + number}0{number + 1}", floor=3)
            owner = factories.UserFactory(username=f"kpi-owner-{room.id}", name=f"业主{room.id}")
            account_services.residency_create(user=owner, room=room)
            rooms.append(room)
            owners[room.id] = owner
    # One room nobody lives in: not a household.
    factories.RoomFactory(unit=factories.UnitFactory(building=building2, name="3"), number="101", floor=1)
    areas = [
        factories.PublicAreaFactory(estate=cast.estate, name="二区花园", grid=grid2),
        factories.PublicAreaFactory(estate=cast.estate, name="南门", grid=None),
        factories.PublicAreaFactory(estate=cast.estate, name="一区车库", grid=cast.grid),
    ]
    return [cast.grid, grid2], rooms, owners, areas


def _technicians(cast) -> list[User]:
    people = [cast.technician]
    for index in (2, 3):
        user = factories.UserFactory(username=f"kpi-tech{index}", name=f"维修工{index}")
        account_services.membership_ensure(user=user, estate=cast.estate, role=Role.TECHNICIAN)
        people.append(user)
    return people


# kind → (share, categories without a licence requirement, channel weights portal/phone/walk-in)
KINDS = {
    Kind.REPAIR_HOME: (40, ("plumbing", "doors_locks", "walls", "access")),
    Kind.REPAIR_PUBLIC: (20, ("plumbing", "doors_locks", "cleaning", "access")),
    Kind.COMPLAINT: (18, ("noise", "parking", "cleaning", "service")),
    Kind.INQUIRY: (10, ("fees", "parking", "other")),
    Kind.SUGGESTION: (6, ("service", "fees")),
    Kind.PRAISE: (6, ("service", "other")),
}


class _Walker:
    def __init__(self, history: History, rng: random.Random, order, owner: User):
        self.history, self.rng, self.order, self.owner = history, rng, order, owner
        self.cast = history.cast
        self.moment = order.submitted_at
        self.assignee = None

    def act(self, action: str, actor, minutes: float, **params) -> bool:
        """Take the action `minutes` after the last one, unless that is after now (the order stays where it is)."""
        moment = self.moment + dt.timedelta(minutes=minutes)
        if moment >= self.history.now:
            return False
        services.workorder_act(actor=actor, order_id=self.order.id, action=action, params=params, now=moment)
        self.moment = moment
        return True

    def delay(self, fast: float, slow: float, late_share: float) -> float:
        """Mostly fast, sometimes slow: a log-uniform delay, with `late_share` of them in the slow range."""
        low, high = (fast, slow) if self.rng.random() < late_share else (1, fast)
        return round(low * (high / low) ** self.rng.random(), 2)

    def dispatch(self) -> bool:
        self.assignee = self.rng.choice(self.history.technicians)
        return self.act(Action.DISPATCH, self.cast.supervisor, self.delay(40, 300, 0.2), assignee_id=self.assignee.id)

    def fix(self) -> bool:
        if not self.dispatch():
            return False
        if self.rng.random() < 0.1:
            others = [t for t in self.history.technicians if t != self.assignee]
            self.assignee = self.rng.choice(others)
            if not self.act(
                Action.TRANSFER, self.cast.supervisor, self.delay(5, 60, 0.2), assignee_id=self.assignee.id
            ):
                return False
        if not self.act(Action.TAKE, self.assignee, self.delay(10, 60, 0.2)):
            return False
        if not self.act(Action.ARRIVE, self.assignee, self.delay(120, 900, 0.25)):
            return False
        if not self.act(Action.START, self.assignee, 2):
            return False
        if self.rng.random() < 0.1:
            if not self.act(Action.HOLD, self.assignee, 5, reason="等配件"):
                return False
            if not self.act(Action.RESUME, self.assignee, self.delay(60, 900, 0.5)):
                return False
        return self.act(Action.RESOLVE, self.assignee, self.delay(300, 3000, 0.2), resolution="已修好")

    def after_fix(self, complaint: bool) -> None:
        draw = self.rng.random()
        if draw < 0.55:
            verdict = self.rng.choices(("good", "bad", "returned"), weights=(80, 12, 8))[0]
            score = {"good": self.rng.choice((4, 5, 5)), "bad": self.rng.choice((1, 2, 3))}.get(verdict, 1)
            if not self.act(Action.RATE, self.owner, self.delay(60, 1500, 0.3), verdict=verdict, score=score):
                return
            if verdict == "returned":
                self.refix(complaint)
                return
        elif draw < 0.65:
            return  # left resolved, unrated
        satisfied = self.rng.random() < 0.85
        if not self.act(Action.VISIT, self.cast.service_agent, self.delay(300, 2500, 0.2), satisfied=satisfied):
            return
        if not satisfied:
            self.refix(complaint)
            return
        closed = self.act(Action.CLOSE, self.cast.supervisor, self.delay(10, 120, 0.1))
        # Now and then the owner comes back a few days later: it is not fixed after all.
        if (
            closed
            and self.rng.random() < 0.06
            and self.act(Action.REOPEN, self.owner, self.delay(600, 4000, 0.5), reason="又坏了")
        ):
            self.refix(complaint)

    def refix(self, complaint: bool) -> None:
        if self.fix():
            self.after_fix(complaint)


def build_history(
    cast, *, orders: int = 170, last_year_orders: int = 40, now: dt.datetime = NOW, after_order=None
) -> History:
    """`after_order(index)` is called after each order is walked (the tests run the rollup job from it)."""
    services.catalogue_seed(company=cast.company)
    grids, rooms, owners, areas = _place(cast)
    # Some owners use the portal (signed in lately), one stopped two years ago, the rest never signed in.
    people = sorted(owners.values(), key=lambda user: user.id)
    User.objects.filter(id__in=[user.id for user in people[::2]]).update(last_login=now - dt.timedelta(days=10))
    User.objects.filter(id=people[1].id).update(last_login=now - dt.timedelta(days=800))
    history = History(cast=cast, now=now, technicians=_technicians(cast), grids=grids)
    categories = {c.code: c for c in Category.objects.filter(company=cast.company)}
    rng = random.Random(SEED)
    kinds = list(KINDS)
    weights = [KINDS[kind][0] for kind in kinds]
    starts = [(now - dt.timedelta(days=12), orders), (now - dt.timedelta(days=365 + 12), last_year_orders)]
    for first, count in starts:
        for _ in range(count):
            kind = rng.choices(kinds, weights)[0]
            room = rng.choice(rooms)
            owner = owners[room.id]
            public = kind == Kind.REPAIR_PUBLIC or (kind != Kind.REPAIR_HOME and rng.random() < 0.3)
            channel = rng.choices((Channel.PORTAL, Channel.PHONE, Channel.WALK_IN), weights=(6, 3, 1))[0]
            submitted = first + dt.timedelta(minutes=rng.uniform(0, 12 * 24 * 60 - 60))
            priority = rng.choices(("", Priority.URGENT, Priority.EMERGENCY), weights=(8, 2, 1))[0]
            if kind not in (Kind.REPAIR_HOME, Kind.REPAIR_PUBLIC) and priority == Priority.EMERGENCY:
                priority = ""
            new = services.NewOrder(
                estate=cast.estate,
                kind=kind,
                category=categories[rng.choice(KINDS[kind][1])],
                description="测试工单",
                channel=channel,
                priority=priority,
                reporter=owner,
                room=None if public else room,
                public_area=rng.choice(areas) if public else None,
            )
            actor = owner if channel == Channel.PORTAL else cast.service_agent
            order, _ = services.workorder_create(actor=actor, new=new, now=submitted)
            history.orders.append(order.id)
            _walk(history, rng, order, owner, kind)
            if after_order is not None:
                after_order(len(history.orders))
    return history


def _walk(history: History, rng: random.Random, order, owner: User, kind: str) -> None:
    walker = _Walker(history, rng, order, owner)
    cast = history.cast
    if rng.random() < 0.04:
        walker.act(Action.CANCEL, owner, walker.delay(5, 60, 0.5), reason="不需要了")
        return
    if not walker.act(Action.ACCEPT, cast.service_agent, walker.delay(20, 240, 0.15)):
        return
    if kind in (Kind.INQUIRY, Kind.SUGGESTION, Kind.PRAISE):
        if walker.act(Action.ANSWER, cast.service_agent, walker.delay(120, 1200, 0.2), resolution="已答复"):
            walker.act(Action.CLOSE, cast.service_agent, walker.delay(10, 300, 0.2))
        return
    if rng.random() < 0.03:
        walker.act(Action.FORCE_CLOSE, cast.supervisor, walker.delay(60, 3000, 0.5), reason="重复工单")
        return
    if walker.fix():
        walker.after_fix(kind == Kind.COMPLAINT)
