"""The NAB standard-profile scorer on hand-made cases with known answers, and the detectors on the real NAB files."""

import datetime as dt
import hashlib
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wuye.iot import nab

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
TIMESTAMPS = [START + dt.timedelta(minutes=index) for index in range(1000)]
WINDOW = (TIMESTAMPS[400], TIMESTAMPS[499])  # 100 records
MAX_TP = 2 / (1 + math.exp(-5)) - 1


def scores_with(detections: dict[int, float]) -> list[float]:
    return [detections.get(index, 0.0) for index in range(len(TIMESTAMPS))]


def raw(detections: dict[int, float], threshold: float = 0.5) -> float:
    records = nab.sweep_records(TIMESTAMPS, scores_with(detections), [WINDOW], "hand.csv")
    return nab.score_at(records, threshold).raw


def normalised(detections: dict[int, float]) -> float:
    records = nab.sweep_records(TIMESTAMPS, scores_with(detections), [WINDOW], "hand.csv")
    return nab.score_corpus([("hand.csv", records)]).score


def test_scaled_sigmoid_matches_nabs_reference_points():
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert nab.scaled_sigmoid(0.0) == 0.0
    assert nab.scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(3.5) == -1.0


def test_probationary_period_is_15_percent_capped_at_750_records():
    assert nab.probationary_length(1000) == 150
    assert nab.probationary_length(4999) == 749
    assert nab.probationary_length(22695) == 750


def test_a_perfect_detector_scores_100_and_the_null_detector_0():
    assert normalised({400: 1.0}) == pytest.approx(100.0)
    constant = [0.5] * len(TIMESTAMPS)
    records = nab.sweep_records(TIMESTAMPS, constant, [WINDOW], "hand.csv")
    assert nab.score_corpus([("hand.csv", records)]).score == pytest.approx(0.0)
    assert nab.null_raw(records) == -1.0  # flagging everything would cost far more than missing the window


def test_a_detection_at_the_window_start_is_worth_a_full_true_positive():
    assert raw({400: 1.0}) == pytest.approx(1.0)


def test_a_detection_at_the_window_end_is_worth_almost_nothing():
    at_end = (2 / (1 + math.exp(-5 * 0.01)) - 1) / MAX_TP  # position −1/100
    assert raw({499: 1.0}) == pytest.approx(at_end)
    assert raw({400: 1.0}) > raw({450: 1.0}) > raw({499: 1.0}) > raw({})


def test_only_the_earliest_detection_in_a_window_counts():
    assert raw({400: 1.0, 420: 1.0, 450: 1.0}) == pytest.approx(raw({400: 1.0}))
    assert raw({450: 1.0, 499: 1.0}) == pytest.approx(raw({450: 1.0}))


def test_a_missed_window_costs_one():
    assert raw({}) == -1.0


def test_a_false_positive_far_from_any_window_costs_0_11():
    assert raw({200: 1.0}) == pytest.approx(-1.0 - 0.11)
    assert raw({200: 1.0, 300: 1.0, 400: 1.0}) == pytest.approx(1.0 - 2 * 0.11)


def test_a_false_positive_just_after_a_window_costs_little_and_more_as_it_gets_later():
    just_after = (2 / (1 + math.exp(5 * (1 / 99))) - 1) * 0.11  # position 1/99 past the window
    assert raw({400: 1.0, 500: 1.0}) == pytest.approx(1.0 + just_after)
    assert raw({400: 1.0, 500: 1.0}) > raw({400: 1.0, 550: 1.0}) > raw({400: 1.0, 900: 1.0})
    assert raw({400: 1.0, 900: 1.0}) == pytest.approx(1.0 - 0.11)  # more than 3 widths past: the full cost


def test_detections_in_the_probationary_period_are_ignored():
    assert raw({100: 1.0}) == raw({})


def test_threshold_optimisation_picks_the_best_swept_threshold():
    # A true positive at 0.9, a false positive at 0.95: detecting both (threshold 0.9) beats the rest.
    records = nab.sweep_records(TIMESTAMPS, scores_with({400: 0.9, 200: 0.95}), [WINDOW], "hand.csv")
    best = nab.best_threshold(records)
    assert best.threshold == 0.9
    assert best.raw == pytest.approx(1.0 - 0.11)
    assert (best.tp, best.fp) == (1, 1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.7, 0.9, 1.0]), min_size=1000, max_size=1000))
def test_the_sweep_agrees_with_scoring_each_threshold_directly(scores):
    records = nab.sweep_records(TIMESTAMPS, scores, [WINDOW], "hand.csv")
    for row in nab.scores_by_threshold(records):
        assert nab.score_at(records, row.threshold).raw == pytest.approx(row.raw)


def test_files_are_normalised_together_with_one_threshold():
    second = [START + dt.timedelta(hours=index) for index in range(1000)]
    windows = [(second[300], second[349]), (second[700], second[749])]
    one = nab.sweep_records(TIMESTAMPS, scores_with({400: 0.8}), [WINDOW], "one.csv")
    two = nab.sweep_records(second, scores_with({300: 0.8}), windows, "two.csv")
    result = nab.score_corpus([("one.csv", one), ("two.csv", two)])
    assert result.threshold == 0.8
    # Two of three windows caught at their start, one missed: raw 1 + 1 − 1 = 1; null −3, perfect 3.
    assert result.raw == pytest.approx(1.0)
    assert result.score == pytest.approx(100 * (1 + 3) / (3 + 3))
    assert [file.score for file in result.files] == pytest.approx([100.0, 50.0])


def test_a_window_that_is_not_on_the_records_is_refused():
    with pytest.raises(ValueError, match="does not start and end on records"):
        nab.sweep_records(TIMESTAMPS, [0.0] * 1000, [(START - dt.timedelta(days=1), TIMESTAMPS[10])], "hand.csv")


# ---------------------------------------------------------------------------------------------------------------------
# The real files (the repository's copy: CI has a clean clone only)


def test_the_repository_copy_of_the_nab_data_matches_the_published_checksums():
    source = (nab.DATA_DIR / "SOURCE.md").read_text(encoding="utf-8")
    for name in (*nab.NAB_FILES, nab.WINDOWS_FILE):
        digest = hashlib.sha256((nab.DATA_DIR / name).read_bytes()).hexdigest()
        assert re.search(rf"{re.escape(name)}\s+{digest}", source), name
    assert "MIT" in (nab.DATA_DIR / "LICENSE.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def nab_files():
    return nab.load_files()


def test_the_nab_files_have_their_labelled_windows(nab_files):
    assert [(len(f.values), len(f.windows)) for f in nab_files] == [(22695, 4), (7267, 2)]


def test_the_default_detector_scores_at_least_one_and_a_half_times_the_windowed_gaussian_baseline(nab_files):
    baseline = nab.score_files("baseline", nab_files, [nab.detector_scores("windowed_gaussian", f) for f in nab_files])
    default = nab.score_files("default", nab_files, [nab.detector_scores("default", f) for f in nab_files])
    assert baseline.result.score == pytest.approx(50.7, abs=0.1)  # the figure in docs/iot.md
    assert default.result.score >= 1.5 * baseline.result.score
    assert default.windows_caught == (4, 2)
