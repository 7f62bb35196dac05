"""Online anomaly detectors for one stream of readings (one device, one metric). Pure: no ORM, no clock, no I/O.

A detector is fed readings in time order through `update(at, local_hour, value)`, where `at` is the reading time in
epoch seconds and `local_hour` its hour of day in the rule's time zone. It answers with an `Assessment`:

- `sigma`: how far the stream is from what the detector expects, in units of its usual spread (signed: positive
  above, negative below). Alarm rules compare this with their `sigma` parameter.
- `expected` / `spread`: what the detector expected and the spread it measures with, for explaining an alarm
  ("18 % above the expected 41.2 °C for this hour").
- `score`: an anomaly score in [0, 1] as the Numenta Anomaly Benchmark (NAB) wants it, used by `iot_score_nab`.
- `ready`: False while the detector is still learning; rules never raise on an assessment that is not ready.

Every detector's whole memory is a small JSON-serialisable dict (`state()` / `from_state()`), so the ingester can
persist it with the rule engine's state and resume after a restart.

Detectors (see docs/iot.md for the measured NAB scores):

- ``sustained`` (the default, also reachable as ``default``): an hour-of-day seasonal baseline with one robust
  spread, the deviation smoothed over a few hours so that a sustained shift counts more than one odd reading, and
  *episodes*: once the stream leaves the normal band it reports a new score only when the deviation grows by a
  further 20 %, until it has been back in the band for 12 hours. Equipment faults show up as sustained shifts;
  single odd readings are what threshold rules are for.
- ``seasonal``: the same baseline and spread, scoring every reading on its own (no smoothing, no episodes).
- ``ewma``: exponentially weighted mean and standard deviation, no seasonality.
- ``windowed_gaussian``: NAB's windowed-Gaussian baseline detector, reproduced faithfully (mean and standard
  deviation of the last 6,400 values, refreshed every 100 values once the window is full; the score is one minus
  the Gaussian tail probability). It is the yardstick in the NAB table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

# A robust spread from a mean absolute deviation: for Gaussian noise, σ = √(π/2) · E|x − μ|.
MEAN_ABS_TO_SIGMA = math.sqrt(math.pi / 2.0)
SQRT2 = math.sqrt(2.0)
HOUR = 3600.0
DAY = 86400.0
TINY = 1e-9


class InvalidDetector(ValueError):
    """A detector name or parameter is wrong; `field` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Assessment:
    score: float
    sigma: float
    expected: float | None
    spread: float | None
    ready: bool


NOT_READY = Assessment(score=0.0, sigma=0.0, expected=None, spread=None, ready=False)


def _positive(params: Mapping[str, Any], name: str, default: float) -> float:
    raw = params.get(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidDetector(name, f"must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidDetector(name, f"must be a positive number, got {raw!r}")
    return value


def _non_negative(params: Mapping[str, Any], name: str, default: float) -> float:
    raw = params.get(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidDetector(name, f"must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise InvalidDetector(name, f"must be zero or more, got {raw!r}")
    return value


def _integer(params: Mapping[str, Any], name: str, default: int, minimum: int = 1) -> int:
    raw = params.get(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidDetector(name, f"must be a whole number, got {raw!r}") from None
    if not value.is_integer() or value < minimum:
        raise InvalidDetector(name, f"must be a whole number of at least {minimum}, got {raw!r}")
    return int(value)


class Detector:
    """Base class. Subclasses set `name`, `params` (name → default) and the alarm defaults, and implement the rest."""

    name: ClassVar[str]
    # Parameter name → default value; only these are accepted.
    params: ClassVar[Mapping[str, float]] = {}
    # What "expected" means in an explanation: "hour" (for this hour of the day) or "recent" (recent readings).
    basis: ClassVar[str] = "recent"
    # Alarm-rule defaults: raise at |sigma| ≥ default_sigma, clear after |sigma| < default_clear_sigma for
    # default_clear_minutes.
    default_sigma: ClassVar[float] = 4.0
    default_clear_sigma: ClassVar[float] = 2.0
    default_clear_minutes: ClassVar[float] = 60.0

    def update(self, at: float, local_hour: int, value: float) -> Assessment:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    def load(self, state: Mapping[str, Any]) -> None:
        raise NotImplementedError


class _SamplingInterval:
    """A running estimate of the time between readings, robust to the odd gap (a gap counts as at most 4 intervals)."""

    __slots__ = ("interval", "last_at")

    def __init__(self) -> None:
        self.interval = 0.0
        self.last_at: float | None = None

    def observe(self, at: float) -> float:
        """Record a reading time; return the seconds since the previous reading (0 for the first)."""
        if self.last_at is None:
            self.last_at = at
            return 0.0
        gap = at - self.last_at
        self.last_at = at
        if gap <= 0:
            return 0.0
        if self.interval <= 0:
            self.interval = gap
        else:
            self.interval += 0.05 * (min(gap, 4.0 * self.interval) - self.interval)
        return gap


class SeasonalBaseline:
    """What a reading is expected to be at this hour of the day, and the stream's usual spread around it.

    Location: one exponentially weighted, outlier-clipped mean per local hour of day (24 buckets), with a memory of
    `memory_days` days. Spread: one exponentially weighted mean absolute residual over all hours (more samples,
    steadier than per-hour spreads), turned into a σ. Updates are clipped at 4σ so that a fault does not teach the
    baseline that faults are normal. Each bucket's learning rate follows the measured sampling interval, so a
    5-minute stream and an hourly one both remember about `memory_days` days.
    """

    __slots__ = ("memory", "warmup", "warmup_seconds", "first_at", "loc", "count", "mean_abs", "spread_count", "clock")

    def __init__(self, memory_days: float, warmup: int, warmup_days: float) -> None:
        self.memory = memory_days * DAY
        self.warmup = warmup
        self.warmup_seconds = warmup_days * DAY
        self.first_at: float | None = None
        self.loc: list[float] = [0.0] * 24
        self.count: list[int] = [0] * 24
        self.mean_abs = 0.0
        self.spread_count = 0
        self.clock = _SamplingInterval()

    def expected(self, hour: int) -> tuple[float, float] | None:
        """(expected value, σ) for this hour, or None while learning."""
        if self.count[hour] < self.warmup or self.spread_count < self.warmup or self.mean_abs <= 0:
            return None
        if self.first_at is None or (self.clock.last_at or 0.0) - self.first_at < self.warmup_seconds:
            return None
        return self.loc[hour], self.mean_abs * MEAN_ABS_TO_SIGMA

    def learn(self, at: float, hour: int, value: float) -> float:
        """Learn from a reading; return the seconds since the previous reading."""
        gap = self.clock.observe(at)
        if self.first_at is None:
            self.first_at = at
        interval = self.clock.interval
        count = self.count[hour]
        residual = value - self.loc[hour]
        limit = 4.0 * self.mean_abs * MEAN_ABS_TO_SIGMA
        # Only residuals from an established bucket say anything about the spread.
        if count >= self.warmup:
            spread_count = self.spread_count + 1
            self.spread_count = spread_count
            if spread_count <= self.warmup or self.mean_abs <= 0:
                self.mean_abs += (abs(residual) - self.mean_abs) / spread_count
            else:
                alpha = max(1.0 / spread_count, interval / self.memory)
                self.mean_abs += alpha * (min(abs(residual), limit) - self.mean_abs)
        count += 1
        self.count[hour] = count
        if count <= self.warmup or self.mean_abs <= 0:
            self.loc[hour] += residual / count
        else:
            # A bucket sees one reading per interval during its hour: memory/24 of them per `memory` days.
            alpha = max(1.0 / count, interval * 24.0 / self.memory)
            self.loc[hour] += alpha * max(-limit, min(limit, residual))
        return gap

    def state(self) -> dict[str, Any]:
        return {
            "loc": list(self.loc),
            "count": list(self.count),
            "mean_abs": self.mean_abs,
            "spread_count": self.spread_count,
            "interval": self.clock.interval,
            "last_at": self.clock.last_at,
            "first_at": self.first_at,
        }

    def load(self, state: Mapping[str, Any]) -> None:
        self.loc = [float(x) for x in state["loc"]]
        self.count = [int(x) for x in state["count"]]
        self.mean_abs = float(state["mean_abs"])
        self.spread_count = int(state["spread_count"])
        self.clock.interval = float(state["interval"])
        self.clock.last_at = None if state["last_at"] is None else float(state["last_at"])
        self.first_at = None if state["first_at"] is None else float(state["first_at"])


def _score_from_sigma(sigma: float) -> float:
    """A monotone map of |σ| into [0, 1) that does not saturate (NAB needs distinct scores to sweep thresholds)."""
    magnitude = abs(sigma)
    return magnitude / (magnitude + 10.0)


class SeasonalDetector(Detector):
    """Each reading against the hour-of-day baseline: σ = (value − expected) / spread."""

    name = "seasonal"
    basis = "hour"
    params: ClassVar[Mapping[str, float]] = {"memory_days": 7.0, "warmup": 5, "warmup_days": 3.0}
    default_sigma = 4.0
    default_clear_sigma = 2.0
    default_clear_minutes = 60.0

    def __init__(self, **params: Any) -> None:
        self.memory_days = _positive(params, "memory_days", self.params["memory_days"])
        self.warmup = _integer(params, "warmup", int(self.params["warmup"]))
        self.warmup_days = _non_negative(params, "warmup_days", self.params["warmup_days"])
        self.baseline = SeasonalBaseline(self.memory_days, self.warmup, self.warmup_days)

    def update(self, at: float, local_hour: int, value: float) -> Assessment:
        known = self.baseline.expected(local_hour)
        self.baseline.learn(at, local_hour, value)
        if known is None:
            return NOT_READY
        expected, spread = known
        sigma = (value - expected) / max(spread, TINY)
        return Assessment(_score_from_sigma(sigma), sigma, expected, spread, True)

    def state(self) -> dict[str, Any]:
        return {"baseline": self.baseline.state()}

    def load(self, state: Mapping[str, Any]) -> None:
        self.baseline.load(state["baseline"])


class SustainedDetector(Detector):
    """The default: seasonal baseline, deviation smoothed over `sustain_hours`, reported in episodes.

    sigma = the larger of the smoothed deviation and a third of the single reading's deviation (so a reading far out
    of range is not held back by the smoothing). An episode opens when |sigma| reaches `band`; within it a score is
    reported only when |sigma| exceeds the episode's previous high by `growth` (20 %), and the episode ends once
    |sigma| has stayed below `band` for `rest_hours`. Outside reported moments the score is 0: one fault gives one or
    a few detections, not hundreds.
    """

    name = "sustained"
    basis = "hour"
    params: ClassVar[Mapping[str, float]] = {
        "memory_days": 7.0,
        "warmup": 5,
        "warmup_days": 3.0,
        "sustain_hours": 6.0,
        "band": 2.0,
        "growth": 1.2,
        "rest_hours": 12.0,
    }
    default_sigma = 2.5
    default_clear_sigma = 2.0
    default_clear_minutes = 12 * 60.0

    def __init__(self, **params: Any) -> None:
        self.memory_days = _positive(params, "memory_days", self.params["memory_days"])
        self.warmup = _integer(params, "warmup", int(self.params["warmup"]))
        self.sustain = _positive(params, "sustain_hours", self.params["sustain_hours"]) * HOUR
        self.band = _positive(params, "band", self.params["band"])
        self.growth = _positive(params, "growth", self.params["growth"])
        if self.growth < 1.0:
            raise InvalidDetector("growth", f"must be at least 1, got {self.growth!r}")
        self.rest = _positive(params, "rest_hours", self.params["rest_hours"]) * HOUR
        self.warmup_days = _non_negative(params, "warmup_days", self.params["warmup_days"])
        self.baseline = SeasonalBaseline(self.memory_days, self.warmup, self.warmup_days)
        self.smoothed: float | None = None
        self.episode_high = 0.0
        self.in_episode = False
        self.calm_since: float | None = None

    def update(self, at: float, local_hour: int, value: float) -> Assessment:
        known = self.baseline.expected(local_hour)
        gap = self.baseline.learn(at, local_hour, value)
        if known is None:
            return NOT_READY
        expected, spread = known
        point = (value - expected) / max(spread, TINY)
        if self.smoothed is None:
            self.smoothed = point
        else:
            self.smoothed += (1.0 - math.exp(-gap / self.sustain)) * (point - self.smoothed)
        sigma = self.smoothed if abs(self.smoothed) >= abs(point) / 3.0 else point / 3.0
        magnitude = abs(sigma)

        if self.in_episode:
            if magnitude < self.band:
                if self.calm_since is None:
                    self.calm_since = at
                if at - self.calm_since >= self.rest:
                    self.in_episode = False
                    self.episode_high = 0.0
                    self.calm_since = None
            else:
                self.calm_since = None
        score = 0.0
        if magnitude >= self.band and magnitude > self.episode_high * self.growth:
            score = _score_from_sigma(magnitude)
            self.episode_high = magnitude
            self.in_episode = True
            self.calm_since = None
        return Assessment(score, sigma, expected, spread, True)

    def state(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.state(),
            "smoothed": self.smoothed,
            "episode_high": self.episode_high,
            "in_episode": self.in_episode,
            "calm_since": self.calm_since,
        }

    def load(self, state: Mapping[str, Any]) -> None:
        self.baseline.load(state["baseline"])
        self.smoothed = None if state["smoothed"] is None else float(state["smoothed"])
        self.episode_high = float(state["episode_high"])
        self.in_episode = bool(state["in_episode"])
        self.calm_since = None if state["calm_since"] is None else float(state["calm_since"])


class EwmaDetector(Detector):
    """Exponentially weighted mean and variance with a memory of `memory_hours`; σ = (value − mean) / std."""

    name = "ewma"
    basis = "recent"
    params: ClassVar[Mapping[str, float]] = {"memory_hours": 24.0, "warmup": 12}
    default_sigma = 4.0
    default_clear_sigma = 2.0
    default_clear_minutes = 60.0

    def __init__(self, **params: Any) -> None:
        self.memory = _positive(params, "memory_hours", self.params["memory_hours"]) * HOUR
        self.warmup = _integer(params, "warmup", int(self.params["warmup"]))
        self.count = 0
        self.mean = 0.0
        self.variance = 0.0
        self.last_at: float | None = None

    def update(self, at: float, local_hour: int, value: float) -> Assessment:
        ready = self.count >= self.warmup and self.variance > 0
        if ready:
            std = math.sqrt(self.variance)
            sigma = (value - self.mean) / std
            assessment = Assessment(_score_from_sigma(sigma), sigma, self.mean, std, True)
        else:
            assessment = NOT_READY
        self.count += 1
        gap = 0.0 if self.last_at is None else max(0.0, at - self.last_at)
        self.last_at = at
        alpha = max(1.0 / self.count, 1.0 - math.exp(-gap / self.memory))
        delta = value - self.mean
        self.mean += alpha * delta
        self.variance = (1.0 - alpha) * (self.variance + alpha * delta * delta)
        return assessment

    def state(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean, "variance": self.variance, "last_at": self.last_at}

    def load(self, state: Mapping[str, Any]) -> None:
        self.count = int(state["count"])
        self.mean = float(state["mean"])
        self.variance = float(state["variance"])
        self.last_at = None if state["last_at"] is None else float(state["last_at"])


def gaussian_tail(x: float, mean: float, std: float) -> float:
    """P(X > |x − mean|) for X ~ N(mean, std²) folded to the side of x: NAB's `normalProbability`."""
    z = abs(x - mean) / std
    return 0.5 * math.erfc(z / SQRT2)


class WindowedGaussianDetector(Detector):
    """NAB's windowed-Gaussian detector: the value's Gaussian tail probability under the last `window` values.

    Until the window is full, the mean and standard deviation are refreshed after every value; after that, values
    are collected `step` at a time and the window slides forward by `step` at once. The score of the very first
    value is 0. This follows `nab/detectors/gaussian/windowedGaussian_detector.py` in NAB v1.1.
    """

    name = "windowed_gaussian"
    basis = "recent"
    params: ClassVar[Mapping[str, float]] = {"window": 6400, "step": 100}
    default_sigma = 4.0
    default_clear_sigma = 2.0
    default_clear_minutes = 60.0

    def __init__(self, **params: Any) -> None:
        self.window_size = _integer(params, "window", int(self.params["window"]), minimum=2)
        self.step_size = _integer(params, "step", int(self.params["step"]))
        self.window: list[float] = []
        self.pending: list[float] = []
        self.mean = 0.0
        self.std = 1.0
        # Running sums while the window fills, so that refreshing after every value stays O(1).
        self._sum = 0.0
        self._sum_squares = 0.0

    def update(self, at: float, local_hour: int, value: float) -> Assessment:
        if self.window:
            score = 1.0 - gaussian_tail(value, self.mean, self.std)
            sigma = (value - self.mean) / self.std
            assessment = Assessment(score, sigma, self.mean, self.std, True)
        else:
            assessment = Assessment(0.0, 0.0, None, None, False)
        if len(self.window) < self.window_size:
            self.window.append(value)
            self._sum += value
            self._sum_squares += value * value
            count = len(self.window)
            mean = self._sum / count
            self._set(mean, math.sqrt(max(0.0, self._sum_squares / count - mean * mean)))
        else:
            self.pending.append(value)
            if len(self.pending) == self.step_size:
                self.window = self.window[self.step_size :] + self.pending
                self.pending = []
                self._refresh()
        return assessment

    def _set(self, mean: float, std: float) -> None:
        self.mean = mean
        self.std = std if std > 0.0 else 0.000001

    def _refresh(self) -> None:
        count = len(self.window)
        mean = math.fsum(self.window) / count
        self._set(mean, math.sqrt(math.fsum((x - mean) ** 2 for x in self.window) / count))
        self._sum = math.fsum(self.window)
        self._sum_squares = math.fsum(x * x for x in self.window)

    def state(self) -> dict[str, Any]:
        return {"window": list(self.window), "pending": list(self.pending), "mean": self.mean, "std": self.std}

    def load(self, state: Mapping[str, Any]) -> None:
        self.window = [float(x) for x in state["window"]]
        self.pending = [float(x) for x in state["pending"]]
        self.mean = float(state["mean"])
        self.std = float(state["std"])
        self._sum = math.fsum(self.window)
        self._sum_squares = math.fsum(x * x for x in self.window)


DEFAULT_DETECTOR = "sustained"
DETECTORS: dict[str, type[Detector]] = {
    cls.name: cls for cls in (SustainedDetector, SeasonalDetector, EwmaDetector, WindowedGaussianDetector)
}
ALIASES = {"default": DEFAULT_DETECTOR}


def detector_class(name: str) -> type[Detector]:
    resolved = ALIASES.get(name, name)
    if resolved not in DETECTORS:
        known = ", ".join(["default", *DETECTORS])
        raise InvalidDetector("detector", f"unknown detector {name!r} (known: {known})")
    return DETECTORS[resolved]


def make_detector(name: str, params: Mapping[str, Any]) -> Detector:
    """A fresh detector. `params` may hold other keys (the rule's own); only the detector's are read, all checked."""
    cls = detector_class(name)
    own = {key: value for key, value in params.items() if key in cls.params}
    return cls(**own)


def run_detector(name: str, moments: list[tuple[float, int]], values: list[float], **params: Any) -> list[Assessment]:
    """Feed a whole series (epoch seconds, local hour) through a fresh detector; used by the NAB scorer and tests."""
    detector = make_detector(name, params)
    return [detector.update(at, hour, value) for (at, hour), value in zip(moments, values, strict=True)]
