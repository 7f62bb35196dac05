"""The online anomaly detectors: what they learn, when they speak, how they explain, and that they can be resumed."""

import json
import math
import random
import statistics

import pytest

from wuye.iot.detectors import (
    DETECTORS,
    InvalidDetector,
    WindowedGaussianDetector,
    detector_class,
    gaussian_tail,
    make_detector,
)

HOUR = 3600.0


def office_temperature(hour_index: int, rng: random.Random) -> float:
    """20 °C at night, 30 °C from 08:00 to 18:00, with noise of about 0.5 °C."""
    hour = hour_index % 24
    return (30.0 if 8 <= hour < 18 else 20.0) + rng.gauss(0, 0.5)


def feed_hours(detector, hours: int, rng: random.Random, start_hour: int = 0, every_minutes: int = 15):
    assessments = []
    per_hour = 60 // every_minutes
    for step in range(hours * per_hour):
        at = (start_hour * per_hour + step) * every_minutes * 60.0
        hour_index = start_hour + step // per_hour
        assessments.append(detector.update(at, hour_index % 24, office_temperature(hour_index, rng)))
    return assessments


def test_the_default_detector_is_the_sustained_one():
    assert detector_class("default") is DETECTORS["sustained"]


@pytest.mark.parametrize("name", ["sustained", "seasonal"])
def test_seasonal_detectors_learn_what_to_expect_for_each_hour_of_the_day(name):
    detector = make_detector(name, {})
    rng = random.Random(1)
    feed_hours(detector, 14 * 24, rng)
    at = 14 * 24 * HOUR
    night = detector.update(at + 3 * HOUR, 3, 20.2)
    day = detector.update(at + 10 * HOUR, 10, 29.8)
    assert night.ready and day.ready
    assert night.expected == pytest.approx(20.0, abs=0.3)
    assert day.expected == pytest.approx(30.0, abs=0.3)
    # The usual spread is the noise (σ 0.5), not the 10 °C day/night swing.
    assert 0.3 < night.spread < 0.8


def test_seasonal_detectors_are_not_ready_while_learning():
    detector = make_detector("sustained", {})
    first_days = feed_hours(detector, 2 * 24, random.Random(2))
    assert not any(assessment.ready for assessment in first_days)
    assert all(assessment.score == 0.0 for assessment in first_days)
    assert feed_hours(detector, 2 * 24, random.Random(3), start_hour=48)[-1].ready


def test_sustained_detector_stays_quiet_on_normal_days():
    detector = make_detector("sustained", {})
    assessments = feed_hours(detector, 21 * 24, random.Random(4))
    ready = [assessment for assessment in assessments if assessment.ready]
    assert len(ready) > 1000
    assert max(abs(assessment.sigma) for assessment in ready) < 2.0
    assert sum(1 for assessment in ready if assessment.score > 0) == 0


def test_sustained_detector_reports_a_shift_once_and_again_only_when_it_grows():
    detector = make_detector("sustained", {})
    rng = random.Random(5)
    feed_hours(detector, 14 * 24, rng)
    start = 14 * 24 * 4  # quarter hours so far
    scores = []
    for step in range(8 * 4):  # 8 hours 4 °C too warm, then 8 hours 8 °C too warm
        hour_index = 14 * 24 + step // 4
        warmer = 4.0 if step < 16 else 8.0
        value = office_temperature(hour_index, rng) + warmer
        scores.append(detector.update((start + step) * 900.0, hour_index % 24, value))
    reported = [index for index, assessment in enumerate(scores) if assessment.score > 0]
    assert reported, "a 4 °C shift (8σ) must be reported"
    assert reported[0] < 8  # within two hours
    # An episode reports a handful of growing moments, not every reading.
    assert 2 <= len(reported) <= 10
    assert all(scores[i].score < scores[j].score for i, j in zip(reported, reported[1:], strict=False))
    assert all(assessment.sigma > 0 for assessment in scores[8:])


def test_sustained_detector_smooths_a_single_odd_reading_but_not_a_wild_one():
    detector = make_detector("sustained", {})
    rng = random.Random(6)
    feed_hours(detector, 14 * 24, rng)
    at = 14 * 24 * HOUR
    odd = detector.update(at, 0, 22.5)  # 5σ once
    assert odd.ready and odd.score == 0.0 and abs(odd.sigma) < 2.0
    wild = detector.update(at + 900, 0, 60.0)  # 80σ: a third of it still counts at once
    assert wild.score > 0 and wild.sigma > 20


def test_seasonal_detector_scores_each_reading():
    detector = make_detector("seasonal", {})
    feed_hours(detector, 10 * 24, random.Random(7))
    spike = detector.update(10 * 24 * HOUR, 0, 26.0)
    assert spike.sigma > 8 and spike.score > 0.4


def test_ewma_detector_measures_deviation_in_standard_deviations():
    detector = make_detector("ewma", {"memory_hours": 24})
    rng = random.Random(8)
    for step in range(500):
        detector.update(step * 300.0, 0, 50.0 + rng.gauss(0, 2.0))
    normal = detector.update(500 * 300.0, 0, 51.0)
    outlier = detector.update(501 * 300.0, 0, 62.0)
    assert abs(normal.sigma) < 1.5
    assert outlier.sigma == pytest.approx(6.0, rel=0.25)
    assert outlier.expected == pytest.approx(50.0, abs=1.0)


def reference_windowed_gaussian(values, window, step):
    """NAB's windowed Gaussian written the slow, obvious way (statistics.pstdev over the window at each refresh)."""
    data, pending, mean, std, scores = [], [], 0.0, 1.0, []
    for value in values:
        scores.append(0.0 if not data else 1 - 0.5 * math.erfc(abs(value - mean) / std / math.sqrt(2)))
        if len(data) < window:
            data.append(value)
            mean, std = statistics.fmean(data), statistics.pstdev(data) or 0.000001
        else:
            pending.append(value)
            if len(pending) == step:
                data = data[step:] + pending
                pending = []
                mean, std = statistics.fmean(data), statistics.pstdev(data) or 0.000001
    return scores


def test_windowed_gaussian_follows_nab_including_the_stepped_slide():
    rng = random.Random(9)
    values = [rng.gauss(10, 2) + (25 if index in (70, 130) else 0) for index in range(200)]
    detector = WindowedGaussianDetector(window=40, step=7)
    got = [detector.update(index * 60.0, 0, value).score for index, value in enumerate(values)]
    assert got == pytest.approx(reference_windowed_gaussian(values, 40, 7), abs=1e-12)
    assert got[0] == 0.0 and min(got[1:]) >= 0.5
    assert got[70] > 0.9999 and got[130] > 0.9999


def test_windowed_gaussian_defaults_are_nabs():
    detector = WindowedGaussianDetector()
    assert (detector.window_size, detector.step_size) == (6400, 100)
    assert gaussian_tail(12.0, 10.0, 2.0) == pytest.approx(0.158655, abs=1e-6)
    assert gaussian_tail(8.0, 10.0, 2.0) == gaussian_tail(12.0, 10.0, 2.0)


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_a_detector_resumed_from_json_state_continues_exactly(name):
    params = {"window": 60, "step": 10} if name == "windowed_gaussian" else {}
    rng = random.Random(10)
    series = [(index * 900.0, (index // 4) % 24, office_temperature(index // 4, rng)) for index in range(4 * 24 * 12)]
    whole = make_detector(name, params)
    expected = [whole.update(*point) for point in series]

    first = make_detector(name, params)
    cut = len(series) // 2
    got = [first.update(*point) for point in series[:cut]]
    resumed = make_detector(name, params)
    resumed.load(json.loads(json.dumps(first.state())))
    got += [resumed.update(*point) for point in series[cut:]]
    assert got == expected


def test_unknown_detectors_and_bad_parameters_are_named():
    with pytest.raises(InvalidDetector) as error:
        detector_class("crystal_ball")
    assert error.value.field == "detector"
    for name, params, field in [
        ("sustained", {"sustain_hours": 0}, "sustain_hours"),
        ("sustained", {"growth": 0.5}, "growth"),
        ("seasonal", {"warmup": 2.5}, "warmup"),
        ("ewma", {"memory_hours": "long"}, "memory_hours"),
        ("windowed_gaussian", {"window": 1}, "window"),
    ]:
        with pytest.raises(InvalidDetector) as error:
            make_detector(name, params)
        assert error.value.field == field
