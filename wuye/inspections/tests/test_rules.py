"""Pure rules with explicit times: scans in and out of the window, order rules, lateness, a round's outcome,
inspection answers, scores, rectification states and the report arithmetic."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from wuye.inspections import rules
from wuye.inspections.choices import AchievedStatus, ItemKind, OrderRule, Rectification, RoundAction, RoundStatus
from wuye.inspections.rules import ScanVerdict, Stop

SH = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 11, 27, 22, 0, tzinfo=SH)
END = dt.datetime(2026, 11, 28, 6, 0, tzinfo=SH)  # a night window across midnight
STOPS = [Stop(1, 0), Stop(2, 30), Stop(3, None)]


def verdict(checkpoint_id, now, *, scanned=(), order_rule=OrderRule.STRICT, status=RoundStatus.IN_PROGRESS):
    return rules.scan_verdict(
        status=status,
        stops=STOPS,
        scanned=set(scanned),
        checkpoint_id=checkpoint_id,
        order_rule=order_rule,
        window_start=START,
        window_end=END,
        now=now,
    )


def test_a_scan_at_the_opening_minute_is_accepted():
    assert verdict(1, START, status=RoundStatus.PENDING) == ScanVerdict.ACCEPT


def test_a_scan_one_second_before_the_window_is_refused():
    assert verdict(1, START - dt.timedelta(seconds=1)) == ScanVerdict.NOT_OPEN_YET


def test_a_scan_at_the_closing_instant_is_refused():
    assert verdict(1, END) == ScanVerdict.WINDOW_CLOSED
    assert verdict(1, END - dt.timedelta(seconds=1)) == ScanVerdict.ACCEPT


def test_a_scan_after_midnight_in_a_night_window_is_accepted():
    assert verdict(1, dt.datetime(2026, 11, 28, 1, 30, tzinfo=SH)) == ScanVerdict.ACCEPT


def test_strict_order_accepts_only_the_next_checkpoint():
    at = START + dt.timedelta(minutes=5)
    assert verdict(2, at) == ScanVerdict.OUT_OF_ORDER
    assert verdict(2, at, scanned={1}) == ScanVerdict.ACCEPT
    assert verdict(3, at, scanned={1}) == ScanVerdict.OUT_OF_ORDER


def test_any_order_accepts_any_unscanned_checkpoint():
    assert verdict(3, START, order_rule=OrderRule.ANY) == ScanVerdict.ACCEPT


def test_a_second_scan_of_a_checkpoint_is_a_replay():
    assert verdict(1, START, scanned={1}) == ScanVerdict.REPLAY
    assert verdict(1, START, scanned={1, 2, 3}, status=RoundStatus.COMPLETE) == ScanVerdict.REPLAY


def test_a_checkpoint_not_on_the_route_is_refused():
    assert verdict(99, START) == ScanVerdict.NOT_ON_ROUTE


@pytest.mark.parametrize("status", [RoundStatus.MISSED, RoundStatus.INCOMPLETE])
def test_a_closed_round_takes_no_scans(status):
    assert verdict(1, START, status=status) == ScanVerdict.ROUND_CLOSED


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        verdict(1, dt.datetime(2026, 11, 27, 23, 0))  # noqa: DTZ001


def test_a_scan_is_late_only_after_its_planned_time_and_tolerance():
    stop = Stop(2, 30)
    planned = START + dt.timedelta(minutes=30)
    assert not rules.is_late(window_start=START, stop=stop, tolerance_minutes=10, at=planned + dt.timedelta(minutes=10))
    assert rules.is_late(window_start=START, stop=stop, tolerance_minutes=10, at=planned + dt.timedelta(minutes=11))
    assert not rules.is_late(window_start=START, stop=Stop(3, None), tolerance_minutes=0, at=END)


def test_the_first_scan_starts_and_the_last_completes_a_round():
    assert rules.status_after_scan(RoundStatus.PENDING, scanned_count=1, stop_count=3) == (
        RoundStatus.IN_PROGRESS,
        [RoundAction.START],
    )
    assert rules.status_after_scan(RoundStatus.IN_PROGRESS, scanned_count=2, stop_count=3) == (
        RoundStatus.IN_PROGRESS,
        [],
    )
    assert rules.status_after_scan(RoundStatus.IN_PROGRESS, scanned_count=3, stop_count=3) == (
        RoundStatus.COMPLETE,
        [RoundAction.COMPLETE],
    )
    assert rules.status_after_scan(RoundStatus.PENDING, scanned_count=1, stop_count=1)[0] == RoundStatus.COMPLETE


def test_a_closed_round_without_scans_is_missed():
    outcome = rules.round_outcome(status=RoundStatus.PENDING, stops=STOPS, on_time={})
    assert (outcome.status, outcome.missed, outcome.late, outcome.needs_alert) == (
        RoundStatus.MISSED,
        (1, 2, 3),
        (),
        True,
    )


def test_a_closed_round_with_some_scans_is_incomplete_and_names_the_missed_and_late():
    outcome = rules.round_outcome(status=RoundStatus.IN_PROGRESS, stops=STOPS, on_time={1: True, 2: False})
    assert (outcome.status, outcome.scanned, outcome.missed, outcome.late) == (RoundStatus.INCOMPLETE, 2, (3,), (2,))


def test_a_complete_round_on_time_needs_no_alert():
    outcome = rules.round_outcome(status=RoundStatus.COMPLETE, stops=STOPS, on_time={1: True, 2: True, 3: True})
    assert outcome.status == RoundStatus.COMPLETE and not outcome.needs_alert


def test_snapshots_round_trip():
    assert rules.stops_from(rules.stops_snapshot(STOPS)) == STOPS


# ------------------------------------------------------------------------------------------------------ inspections


@pytest.mark.parametrize(
    ("kind", "answer", "problems"),
    [
        (ItemKind.CHECK, rules.Answer("pass"), []),
        (ItemKind.CHECK, rules.Answer(""), ["result_required"]),
        (ItemKind.CHECK, rules.Answer("maybe"), ["result_required"]),
        (ItemKind.CHECK, rules.Answer("fail"), ["note_required"]),
        (ItemKind.CHECK, rules.Answer("fail", note="地面有积水"), []),
        (ItemKind.READING, rules.Answer("pass"), ["reading_required"]),
        (ItemKind.READING, rules.Answer("pass", reading=float("nan")), ["reading_required"]),
        (ItemKind.READING, rules.Answer("pass", reading=0.45), []),
        (ItemKind.PHOTO, rules.Answer("pass"), ["photo_required"]),
        (ItemKind.PHOTO, rules.Answer("pass", photos=1), []),
    ],
)
def test_answer_rules(kind, answer, problems):
    assert rules.answer_problems(kind, answer) == problems


def test_the_score_is_the_passed_share_of_the_weight():
    assert rules.weighted_score([(3, True), (2, False), (1, True)]) == Decimal("66.7")
    assert rules.weighted_score([(1, True)]) == Decimal("100.0")
    assert rules.weighted_score([]) is None


def test_rectification_states_follow_the_dates():
    due = dt.datetime(2026, 11, 28, 8, 0, tzinfo=SH)
    state = {"rectify_due_at": due, "rectified_at": None, "verified_at": None, "recheck_failed": False}
    assert rules.rectification_state(**state, now=due) == Rectification.OPEN
    assert rules.rectification_state(**state, now=due + dt.timedelta(minutes=1)) == Rectification.OVERDUE
    state["rectified_at"] = due
    assert rules.rectification_state(**state, now=due) == Rectification.RECTIFIED
    assert rules.rectification_state(**{**state, "recheck_failed": True}, now=due) == Rectification.FAILED_AGAIN
    state["verified_at"] = due
    assert rules.rectification_state(**state, now=due) == Rectification.VERIFIED
    assert rules.rectification_state(**{**state, "rectify_due_at": None}, now=due) is None


def test_the_deadline_counts_the_sop_hours_from_submission():
    at = dt.datetime(2026, 11, 27, 22, 30, tzinfo=SH)
    assert rules.rectify_due(at, 4) == dt.datetime(2026, 11, 28, 2, 30, tzinfo=SH)


def test_samples_are_reproducible_and_bounded():
    candidates = list(range(100))
    first = rules.sample(candidates, 5, seed="x")
    assert first == rules.sample(candidates, 5, seed="x") and len(first) == 5 and first == sorted(first)
    assert rules.sample(candidates[:3], 5, seed="x") == [0, 1, 2]
    assert rules.sample(candidates, 0, seed="x") == []


# ------------------------------------------------------------------------------------------ contracted vs achieved


def test_month_bounds_are_local_months():
    start, end = rules.month_bounds(2026, 12, SH)
    assert (start, end) == (dt.datetime(2026, 12, 1, tzinfo=SH), dt.datetime(2027, 1, 1, tzinfo=SH))
    assert start.astimezone(dt.UTC) == dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)


def test_a_window_is_covered_by_a_moment_inside_it_only():
    windows = [(START, START + dt.timedelta(hours=1)), (END, END + dt.timedelta(hours=1))]
    assert rules.covered(windows, [START]) == 1
    assert rules.covered(windows, [START + dt.timedelta(hours=1)]) == 0  # the end is outside
    assert rules.covered(windows, [END + dt.timedelta(minutes=59), START + dt.timedelta(minutes=1)]) == 2


def test_a_frequency_is_met_at_ninety_five_percent():
    assert rules.needed(720) == 684
    assert rules.frequency_status(720, 684) == AchievedStatus.PASS
    assert rules.frequency_status(720, 683) == AchievedStatus.FAIL
    assert rules.frequency_status(1, 0) == AchievedStatus.FAIL
    assert rules.frequency_status(1, 1) == AchievedStatus.PASS
    assert rules.frequency_status(None, 5) == AchievedStatus.NOT_CONTRACTED
    assert rules.frequency_status(0, 0) == AchievedStatus.NOT_CONTRACTED


def test_shares_need_data_and_the_required_share():
    assert rules.share_status(0, 0) == AchievedStatus.NO_DATA
    assert rules.share_status(19, 20) == AchievedStatus.PASS
    assert rules.share_status(18, 20) == AchievedStatus.FAIL
    assert rules.share_status(8, 10, required=0.8) == AchievedStatus.PASS


def test_median():
    assert rules.median([]) is None
    assert rules.median([3, 1, 2]) == 2
    assert rules.median([4, 1, 2, 3]) == 2.5
