"""Demo and benchmark data: a whole property company planned in memory, then written with bulk_create.

Everything random comes from one `random.Random` with a fixed seed, so two runs on an empty database write the same
rows. Only certificate expiry is relative to the run date (`clock.today()`): the demo must always show a few
certificates that have just expired and a few that expire within 30 days.

Rows are written in one transaction: a seed either completes or leaves nothing behind, which is what makes "the
company already exists" a safe idempotency check.
"""

import datetime as dt
import itertools
import math
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.db.models import Q
from tqdm import tqdm

from wuye.accounts.choices import Relation, Role
from wuye.accounts.models import Membership, Residency, User
from wuye.core import clock
from wuye.estates.choices import PublicAreaKind, ServiceLevel
from wuye.estates.models import Building, Company, Estate, Grid, PublicArea, Room, Unit
from wuye.staff.choices import CertificateKind, Post, Skill
from wuye.staff.models import Certificate, Shift, ShiftAssignment, StaffProfile, StaffSkill
from wuye.workorders.services import catalogue_seed

from .data import names

DEMO_COMPANY_CODE = "demo"
DEMO_PASSWORD = "wuye-demo"
SEED = 20261127
BUILDING_SPACING_M = 40
# Owners moved in before this date: fixed rather than "today" so the data is the same whenever it is generated.
LAST_MOVE_IN = dt.date(2025, 10, 31)
WRITE_CHUNK = 2000

# The order rows are written in: every foreign key points to a model earlier in the list.
WRITE_ORDER: tuple[type[models.Model], ...] = (
    Company,
    Estate,
    User,
    StaffProfile,
    Grid,
    Building,
    Unit,
    Room,
    PublicArea,
    Residency,
    Membership,
    StaffSkill,
    Certificate,
    Shift,
    ShiftAssignment,
)

GRID_NUMERALS = "一二三四五六七八九十"

# (name, start, end, ISO weekdays it starts on). 夜班 ends before it starts: it crosses midnight.
SHIFTS: tuple[tuple[str, dt.time, dt.time, list[int]], ...] = (
    ("早班", dt.time(8), dt.time(17), [1, 2, 3, 4, 5]),
    ("中班", dt.time(12), dt.time(21), [1, 2, 3, 4, 5, 6, 7]),
    ("夜班", dt.time(20), dt.time(8), [1, 2, 3, 4, 5, 6, 7]),
    ("周末值班", dt.time(8), dt.time(20), [6, 7]),
)

# Certificates that never expire (a security guard's certificate is for life); the rest are valid for six years,
# as China's special-operations certificates (特种作业操作证) are.
LIFETIME_CERTIFICATES = frozenset({CertificateKind.SECURITY_GUARD})
CERTIFICATE_YEARS = 6


# ---------------------------------------------------------------------------------------------------------------------
# Plans: what to build, before any row exists
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildingSpec:
    floors: int
    units: int
    rooms_per_floor: int  # per unit

    @property
    def rooms(self) -> int:
        return self.floors * self.units * self.rooms_per_floor


@dataclass(frozen=True)
class EstateSpec:
    name: str
    code: str
    service_level: str
    city: str
    address: str
    delivered_on: dt.date  # handed over to buyers: the earliest move-in
    contract_starts_on: dt.date
    buildings: tuple[BuildingSpec, ...]
    grid_count: int
    owner_count: int
    with_lobbies: bool = False

    @property
    def room_count(self) -> int:
        return sum(b.rooms for b in self.buildings)


@dataclass(frozen=True)
class StaffLine:
    """One member of staff to create. Estates are named by their index in the company's estate list."""

    post: str
    roles: tuple[tuple[int | None, str], ...]  # (estate index, role); None = company-wide (company_admin)
    shifts: tuple[tuple[int, str], ...] = ()  # (estate index, shift name)
    # (kind, days from today until it expires); None = valid for a while yet, drawn at random.
    certificates: tuple[tuple[str, int | None], ...] = ()
    username: str = ""  # a demo login with the demo password; empty = signs in by phone, no usable password
    name: str = ""
    is_staff: bool = False
    is_on_call: bool = False


@dataclass(frozen=True)
class NamedOwner:
    username: str
    name: str
    estate: int
    room_label: str  # building-unit-number
    move_in_on: dt.date


def _buildings(layout: str) -> tuple[BuildingSpec, ...]:
    """Two-unit buildings written as floors x rooms per floor per unit: "18x2 33x2" is an 18- and a 33-storey tower
    with two flats on each landing."""
    specs = []
    for building in layout.split():
        floors, rooms_per_floor = building.split("x")
        specs.append(BuildingSpec(floors=int(floors), units=2, rooms_per_floor=int(rooms_per_floor)))
    return tuple(specs)


DEMO_COMPANY_NAME = "翠湖物业服务有限公司"
DEMO_ESTATES = (
    EstateSpec(
        name="翠湖花园",
        code="cuihu-garden",
        service_level=ServiceLevel.LEVEL_1,
        city="杭州市",
        address="杭州市西湖区文一西路 588 号",
        delivered_on=dt.date(2016, 6, 30),
        contract_starts_on=dt.date(2021, 1, 1),
        buildings=_buildings("18x2 18x2 24x2 24x2 26x2 26x2 33x2 33x2 18x3 18x3 30x2 18x2"),
        grid_count=4,
        owner_count=896,
        with_lobbies=True,
    ),
    EstateSpec(
        name="锦绣家园",
        code="jinxiu-home",
        service_level=ServiceLevel.LEVEL_2,
        city="杭州市",
        address="杭州市拱墅区湖墅南路 256 号",
        delivered_on=dt.date(2009, 10, 1),
        contract_starts_on=dt.date(2022, 7, 1),
        buildings=_buildings("18x3 18x3 11x4 11x4 24x2 24x2 26x2 33x2"),
        grid_count=3,
        owner_count=604,
    ),
)

DEMO_OWNERS = (
    NamedOwner("owner", "王建国", estate=0, room_label="1-1-101", move_in_on=dt.date(2017, 5, 20)),
    NamedOwner("owner2", "李秀英", estate=0, room_label="3-2-1502", move_in_on=dt.date(2018, 9, 1)),
)

# The demo's 40 staff. Certificates are (kind, days until expiry): a few have lapsed (negative) or lapse within 30
# days, so expiry reminders and "an expired licence blocks dispatch" have something to show; `tech` keeps a valid
# electrician licence so the demo technician can always be dispatched electrical work.
_S, _E = Role.SUPERVISOR, Role.SERVICE_AGENT
DEMO_STAFF: tuple[StaffLine, ...] = (
    StaffLine(Post.ADMINISTRATOR, ((None, Role.COMPANY_ADMIN),), username="admin", name="吴芳", is_staff=True),
    # 翠湖花园 (index 0)
    StaffLine(
        Post.PROJECT_MANAGER, ((0, Role.MANAGER),), ((0, "早班"),), username="manager", name="周涛", is_staff=True
    ),
    StaffLine(Post.SUPERVISOR, ((0, _S), (1, _S)), ((0, "早班"),), username="supervisor", name="孙敏"),
    StaffLine(Post.QUALITY_INSPECTOR, ((0, Role.QUALITY_INSPECTOR), (1, Role.QUALITY_INSPECTOR)), ((0, "早班"),)),
    StaffLine(Post.CUSTOMER_SERVICE, ((0, _E),), ((0, "早班"),), username="service", name="陈静"),
    StaffLine(Post.CUSTOMER_SERVICE, ((0, _E),), ((0, "中班"), (0, "周末值班"))),
    *[StaffLine(Post.GRID_LEADER, ((0, Role.GRID_LEADER),), ((0, "早班"),)) for _ in range(4)],
    StaffLine(
        Post.TECHNICIAN,
        ((0, Role.TECHNICIAN),),
        ((0, "早班"),),
        ((CertificateKind.ELECTRICIAN, None), (CertificateKind.WORK_AT_HEIGHT, None)),
        username="tech",
        name="张伟",
        is_on_call=True,
    ),
    StaffLine(
        Post.TECHNICIAN,
        ((0, Role.TECHNICIAN),),
        ((0, "中班"), (0, "周末值班")),
        ((CertificateKind.WORK_AT_HEIGHT, 12),),
        username="tech2",
        name="刘强",
    ),
    StaffLine(Post.ELECTRICIAN, ((0, Role.TECHNICIAN),), ((0, "早班"),), ((CertificateKind.ELECTRICIAN, -20),)),
    StaffLine(Post.PLUMBER, ((0, Role.TECHNICIAN),), ((0, "早班"),), ((CertificateKind.WELDING, None),)),
    StaffLine(
        Post.ELECTRICIAN,
        ((0, Role.TECHNICIAN), (1, Role.TECHNICIAN)),
        ((0, "夜班"),),
        ((CertificateKind.ELECTRICIAN, None), (CertificateKind.HIGH_VOLTAGE, 6)),
        is_on_call=True,
    ),
    *[StaffLine(Post.CLEANER, ((0, Role.CLEANER),), ((0, "早班"),)) for _ in range(3)],
    *[StaffLine(Post.GARDENER, ((0, Role.GARDENER),), ((0, "早班"),)) for _ in range(2)],
    StaffLine(
        Post.GUARD,
        ((0, Role.GUARD),),
        ((0, "早班"),),
        ((CertificateKind.SECURITY_GUARD, None), (CertificateKind.FIRE_OPERATOR, None)),
        username="guard",
        name="赵磊",
    ),
    *[
        StaffLine(Post.GUARD, ((0, Role.GUARD),), ((0, shift),), ((CertificateKind.SECURITY_GUARD, None),))
        for shift in ("中班", "夜班", "夜班", "周末值班")
    ],
    # 锦绣家园 (index 1)
    StaffLine(Post.PROJECT_MANAGER, ((1, Role.MANAGER),), ((1, "早班"),), is_staff=True),
    StaffLine(Post.CUSTOMER_SERVICE, ((1, _E),), ((1, "早班"),)),
    *[StaffLine(Post.GRID_LEADER, ((1, Role.GRID_LEADER),), ((1, "早班"),)) for _ in range(3)],
    StaffLine(
        Post.TECHNICIAN,
        ((1, Role.TECHNICIAN),),
        ((1, "早班"), (1, "周末值班")),
        ((CertificateKind.WORK_AT_HEIGHT, -45),),
    ),
    StaffLine(Post.TECHNICIAN, ((1, Role.TECHNICIAN),), ((1, "中班"),)),
    StaffLine(Post.ELECTRICIAN, ((1, Role.TECHNICIAN),), ((1, "早班"),), ((CertificateKind.ELECTRICIAN, 25),)),
    StaffLine(Post.PLUMBER, ((1, Role.TECHNICIAN),), ((1, "早班"),), ((CertificateKind.WELDING, -3),)),
    *[StaffLine(Post.CLEANER, ((1, Role.CLEANER),), ((1, "早班"),)) for _ in range(2)],
    StaffLine(Post.GARDENER, ((1, Role.GARDENER),), ((1, "早班"),)),
    *[
        StaffLine(
            Post.GUARD,
            ((1, Role.GUARD),),
            ((1, shift),),
            ((CertificateKind.SECURITY_GUARD, None), (CertificateKind.FIRE_OPERATOR, None)),
        )
        for shift in ("早班", "夜班", "夜班")
    ],
)


# ---------------------------------------------------------------------------------------------------------------------
# Rows waiting to be written
# ---------------------------------------------------------------------------------------------------------------------


class PlannedRows:
    """Unsaved model instances, grouped by model, written in `WRITE_ORDER`.

    Children hold their parents as unsaved objects; bulk_create reads each parent's primary key once the parent has
    been written (SQLite ≥ 3.35 and PostgreSQL return the keys of bulk inserts).
    """

    def __init__(self) -> None:
        self.by_model: dict[type[models.Model], list[models.Model]] = {model: [] for model in WRITE_ORDER}

    def add(self, obj):
        self.by_model[type(obj)].append(obj)
        return obj

    def total(self) -> int:
        return sum(len(rows) for rows in self.by_model.values())

    def write(self, *, progress: bool) -> int:
        with tqdm(
            total=self.total(), unit=" rows", file=sys.stderr, disable=None if progress else True, dynamic_ncols=True
        ) as bar:
            for model, rows in self.by_model.items():
                bar.set_description(f"{model.__name__:<16}")
                for start in range(0, len(rows), WRITE_CHUNK):
                    chunk = rows[start : start + WRITE_CHUNK]
                    # Django splits each chunk further to the database's parameter limit (999 on SQLite).
                    model.objects.bulk_create(chunk)
                    bar.update(len(chunk))
        return self.total()


# ---------------------------------------------------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------------------------------------------------


class People:
    """Chinese names and unique mobile numbers, drawn from the seeded generator."""

    def __init__(self, rng: random.Random, taken_phones: Iterable[str]) -> None:
        self.rng = rng
        self.taken_phones = set(taken_phones)
        self._surnames = [surname for surname, _weight in names.SURNAMES]
        self._cum_weights = list(itertools.accumulate(weight for _surname, weight in names.SURNAMES))

    def surname(self) -> str:
        return self.rng.choices(self._surnames, cum_weights=self._cum_weights)[0]

    def name(self, surname: str | None = None) -> str:
        chars = names.GIVEN_MALE if self.rng.random() < 0.5 else names.GIVEN_FEMALE
        given_length = 1 if self.rng.random() < 0.3 else 2
        given = "".join(self.rng.choice(chars) for _ in range(given_length))
        return (surname or self.surname()) + given

    def phone(self) -> str:
        while True:
            phone = self.rng.choice(names.MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if phone not in self.taken_phones:
                self.taken_phones.add(phone)
                return phone

    def user(self, *, name: str = "", username: str = "", password_hash: str | None = None, **extra) -> User:
        phone = self.phone()
        user = User(username=username or phone, name=name or self.name(), phone=phone, **extra)
        if password_hash is None:
            user.set_unusable_password()
        else:
            user.password = password_hash
        return user


def _date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


# ---------------------------------------------------------------------------------------------------------------------
# Estates: buildings, units, rooms, public areas, grids
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class PlannedEstate:
    spec: EstateSpec
    estate: Estate
    buildings: list[Building] = field(default_factory=list)
    rooms: list[Room] = field(default_factory=list)
    grids: list[Grid] = field(default_factory=list)
    shifts: dict[str, Shift] = field(default_factory=dict)
    room_by_label: dict[str, Room] = field(default_factory=dict)


def _positions(rng: random.Random, count: int) -> list[tuple[int, int]]:
    """Buildings in rows about 40 m apart, north of the main gate at (0, 0), with a few metres of irregularity."""
    columns = min(count, max(2, math.ceil(math.sqrt(count * 1.3))))
    positions = []
    for index in range(count):
        row, column = divmod(index, columns)
        x = round((column - (columns - 1) / 2) * BUILDING_SPACING_M) + rng.randint(-4, 4)
        y = 60 + row * BUILDING_SPACING_M + rng.randint(-4, 4)
        positions.append((x, y))
    return positions


def _room_area(rng: random.Random, rooms_per_floor: int) -> Decimal:
    """Fewer flats on a landing means bigger flats."""
    low, high = {2: (110, 180), 3: (85, 140)}.get(rooms_per_floor, (60, 100))
    return Decimal(rng.uniform(low, high)).quantize(Decimal("0.01"))


def _split(items: list, parts: int) -> list[list]:
    """Consecutive, nearly equal groups (neighbouring buildings end up in one grid)."""
    size, extra = divmod(len(items), parts)
    groups, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        groups.append(items[start:end])
        start = end
    return groups


def plan_estate(rows: PlannedRows, rng: random.Random, company: Company, spec: EstateSpec) -> PlannedEstate:
    estate = rows.add(
        Estate(
            company=company,
            name=spec.name,
            code=spec.code,
            address=spec.address,
            city=spec.city,
            service_level=spec.service_level,
            contract_starts_on=spec.contract_starts_on,
        )
    )
    planned = PlannedEstate(spec=spec, estate=estate)
    grid_count = max(1, min(spec.grid_count, len(spec.buildings)))
    planned.grids = [
        rows.add(Grid(estate=estate, name=f"{GRID_NUMERALS[i] if i < 10 else i + 1}网格")) for i in range(grid_count)
    ]
    positions = _positions(rng, len(spec.buildings))
    building_groups = _split(list(range(len(spec.buildings))), grid_count)
    grid_of_building = {index: planned.grids[g] for g, group in enumerate(building_groups) for index in group}
    for index, (building_spec, (x, y)) in enumerate(zip(spec.buildings, positions, strict=True)):
        building = rows.add(
            Building(
                estate=estate,
                grid=grid_of_building[index],
                name=str(index + 1),
                floors=building_spec.floors,
                position_x_m=x,
                position_y_m=y,
            )
        )
        planned.buildings.append(building)
        for unit_number in range(1, building_spec.units + 1):
            unit = rows.add(Unit(building=building, name=str(unit_number)))
            for floor in range(1, building_spec.floors + 1):
                for position in range(1, building_spec.rooms_per_floor + 1):
                    room = rows.add(
                        Room(
                            estate=estate,
                            building=building,
                            unit=unit,
                            number=str(floor * 100 + position),
                            floor=floor,
                            area_m2=_room_area(rng, building_spec.rooms_per_floor),
                        )
                    )
                    planned.rooms.append(room)
                    planned.room_by_label[f"{building.name}-{unit.name}-{room.number}"] = room
    _plan_public_areas(rows, planned)
    planned.shifts = {
        name: rows.add(Shift(estate=estate, name=name, start_time=start, end_time=end, weekdays=weekdays))
        for name, start, end, weekdays in SHIFTS
    }
    return planned


def _plan_public_areas(rows: PlannedRows, planned: PlannedEstate) -> None:
    xs = [b.position_x_m for b in planned.buildings]
    ys = [b.position_y_m for b in planned.buildings]
    west, east, north = min(xs) - 30, max(xs) + 30, max(ys) + 40
    middle_y = (min(ys) + max(ys)) // 2
    areas: list[tuple[str, str, int, int, Building | None]] = [
        ("南门", PublicAreaKind.GATE, 0, 0, None),
        ("北门", PublicAreaKind.GATE, 0, north, None),
        ("地下车库入口", PublicAreaKind.CAR_PARK, 25, 20, None),
        ("中心花园", PublicAreaKind.GARDEN, 0, middle_y, None),
        ("水泵房", PublicAreaKind.PUMP_ROOM, west, 30, None),
        ("配电房", PublicAreaKind.POWER_ROOM, east, 30, None),
        ("儿童乐园", PublicAreaKind.PLAYGROUND, 20, middle_y + 20, None),
        ("垃圾站", PublicAreaKind.REFUSE, east, north - 20, None),
        ("消防控制室", PublicAreaKind.OTHER, -20, 10, None),
        ("主干道", PublicAreaKind.ROAD, 0, 40, None),
    ]
    if planned.spec.service_level == ServiceLevel.LEVEL_1:
        areas += [
            ("东门", PublicAreaKind.GATE, east + 10, middle_y, None),
            ("会所", PublicAreaKind.CLUBHOUSE, -30, 20, None),
        ]
    if planned.spec.with_lobbies:
        areas += [
            (f"{b.name}栋大堂", PublicAreaKind.LOBBY, b.position_x_m, b.position_y_m, b) for b in planned.buildings
        ]
    centres = {}
    for grid in planned.grids:
        members = [b for b in planned.buildings if b.grid is grid]
        centres[id(grid)] = (
            sum(b.position_x_m for b in members) / len(members),
            sum(b.position_y_m for b in members) / len(members),
        )
    for name, kind, x, y, building in areas:
        grid = (
            building.grid
            if building is not None
            else min(planned.grids, key=lambda g: math.dist(centres[id(g)], (x, y)))
        )
        rows.add(
            PublicArea(
                estate=planned.estate,
                grid=grid,
                name=name,
                kind=kind,
                building=building,
                position_x_m=x,
                position_y_m=y,
            )
        )


# ---------------------------------------------------------------------------------------------------------------------
# Owners, family members and tenants
# ---------------------------------------------------------------------------------------------------------------------


def plan_residents(
    rows: PlannedRows,
    rng: random.Random,
    people: People,
    planned: PlannedEstate,
    *,
    reserved: dict[str, User] | None = None,
    named_move_in: dict[str, dt.date] | None = None,
    family_share: float = 0.2,
    tenant_share: float = 0.06,
) -> None:
    """Owners for `spec.owner_count` rooms (the named ones included), then family members and tenants.

    One owner holds one room. A rented room keeps its owner of record and gains a tenant who lives there.
    """
    reserved = reserved or {}
    named_move_in = named_move_in or {}
    estate, spec = planned.estate, planned.spec
    reserved_rooms = {id(planned.room_by_label[label]) for label in reserved}
    free = [room for room in planned.rooms if id(room) not in reserved_rooms]
    owned = rng.sample(free, max(0, spec.owner_count - len(reserved)))
    owners: list[tuple[User, Room, dt.date, bool]] = []
    for label, user in reserved.items():
        owners.append((user, planned.room_by_label[label], named_move_in[label], True))
    for room in owned:
        user = rows.add(people.user())
        owners.append((user, room, _date_between(rng, spec.delivered_on, LAST_MOVE_IN), False))
    resident_users: list[User] = []
    for user, room, move_in_on, is_named in owners:
        rows.add(Residency(user=user, room=room, relation=Relation.OWNER, move_in_on=move_in_on))
        rows.add(Membership(user=user, company=estate.company, estate=estate, role=Role.OWNER))
        if is_named:
            continue
        draw = rng.random()
        if draw < tenant_share:
            tenant = rows.add(people.user())
            tenant_move_in = _date_between(rng, max(move_in_on, dt.date(2023, 1, 1)), LAST_MOVE_IN)
            rows.add(Residency(user=tenant, room=room, relation=Relation.TENANT, move_in_on=tenant_move_in))
            resident_users.append(tenant)
        elif draw < tenant_share + family_share:
            # A child shares the owner's surname; a spouse usually does not.
            relative_surname = user.name[0] if rng.random() < 0.5 else None
            relative = rows.add(people.user(name=people.name(relative_surname)))
            rows.add(Residency(user=relative, room=room, relation=Relation.FAMILY, move_in_on=move_in_on))
            resident_users.append(relative)
    for user in resident_users:
        rows.add(Membership(user=user, company=estate.company, estate=estate, role=Role.RESIDENT))


# ---------------------------------------------------------------------------------------------------------------------
# Staff
# ---------------------------------------------------------------------------------------------------------------------

_TECHNICIAN_SKILLS = (Skill.PLUMBING, Skill.ELECTRICAL, Skill.LOCKS, Skill.CARPENTRY, Skill.PAINTING, Skill.HVAC)


def _skills_for(rng: random.Random, post: str) -> list[tuple[str, int]]:
    """Skill codes a post brings, with levels (1 basic, 2 skilled, 3 expert)."""
    if post == Post.TECHNICIAN:
        chosen = rng.sample(_TECHNICIAN_SKILLS, rng.randint(3, 5))
        return [(skill, rng.randint(1, 3)) for skill in chosen]
    fixed: dict[str, list[tuple[str, int]]] = {
        Post.ELECTRICIAN: [(Skill.ELECTRICAL, 3), (Skill.WEAK_CURRENT, rng.randint(1, 2)), (Skill.LIFT, 1)],
        Post.PLUMBER: [(Skill.PLUMBING, 3), (Skill.HVAC, rng.randint(1, 2))],
        Post.CLEANER: [(Skill.CLEANING, rng.randint(2, 3))],
        Post.GARDENER: [(Skill.GREENING, rng.randint(2, 3))],
        Post.GUARD: [(Skill.SECURITY, rng.randint(2, 3)), (Skill.FIRE_SYSTEMS, 1)],
        Post.CUSTOMER_SERVICE: [(Skill.CUSTOMER_CARE, rng.randint(2, 3))],
        Post.GRID_LEADER: [(Skill.CUSTOMER_CARE, 3), (Skill.SECURITY, 1)],
        Post.SUPERVISOR: [(Skill.CUSTOMER_CARE, 3), (Skill.ELECTRICAL, 1)],
        Post.QUALITY_INSPECTOR: [(Skill.CUSTOMER_CARE, 2), (Skill.CLEANING, 2), (Skill.GREENING, 1)],
        Post.PROJECT_MANAGER: [(Skill.CUSTOMER_CARE, 3)],
    }
    return fixed.get(post, [])


@dataclass
class StaffContext:
    """What staff planning needs from the company: its estates, a number series and the dates to work from."""

    company: Company
    estates: list[PlannedEstate]
    employee_prefix: str
    certificate_region: str  # makes certificate numbers unique across companies in one installation
    today: dt.date
    password_hash: str
    employee_numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    certificate_numbers: itertools.count = field(default_factory=lambda: itertools.count(1))


def plan_staff(
    rows: PlannedRows, rng: random.Random, people: People, context: StaffContext, lines: Iterable[StaffLine]
) -> None:
    """Users, profiles, memberships, skills, certificates and shift assignments; grid leaders and deputies."""
    leaders: dict[int, list[User]] = {index: [] for index in range(len(context.estates))}
    for line in lines:
        user = rows.add(
            people.user(
                name=line.name,
                username=line.username,
                password_hash=context.password_hash if line.username else None,
                is_staff=line.is_staff,
            )
        )
        hired_on = _date_between(rng, dt.date(2012, 3, 1), dt.date(2024, 6, 30))
        profile = rows.add(
            StaffProfile(
                user=user,
                company=context.company,
                employee_no=f"{context.employee_prefix}{next(context.employee_numbers):04d}",
                post=line.post,
                hired_on=hired_on,
                is_on_call=line.is_on_call,
            )
        )
        for estate_index, role in line.roles:
            estate = None if estate_index is None else context.estates[estate_index].estate
            rows.add(Membership(user=user, company=context.company, estate=estate, role=role))
            if role == Role.GRID_LEADER and estate_index is not None:
                leaders[estate_index].append(user)
        for skill, level in _skills_for(rng, line.post):
            rows.add(StaffSkill(staff=profile, skill=skill, level=level))
        for kind, days_left in line.certificates:
            rows.add(_certificate(rng, context, profile, kind, days_left))
        for estate_index, shift_name in line.shifts:
            shift = context.estates[estate_index].shifts[shift_name]
            starts_on = max(hired_on, context.estates[estate_index].spec.contract_starts_on)
            rows.add(ShiftAssignment(staff=profile, shift=shift, starts_on=starts_on))
    # Each grid gets a leader; the next grid's leader stands in as deputy.
    for estate_index, planned in enumerate(context.estates):
        estate_leaders = leaders[estate_index]
        if not estate_leaders:
            continue
        for grid_index, grid in enumerate(planned.grids):
            grid.leader = estate_leaders[grid_index % len(estate_leaders)]
            if len(estate_leaders) > 1:
                grid.deputy = estate_leaders[(grid_index + 1) % len(estate_leaders)]


def _certificate(
    rng: random.Random, context: StaffContext, profile: StaffProfile, kind: str, days_left: int | None
) -> Certificate:
    if kind in LIFETIME_CERTIFICATES:
        issued_on = _date_between(rng, profile.hired_on or dt.date(2015, 1, 1), dt.date(2024, 12, 31))
        expires_on = None
    else:
        if days_left is None:
            days_left = rng.randint(120, 5 * 365)
        expires_on = context.today + dt.timedelta(days=days_left)
        try:
            issued_on = expires_on.replace(year=expires_on.year - CERTIFICATE_YEARS)
        except ValueError:  # expires on 29 February
            issued_on = expires_on.replace(year=expires_on.year - CERTIFICATE_YEARS, day=28)
    year = issued_on.year
    number = f"T{context.certificate_region}{year}{next(context.certificate_numbers):06d}"
    return Certificate(staff=profile, kind=kind, number=number, issued_on=issued_on, expires_on=expires_on)


# ---------------------------------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class SeedResult:
    company: Company
    created: bool
    rows: int = 0
    seconds: float = 0.0


class SeedConflict(Exception):
    """The database holds something the seed would collide with (a taken demo username)."""


def _taken_phones() -> list[str]:
    return list(User.objects.exclude(phone__isnull=True).values_list("phone", flat=True))


def _refuse_taken_usernames(usernames: Iterable[str]) -> None:
    wanted = list(usernames)
    taken = sorted(User.objects.filter(username__in=wanted).values_list("username", flat=True))
    if taken:
        raise SeedConflict(f"These usernames already exist, so the demo cannot be created: {', '.join(taken)}")


def seed_demo(*, progress: bool = True) -> SeedResult:
    """The demo company: two estates, about 2,000 rooms, 1,500 owners, 40 staff and the named demo logins."""
    existing = Company.objects.filter(code=DEMO_COMPANY_CODE).first()
    if existing is not None:
        return SeedResult(company=existing, created=False)
    _refuse_taken_usernames([owner.username for owner in DEMO_OWNERS] + [s.username for s in DEMO_STAFF if s.username])
    started = clock.now()
    rng = random.Random(SEED)
    people = People(rng, _taken_phones())
    rows = PlannedRows()
    password_hash = make_password(DEMO_PASSWORD)  # hashed once: slow by design, shared by the demo logins
    company = rows.add(Company(name=DEMO_COMPANY_NAME, code=DEMO_COMPANY_CODE))
    estates = [plan_estate(rows, rng, company, spec) for spec in DEMO_ESTATES]
    context = StaffContext(
        company=company,
        estates=estates,
        employee_prefix="CH",
        certificate_region="330106",
        today=clock.today(),
        password_hash=password_hash,
    )
    plan_staff(rows, rng, people, context, DEMO_STAFF)
    for index, planned in enumerate(estates):
        named = [owner for owner in DEMO_OWNERS if owner.estate == index]
        reserved = {}
        for owner in named:
            user = rows.add(people.user(name=owner.name, username=owner.username, password_hash=password_hash))
            reserved[owner.room_label] = user
        plan_residents(
            rows,
            rng,
            people,
            planned,
            reserved=reserved,
            named_move_in={owner.room_label: owner.move_in_on for owner in named},
        )
    with transaction.atomic():
        written = rows.write(progress=progress)
        # The company's work-order catalogue (categories and SLA policies) from the defaults file.
        written += catalogue_seed(company=company)
    seconds = (clock.now() - started).total_seconds()
    return SeedResult(company=company, created=True, rows=written, seconds=seconds)


def scale_company_code(estate_count: int) -> str:
    return f"scale-{estate_count}"


def _scale_buildings(rng: random.Random, target_rooms: int) -> tuple[BuildingSpec, ...]:
    """Buildings of one style until the estate holds about `target_rooms` rooms."""
    style = rng.choices(("high", "mid", "low"), weights=(5, 3, 2))[0]
    specs: list[BuildingSpec] = []
    total = 0
    while total < target_rooms:
        if style == "high":
            spec = BuildingSpec(rng.randint(18, 33), rng.choice((1, 2, 2, 3)), rng.choice((2, 2, 3, 4)))
        elif style == "mid":
            spec = BuildingSpec(rng.choice((11, 12, 15, 18)), rng.randint(2, 3), rng.choice((2, 3)))
        else:
            spec = BuildingSpec(rng.choice((5, 6, 7)), rng.randint(2, 4), 2)
        remaining = target_rooms - total
        if spec.rooms > remaining:
            # The last building is shorter rather than overshooting the estate's size by a whole tower.
            per_floor = spec.units * spec.rooms_per_floor
            spec = BuildingSpec(max(5, math.ceil(remaining / per_floor)), spec.units, spec.rooms_per_floor)
        specs.append(spec)
        total += spec.rooms
    return tuple(specs)


def _scale_staff_lines(rng: random.Random, estate_index: int, grid_count: int) -> list[StaffLine]:
    def line(post: str, role: str, shift: str, *kinds: str) -> StaffLine:
        return StaffLine(post, ((estate_index, role),), ((estate_index, shift),), tuple(map(certificate, kinds)))

    def certificate(kind: str) -> tuple[str, int | None]:
        # About one licence in ten has lapsed or is about to: dispatch has to notice.
        draw = rng.random()
        return (kind, -rng.randint(1, 90) if draw < 0.05 else rng.randint(0, 30) if draw < 0.1 else None)

    guard_cert = CertificateKind.SECURITY_GUARD
    return [
        line(Post.PROJECT_MANAGER, Role.MANAGER, "早班"),
        line(Post.SUPERVISOR, Role.SUPERVISOR, "早班"),
        line(Post.CUSTOMER_SERVICE, Role.SERVICE_AGENT, "早班"),
        line(Post.CUSTOMER_SERVICE, Role.SERVICE_AGENT, "中班"),
        *[line(Post.GRID_LEADER, Role.GRID_LEADER, "早班") for _ in range(grid_count)],
        line(Post.TECHNICIAN, Role.TECHNICIAN, "早班", CertificateKind.WORK_AT_HEIGHT),
        line(Post.TECHNICIAN, Role.TECHNICIAN, "中班"),
        line(Post.ELECTRICIAN, Role.TECHNICIAN, "早班", CertificateKind.ELECTRICIAN),
        line(Post.PLUMBER, Role.TECHNICIAN, "早班"),
        line(Post.CLEANER, Role.CLEANER, "早班"),
        line(Post.CLEANER, Role.CLEANER, "早班"),
        line(Post.GARDENER, Role.GARDENER, "早班"),
        line(Post.GUARD, Role.GUARD, "早班", guard_cert),
        line(Post.GUARD, Role.GUARD, "夜班", guard_cert),
        line(Post.GUARD, Role.GUARD, "周末值班", guard_cert),
    ]


def seed_scale(*, estate_count: int, progress: bool = True) -> SeedResult:
    """A large company for benchmarks: `estate_count` estates of 300–3,000 rooms, owners in ~75% of the rooms, a
    handful of staff per estate, and one login `scale-<N>-admin` (company administrator, demo password)."""
    code = scale_company_code(estate_count)
    existing = Company.objects.filter(code=code).first()
    if existing is not None:
        return SeedResult(company=existing, created=False)
    admin_username = f"{code}-admin"
    _refuse_taken_usernames([admin_username])
    started = clock.now()
    rng = random.Random(SEED + estate_count)
    people = People(rng, _taken_phones())
    rows = PlannedRows()
    company = rows.add(Company(name=f"宏远物业服务有限公司（{estate_count} 个项目）", code=code))
    combinations = list(itertools.product(names.ESTATE_NAME_FIRST, names.ESTATE_NAME_SECOND))
    estate_names = rng.sample(combinations, min(estate_count, len(combinations)))
    specs = []
    for index in range(estate_count):
        first, second = estate_names[index % len(estate_names)]
        name = first + second + (f"{index // len(estate_names) + 1}期" if index >= len(estate_names) else "")
        city, district = rng.choice(names.CITIES)
        buildings = _scale_buildings(rng, round(rng.triangular(300, 3000, 1100)))
        room_count = sum(b.rooms for b in buildings)
        delivered_on = _date_between(rng, dt.date(2000, 1, 1), dt.date(2022, 12, 31))
        specs.append(
            EstateSpec(
                name=name,
                code=f"e{index + 1:03d}",
                service_level=rng.choices(
                    (ServiceLevel.LEVEL_1, ServiceLevel.LEVEL_2, ServiceLevel.LEVEL_3), weights=(3, 5, 2)
                )[0],
                city=city,
                address=f"{city}{district}{rng.choice(names.ROADS)} {rng.randint(1, 999)} 号",
                delivered_on=delivered_on,
                contract_starts_on=_date_between(rng, max(delivered_on, dt.date(2015, 1, 1)), dt.date(2025, 1, 1)),
                buildings=buildings,
                grid_count=max(2, min(6, math.ceil(len(buildings) / 5))),
                owner_count=round(room_count * rng.uniform(0.7, 0.8)),
            )
        )
    estates = [plan_estate(rows, rng, company, spec) for spec in specs]
    context = StaffContext(
        company=company,
        estates=estates,
        employee_prefix="E",
        certificate_region=f"9{estate_count:05d}",
        today=clock.today(),
        password_hash=make_password(DEMO_PASSWORD),
    )
    lines = [StaffLine(Post.ADMINISTRATOR, ((None, Role.COMPANY_ADMIN),), username=admin_username, is_staff=True)]
    for index, planned in enumerate(estates):
        lines += _scale_staff_lines(rng, index, len(planned.grids))
    plan_staff(rows, rng, people, context, lines)
    for planned in estates:
        plan_residents(rows, rng, people, planned, family_share=0.15, tenant_share=0.05)
    with transaction.atomic():
        written = rows.write(progress=progress)
        # The company's work-order catalogue (categories and SLA policies) from the defaults file.
        written += catalogue_seed(company=company)
    seconds = (clock.now() - started).total_seconds()
    return SeedResult(company=company, created=True, rows=written, seconds=seconds)


# ---------------------------------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------------------------------


def company_counts(company: Company, *, today: dt.date) -> dict[str, int]:
    """Head-line counts of what a company holds, for the command's summary and the tests."""
    estates = Estate.objects.filter(company=company)
    current = Q(residencies__move_out_on__isnull=True) | Q(residencies__move_out_on__gt=today)
    residents = User.objects.filter(current, residencies__room__estate__company=company)
    certificates = Certificate.objects.filter(staff__company=company)
    return {
        "estates": estates.count(),
        "buildings": Building.objects.filter(estate__company=company).count(),
        "units": Unit.objects.filter(building__estate__company=company).count(),
        "rooms": Room.objects.filter(estate__company=company).count(),
        "public areas": PublicArea.objects.filter(estate__company=company).count(),
        "grids": Grid.objects.filter(estate__company=company).count(),
        "owners": residents.filter(residencies__relation=Relation.OWNER).distinct().count(),
        "family and tenants": residents.exclude(residencies__relation=Relation.OWNER).distinct().count(),
        "memberships": Membership.objects.filter(company=company).count(),
        "staff": StaffProfile.objects.filter(company=company).count(),
        "skills": StaffSkill.objects.filter(staff__company=company).count(),
        "certificates": certificates.count(),
        "certificates expired": certificates.filter(expires_on__lt=today).count(),
        "certificates expiring in 30 days": certificates.filter(
            expires_on__gte=today, expires_on__lte=today + dt.timedelta(days=30)
        ).count(),
        "shifts": Shift.objects.filter(estate__company=company).count(),
        "shift assignments": ShiftAssignment.objects.filter(staff__company=company).count(),
    }


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, what the account is, where it works or lives) for every demo login that exists."""
    descriptions = {
        "owner": "owner",
        "owner2": "owner",
        "service": "customer service",
        "tech": "technician",
        "tech2": "technician",
        "guard": "security guard",
        "supervisor": "supervisor",
        "manager": "project manager",
        "admin": "company administrator",
    }
    users = User.objects.filter(username__in=list(descriptions)).prefetch_related(
        "memberships__estate", "residencies__room__building", "residencies__room__unit", "residencies__room__estate"
    )
    by_username = {user.username: user for user in users}
    result = []
    for username, description in descriptions.items():
        user = by_username.get(username)
        if user is None:
            continue
        rooms = [f"{r.room.estate.name} {r.room.label}" for r in user.residencies.all()]
        estates = sorted({m.estate.name for m in user.memberships.all() if m.estate is not None})
        where = ", ".join(rooms) if rooms else (", ".join(estates) or "every estate of the company")
        result.append((username, description, where))
    return result
