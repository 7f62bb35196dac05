"""The work-order catalogue as creating an order reads it, cached in each process: a category with its SLA policy and
targets, and an estate with its business calendar.

Why: creating an order is the hot path (every owner's report goes through it), and building the ORM queries for
these rows costs several times what the database spends answering them. A create instead asks the database one
cheap raw question, the *stamp* of the rows it would read, and loads them again only when the stamp moved.

How it stays right with any number of processes (gunicorn workers, machines), each with its own cache:

- The stamp is read from the database on every look-up: the `updated_at` of the category, of its policy, of the
  estate and of its calendar, and the count and total minutes of the policy's targets. A change made through
  `save()` or `delete()` in any process (admin, desk, shell, another machine) moves it, so the next create in every
  process reads the new rows. (The admin saves a policy whenever one of its targets is edited inline.)
- A change that moves none of these (a queryset `.update()` that leaves `updated_at` alone, raw SQL) is picked up at
  the latest CATALOGUE_TTL_SECONDS after the entry was loaded: entries older than that are loaded again whatever
  their stamp.
- In the process that saves or deletes a catalogue row, signals drop the whole cache at once.
- Entries hold field values: every look-up builds fresh estate, calendar, category and policy instances, so a caller
  that changes one cannot change what the next request sees. Only the policy's SlaTarget rows, which nothing outside
  the admin changes, are shared read-only instances (a policy has a couple of dozen; building them each time would
  cost more than the rest of the look-up).
"""

import copy
import functools
import time
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from wuye.core import rawsql
from wuye.estates.models import Building, Estate, Room, Unit

from .models import Category, ServiceCalendar, SlaPolicy, SlaTarget

CATALOGUE_TTL_SECONDS = 60.0
# A bound on memory, not a tuning knob: far above the categories and estates one installation has.
MAX_ENTRIES = 10_000
MAX_ID = 2**63 - 1

_monotonic = time.monotonic  # replaced in tests


@dataclass(frozen=True)
class _Entry:
    stamp: tuple
    loaded_at: float
    values: tuple  # the main row's concrete field values
    related: Any  # (policy values, (SlaTarget, …)) for a category; calendar values or None for an estate


_categories: dict[int, _Entry] = {}
_estates: dict[int, _Entry] = {}


def catalogue_clear() -> None:
    """Forget every entry (called on any save or delete of a catalogue row in this process)."""
    _categories.clear()
    _estates.clear()


def catalogue_lookup(*, estate_id: int, category_id: int) -> tuple[Estate | None, Category | None]:
    """The estate (with its `service_calendar` attached, or known to have none) and the category (with its
    `sla_policy` and the policy's `targets` attached), as fresh instances; None for a row that does not exist.
    One raw query when both are cached and current; the rows' own queries when not."""
    estate, category, _room = catalogue_and_room(estate_id=estate_id, category_id=category_id, room_id=None)
    return estate, category


def catalogue_and_room(
    *, estate_id: int, category_id: int, room_id: int | None
) -> tuple[Estate | None, Category | None, Room | None]:
    """`catalogue_lookup`, and the room of the estate the order is for (with its building and unit attached, so its
    label and grid need no further query; None when it is not in the estate) in the same round trip."""
    if not 0 < estate_id <= MAX_ID:
        return None, None, None
    # An id no row can have matches nothing (the raw query would not get the ORM's guard for out-of-range integers).
    if room_id is not None and not 0 < room_id <= MAX_ID:
        room_id = 0
    stamps, room = _read_stamps(estate_id, category_id if 0 < category_id <= MAX_ID else 0, room_id)
    estate_stamp, category_stamp = stamps[:2], stamps[2:]
    now = _monotonic()
    estate_entry = _current(_estates, estate_id, estate_stamp, now) or _load_estate(estate_id, estate_stamp, now)
    category_entry = _current(_categories, category_id, category_stamp, now) or _load_category(
        category_id, category_stamp, now
    )
    return _estate_from(estate_entry), _category_from(category_entry), room


@functools.cache
def _stamp_sql(with_room: bool, vendor: str) -> str:
    # One row of plain joins (planned faster than one subquery per stamp); no row when the estate does not exist.
    category, policy, target = Category._meta.db_table, SlaPolicy._meta.db_table, SlaTarget._meta.db_table
    estate, calendar = Estate._meta.db_table, ServiceCalendar._meta.db_table
    room_columns = room_joins = room_keys = ""
    if with_room:
        room_columns = (
            f", {rawsql.select_list(Room, 'r')}, {rawsql.select_list(Building, 'b')}, {rawsql.select_list(Unit, 'u')}"
        )
        room_joins = (
            f"LEFT JOIN {Room._meta.db_table} r ON r.id = %(room)s AND r.estate_id = e.id "
            f"LEFT JOIN {Building._meta.db_table} b ON b.id = r.building_id "
            f"LEFT JOIN {Unit._meta.db_table} u ON u.id = r.unit_id "
        )
        # The room's, building's and unit's other columns depend on their primary keys.
        room_keys = ", r.id, b.id, u.id"
    return (
        "SELECT e.updated_at, k.updated_at, c.updated_at, p.updated_at, COUNT(t.id), SUM(t.limit_minutes)"  # noqa: S608 - table names are ours, values are bound
        f"{room_columns} FROM {estate} e LEFT JOIN {calendar} k ON k.estate_id = e.id "
        f"LEFT JOIN {category} c ON c.id = %(category)s LEFT JOIN {policy} p ON p.id = c.sla_policy_id "
        f"LEFT JOIN {target} t ON t.policy_id = p.id {room_joins}"
        f"WHERE e.id = %(estate)s GROUP BY e.updated_at, k.updated_at, c.updated_at, p.updated_at{room_keys}"
    )


NO_ROWS = (None, None, None, None, 0, None)
STAMPS = len(NO_ROWS)


def _read_stamps(estate_id: int, category_id: int, room_id: int | None) -> tuple[tuple, Room | None]:
    """(estate, calendar, category, policy, target count, target minutes) and the room when asked for; the estate's
    stamp is None when it does not exist (and then the category's is too: without an estate nothing is created)."""
    params = {"estate": estate_id, "category": category_id}
    if room_id is not None:
        params["room"] = room_id
    with connection.cursor() as cursor:
        cursor.execute(_stamp_sql(room_id is not None, connection.vendor), params)
        row = cursor.fetchone()
    if row is None:
        return NO_ROWS, None
    room = None
    if room_id is not None and row[STAMPS] is not None:
        room, offset = rawsql.instance_from_row(Room, row, STAMPS)
        room.building, offset = rawsql.instance_from_row(Building, row, offset)
        room.unit, _end = rawsql.instance_from_row(Unit, row, offset)
    return tuple(row[:STAMPS]), room


def _current(entries: dict[int, _Entry], key: int, stamp: tuple, now: float) -> _Entry | None:
    entry = entries.get(key)
    if entry is None or entry.stamp != stamp or now - entry.loaded_at > CATALOGUE_TTL_SECONDS:
        return None
    return entry


def _remember(entries: dict[int, _Entry], key: int, entry: _Entry | None) -> _Entry | None:
    if entry is not None:
        if len(entries) >= MAX_ENTRIES:
            entries.clear()
        entries[key] = entry
    return entry


def _values(row: Model) -> tuple:
    return tuple(getattr(row, field.attname) for field in row._meta.concrete_fields)


def _load_estate(estate_id: int, stamp: tuple, now: float) -> _Entry | None:
    if stamp[0] is None:
        return None
    estate = Estate.objects.select_related("service_calendar").filter(pk=estate_id).first()
    if estate is None:
        return None
    try:
        calendar = _values(estate.service_calendar)
    except ServiceCalendar.DoesNotExist:
        calendar = None
    return _remember(_estates, estate_id, _Entry(stamp=stamp, loaded_at=now, values=_values(estate), related=calendar))


def _load_category(category_id: int, stamp: tuple, now: float) -> _Entry | None:
    if stamp[0] is None:
        return None
    category = (
        Category.objects.select_related("sla_policy")
        .prefetch_related("sla_policy__targets")
        .filter(pk=category_id)
        .first()
    )
    if category is None:
        return None
    policy = category.sla_policy
    targets = tuple(sorted(policy.targets.all(), key=lambda target: target.pk))
    return _remember(
        _categories,
        category_id,
        _Entry(stamp=stamp, loaded_at=now, values=_values(category), related=(_values(policy), targets)),
    )


def _instance(model: type[Model], values: tuple) -> Any:
    # JSON fields hold lists and dicts: each instance gets its own copy.
    fresh = tuple(copy.deepcopy(value) if isinstance(value, list | dict) else value for value in values)
    return model.from_db(connection.alias, None, fresh)


def _estate_from(entry: _Entry | None) -> Estate | None:
    if entry is None:
        return None
    estate = _instance(Estate, entry.values)
    calendar = None if entry.related is None else _instance(ServiceCalendar, entry.related)
    # Caching None too: `estate.service_calendar` then raises DoesNotExist without a query, as after select_related.
    Estate.service_calendar.related.set_cached_value(estate, calendar)
    return estate


def _category_from(entry: _Entry | None) -> Category | None:
    if entry is None:
        return None
    policy_values, targets = entry.related
    category = _instance(Category, entry.values)
    policy = _instance(SlaPolicy, policy_values)
    policy._prefetched_objects_cache = {"targets": list(targets)}
    Category.sla_policy.field.set_cached_value(category, policy)
    return category


def _forget(**_kwargs) -> None:
    catalogue_clear()


for _model in (Estate, ServiceCalendar, Category, SlaPolicy, SlaTarget):
    post_save.connect(_forget, sender=_model, dispatch_uid=f"workorders.catalogue.saved.{_model.__name__}")
    post_delete.connect(_forget, sender=_model, dispatch_uid=f"workorders.catalogue.deleted.{_model.__name__}")
