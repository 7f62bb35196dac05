"""Pure rules for patrols, inspections and the contracted-vs-achieved report: whether a scan is accepted, what a
closed round amounts to, what an inspection answer needs, scores, rectification states and report lines.

No ORM and no clock here: callers pass `now`. Every datetime taken or returned is aware. Timetables are the schedule
specs of wuye/standards/rules.py (a route's windows are expanded by `standards.rules.occurrences`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from .choices import (
    ROUND_OPEN,
    ROUND_TRANSITIONS,
    AchievedStatus,
    ItemKind,
    ItemResult,
    OrderRule,
    Rectification,
    RoundAction,
    RoundStatus,
)

# A re-check is due this long after the rectification order is completed.
RECHECK_WITHIN = dt.timedelta(hours=24)
# A contracted frequency or time limit is met when at least this share of it was achieved.
PASS_SHARE = 0.95


def _require_aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")
    return value


# ---------------------------------------------------------------------------------------------------------- patrols


@dataclass(frozen=True)
class Stop:
    """A checkpoint a round expects, with its planned time in minutes after the window opens (None: any time)."""

    checkpoint_id: int
    offset: int | None = None


def stops_from(snapshot: Iterable[Mapping]) -> list[Stop]:
    return [Stop(checkpoint_id=int(entry["checkpoint"]), offset=entry.get("offset")) for entry in snapshot]


def stops_snapshot(stops: Iterable[Stop]) -> list[dict]:
    return [{"checkpoint": stop.checkpoint_id, "offset": stop.offset} for stop in stops]


def planned_at(window_start: dt.datetime, stop: Stop) -> dt.datetime | None:
    return None if stop.offset is None else window_start + dt.timedelta(minutes=stop.offset)


def is_late(*, window_start: dt.datetime, stop: Stop, tolerance_minutes: int, at: dt.datetime) -> bool:
    """A scan is late when the stop has a planned time and the scan came more than the tolerance after it."""
    planned = planned_at(window_start, stop)
    return planned is not None and at > planned + dt.timedelta(minutes=tolerance_minutes)


def next_expected(stops: Sequence[Stop], scanned: set[int]) -> Stop | None:
    """Under a strict order, the first stop not scanned yet."""
    return next((stop for stop in stops if stop.checkpoint_id not in scanned), None)


class ScanVerdict:
    ACCEPT = "accept"
    REPLAY = "replay"  # already scanned in this round: recorded once, not counted again
    ROUND_CLOSED = "round_closed"
    NOT_OPEN_YET = "not_open_yet"
    WINDOW_CLOSED = "window_closed"
    NOT_ON_ROUTE = "not_on_route"
    OUT_OF_ORDER = "out_of_order"


def scan_verdict(
    *,
    status: str,
    stops: Sequence[Stop],
    scanned: set[int],
    checkpoint_id: int,
    order_rule: str,
    window_start: dt.datetime,
    window_end: dt.datetime,
    now: dt.datetime,
) -> str:
    """Whether a genuine code of the round's estate is accepted now. A scan counts only inside [window_start,
    window_end); a checkpoint the round does not expect is refused; a second scan of a checkpoint is a replay;
    under a strict order only the next checkpoint is accepted."""
    _require_aware(now, "now")
    if status not in ROUND_OPEN and status != RoundStatus.COMPLETE:
        return ScanVerdict.ROUND_CLOSED
    if now < window_start:
        return ScanVerdict.NOT_OPEN_YET
    if now >= window_end:
        return ScanVerdict.WINDOW_CLOSED
    if checkpoint_id not in {stop.checkpoint_id for stop in stops}:
        return ScanVerdict.NOT_ON_ROUTE
    if checkpoint_id in scanned:
        return ScanVerdict.REPLAY
    if order_rule == OrderRule.STRICT:
        expected = next_expected(stops, scanned)
        if expected is not None and expected.checkpoint_id != checkpoint_id:
            return ScanVerdict.OUT_OF_ORDER
    return ScanVerdict.ACCEPT


def round_move(status: str, action: str) -> str | None:
    """The status `action` leads to from `status`, or None when ROUND_TRANSITIONS does not allow it."""
    return ROUND_TRANSITIONS[action].get(status)


def status_after_scan(status: str, *, scanned_count: int, stop_count: int) -> tuple[str, list[str]]:
    """The round's status after one more accepted scan, and the actions that got it there (start, complete)."""
    actions = []
    if scanned_count >= stop_count:
        actions.append(RoundAction.COMPLETE)
    elif status == RoundStatus.PENDING:
        actions.append(RoundAction.START)
    for action in actions:
        status = round_move(status, action) or status
    return status, actions


@dataclass(frozen=True)
class RoundOutcome:
    """What a round amounts to when its window closes."""

    status: str
    scanned: int
    missed: tuple[int, ...]  # checkpoint ids never scanned
    late: tuple[int, ...]  # checkpoint ids scanned after their planned time and tolerance

    @property
    def needs_alert(self) -> bool:
        return bool(self.missed or self.late)


def round_outcome(*, status: str, stops: Sequence[Stop], on_time: Mapping[int, bool]) -> RoundOutcome:
    """`on_time`: checkpoint id → whether its scan was on time, for the checkpoints scanned."""
    missed = tuple(stop.checkpoint_id for stop in stops if stop.checkpoint_id not in on_time)
    late = tuple(stop.checkpoint_id for stop in stops if on_time.get(stop.checkpoint_id) is False)
    closed = round_move(status, RoundAction.CLOSE) or status
    return RoundOutcome(status=closed, scanned=len(stops) - len(missed), missed=missed, late=late)


# ------------------------------------------------------------------------------------------------------ inspections


@dataclass(frozen=True)
class Answer:
    """What an inspector gave for one checklist item."""

    result: str
    reading: float | None = None
    note: str = ""
    photos: int = 0


def answer_problems(kind: str, answer: Answer) -> list[str]:
    """Rule codes broken by an answer: a result is pass or fail; a reading item needs a finite number; a photo item
    at least one photo; a failed item a note saying what is wrong (it becomes the rectification order)."""
    problems = []
    if answer.result not in (ItemResult.PASS, ItemResult.FAIL):
        problems.append("result_required")
    if kind == ItemKind.READING and (answer.reading is None or not math.isfinite(answer.reading)):
        problems.append("reading_required")
    if kind == ItemKind.PHOTO and answer.photos < 1:
        problems.append("photo_required")
    if answer.result == ItemResult.FAIL and len(answer.note.strip()) < 2:
        problems.append("note_required")
    return problems


def weighted_score(items: Iterable[tuple[int, bool]]) -> Decimal | None:
    """The share of the weight that passed, out of 100 with one decimal (half up); None with nothing to score."""
    items = list(items)
    total = sum(weight for weight, _passed in items)
    if total <= 0:
        return None
    passed = sum(weight for weight, ok in items if ok)
    return (Decimal(100 * passed) / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def rectify_due(submitted_at: dt.datetime, hours: int) -> dt.datetime:
    return _require_aware(submitted_at, "submitted_at") + dt.timedelta(hours=hours)


def rectification_state(
    *,
    rectify_due_at: dt.datetime | None,
    rectified_at: dt.datetime | None,
    verified_at: dt.datetime | None,
    recheck_failed: bool,
    now: dt.datetime,
) -> str | None:
    """Where a failed item's rectification stands (None: the item has no rectification)."""
    if rectify_due_at is None:
        return None
    if verified_at is not None:
        return Rectification.VERIFIED
    if recheck_failed:
        return Rectification.FAILED_AGAIN
    if rectified_at is not None:
        return Rectification.RECTIFIED
    return Rectification.OVERDUE if now > rectify_due_at else Rectification.OPEN


def sample(candidates: Sequence, count: int, seed: int | str) -> list:
    """A reproducible random sample of at most `count` candidates, in their given order."""
    if count <= 0 or not candidates:
        return []
    picked = sorted(random.Random(seed).sample(range(len(candidates)), min(count, len(candidates))))
    return [candidates[index] for index in picked]


# --------------------------------------------------------------------------------------- contracted vs achieved


def month_bounds(year: int, month: int, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[first instant, first instant of the next month) of a local calendar month."""
    start = dt.datetime(year, month, 1, tzinfo=tz)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return start, end


def covered(windows: Sequence[tuple[dt.datetime, dt.datetime]], moments: Iterable[dt.datetime]) -> int:
    """How many windows [start, end) hold at least one of the moments (a contracted patrol slot is covered by a
    round completed, or a task done, inside it)."""
    times = sorted(moments)
    count = 0
    for start, end in windows:
        index = bisect.bisect_left(times, start)
        if index < len(times) and times[index] < end:
            count += 1
    return count


def needed(target: int) -> int:
    """How many of a contracted count must be achieved to meet it."""
    return math.ceil(target * PASS_SHARE - 1e-9)


def frequency_status(target: int | None, achieved: int) -> str:
    if not target:
        return AchievedStatus.NOT_CONTRACTED
    return AchievedStatus.PASS if achieved >= needed(target) else AchievedStatus.FAIL


def share_status(met: int, total: int, *, required: float = PASS_SHARE) -> str:
    """A share of cases that must reach `required` (e.g. emergency arrivals within the limit)."""
    if total == 0:
        return AchievedStatus.NO_DATA
    return AchievedStatus.PASS if met / total >= required - 1e-9 else AchievedStatus.FAIL


def share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def median(values: Sequence[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
