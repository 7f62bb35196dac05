"""The Numenta Anomaly Benchmark (NAB) scorer, standard profile, re-implemented from NAB v1.1's `sweeper.py`.

NAB judges a detector that gives every record an anomaly score in [0, 1]. A threshold turns scores into detections:
a record whose score is at or above the threshold is a detection. Each labelled anomaly window earns the weight of
its *earliest* detection, a scaled sigmoid of the position in the window (first record ≈ +1.0, last record ≈ 0);
a window without a detection costs −A_FN. A detection outside every window is a false positive costing A_FP times a
sigmoid of its distance past the end of the preceding window (so a detection just after a window costs little,
one far from any window the full −A_FP). Records in the probationary period at the start of each file, when a
detector is still learning, are left out entirely.

The raw score of a set of files is normalised so that the null detector (no useful output) scores 0 and the perfect
detector (a detection at the first record of every window, nothing else) scores 100:
``100 · (raw − raw_null) / (raw_perfect − raw_null)``, where ``raw_perfect`` is the number of windows times A_TP.

As in NAB, one threshold per detector is chosen for the whole set of files: the one with the best raw score over all
thresholds the detector's own scores produce (NAB's `optimizer.py` sweeps exactly those). Every detector, the
windowed-Gaussian baseline included, gets the same treatment.

Nothing here knows Django; only the loaders at the end read files (the repository's copy under data/nab/).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wuye.iot.detectors import run_detector
from wuye.iot.rules import RAISE, Reading, parse_rule_spec, replay_changes

DATA_DIR = Path(__file__).resolve().parent / "data" / "nab"
NAB_FILES = (
    "machine_temperature_system_failure.csv",
    "ambient_temperature_system_failure.csv",
)
WINDOWS_FILE = "combined_windows.json"
WINDOWS_PREFIX = "realKnownCause/"
NAB_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")

# NAB caps the probationary period at 15 % of 5,000 records (750) for long files.
PROBATION_CAP_RECORDS = 5000


@dataclass(frozen=True)
class CostMatrix:
    """The weights of a NAB application profile. `fp` and `fn` are given as positive costs, as in NAB's profiles."""

    tp: float
    fp: float
    fn: float


STANDARD = CostMatrix(tp=1.0, fp=0.11, fn=1.0)


@dataclass(frozen=True, slots=True)
class ScoredRecord:
    """One record as the sweep sees it: its anomaly score, what a detection there would be worth, and its window.

    `window` is None outside every window; probationary records are not kept at all.
    """

    anomaly_score: float
    weight: float
    window: str | None


@dataclass(frozen=True)
class ThresholdScore:
    threshold: float
    raw: float
    tp: int
    tn: int
    fp: int
    fn: int


def scaled_sigmoid(relative_position: float) -> float:
    """NAB's weighting curve: −1.0 (window start) → 0.987, 0.0 (window end) → 0, +1.0 → −0.987, beyond 3 → −1."""
    if relative_position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * relative_position)) - 1.0


def probationary_length(record_count: int, probation_percent: float = 0.15) -> float:
    """How many leading records are ignored: 15 % of the file, at most 750 records (NAB's `_getProbationaryLength`)."""
    return min(math.floor(probation_percent * record_count), probation_percent * PROBATION_CAP_RECORDS)


def sweep_records(
    timestamps: Sequence[dt.datetime],
    anomaly_scores: Sequence[float],
    windows: Sequence[tuple[dt.datetime, dt.datetime]],
    file_name: str,
    cost: CostMatrix = STANDARD,
    probation_percent: float = 0.15,
) -> list[ScoredRecord]:
    """What a detection at each record of one file would score (NAB `Sweeper.calcSweepScore`).

    Windows must be given in time order, and their limits must be timestamps of the file (NAB's labels are).
    """
    if len(timestamps) != len(anomaly_scores):
        raise ValueError("timestamps and anomaly_scores differ in length")
    index_of = {moment: index for index, moment in enumerate(timestamps)}
    spans = []
    for start, end in sorted(windows):
        if start not in index_of or end not in index_of:
            raise ValueError(f"window {start}–{end} does not start and end on records of {file_name}")
        spans.append((index_of[start], index_of[end], f"{file_name}|{start.isoformat()}"))

    max_tp = scaled_sigmoid(-1.0)
    probation = probationary_length(len(timestamps), probation_percent)
    window_at: list[tuple[int, int, str] | None] = [None] * len(timestamps)
    for span in spans:
        for index in range(span[0], span[1] + 1):
            window_at[index] = span

    records = []
    previous_end: int | None = None
    previous_width = 0.0
    for index, score in enumerate(anomaly_scores):
        span = window_at[index]
        if span is not None:
            first, last, name = span
            width = float(last - first + 1)
            weight = scaled_sigmoid(-(last - index + 1) / width) * cost.tp / max_tp
        else:
            name = None
            if previous_end is None:
                unweighted = -1.0
            else:
                unweighted = scaled_sigmoid(abs(previous_end - index) / (previous_width - 1.0))
            weight = unweighted * cost.fp
        if index >= probation:
            records.append(ScoredRecord(float(score), weight, name))
        if span is not None and index == span[1]:
            previous_end = index
            previous_width = float(span[1] - span[0] + 1)
    return records


def window_names(records: Iterable[ScoredRecord]) -> set[str]:
    return {record.window for record in records if record.window is not None}


def scores_by_threshold(records: Sequence[ScoredRecord], cost: CostMatrix = STANDARD) -> list[ThresholdScore]:
    """The raw score at every threshold the records' own anomaly scores produce (NAB `calcScoreByThreshold`).

    The first entry (threshold 1.1) is "no detection at all". A window's value is the best (earliest) detection in it.
    """
    ordered = sorted(records, key=lambda record: record.anomaly_score, reverse=True)
    window_value = dict.fromkeys(window_names(ordered), -cost.fn)
    fp_total = 0.0
    in_window = sum(1 for record in ordered if record.window is not None)
    tn, fn, tp, fp = len(ordered) - in_window, in_window, 0, 0
    threshold = 1.1
    results = []
    for record in ordered:
        if record.anomaly_score != threshold:
            results.append(ThresholdScore(threshold, fp_total + sum(window_value.values()), tp, tn, fp, fn))
            threshold = record.anomaly_score
        if record.window is None:
            fp += 1
            tn -= 1
            fp_total += record.weight
        else:
            tp += 1
            fn -= 1
            if record.weight > window_value[record.window]:
                window_value[record.window] = record.weight
    results.append(ThresholdScore(threshold, fp_total + sum(window_value.values()), tp, tn, fp, fn))
    return results


def score_at(records: Sequence[ScoredRecord], threshold: float, cost: CostMatrix = STANDARD) -> ThresholdScore:
    """The raw score when every record scoring at least `threshold` is a detection (NAB `Sweeper.scoreDataSet`)."""
    window_value = dict.fromkeys(window_names(records), -cost.fn)
    fp_total = 0.0
    tp = tn = fp = fn = 0
    for record in records:
        detected = record.anomaly_score >= threshold
        if record.window is None:
            if detected:
                fp += 1
                fp_total += record.weight
            else:
                tn += 1
        elif detected:
            tp += 1
            if record.weight > window_value[record.window]:
                window_value[record.window] = record.weight
        else:
            fn += 1
    return ThresholdScore(threshold, fp_total + sum(window_value.values()), tp, tn, fp, fn)


def best_threshold(records: Sequence[ScoredRecord], cost: CostMatrix = STANDARD) -> ThresholdScore:
    """NAB's threshold optimisation: the swept threshold with the highest raw score (the highest threshold on ties)."""
    return max(scores_by_threshold(records, cost), key=lambda row: row.raw)


def perfect_raw(window_count: int, cost: CostMatrix = STANDARD) -> float:
    return window_count * cost.tp


def null_raw(records: Sequence[ScoredRecord], cost: CostMatrix = STANDARD) -> float:
    """The raw score of NAB's null detector (a constant 0.5 everywhere) with its own optimised threshold."""
    constant = [ScoredRecord(0.5, record.weight, record.window) for record in records]
    return best_threshold(constant, cost).raw


def normalised(raw: float, null: float, perfect: float) -> float:
    """100 · (raw − null) / (perfect − null): the null detector scores 0, the perfect one 100."""
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True)
class FileResult:
    file_name: str
    raw: ThresholdScore
    null: float
    perfect: float

    @property
    def score(self) -> float:
        return normalised(self.raw.raw, self.null, self.perfect)


@dataclass(frozen=True)
class CorpusResult:
    """A detector's NAB result on a set of files with one optimised threshold."""

    threshold: float
    files: tuple[FileResult, ...]

    @property
    def raw(self) -> float:
        return sum(result.raw.raw for result in self.files)

    @property
    def null(self) -> float:
        return sum(result.null for result in self.files)

    @property
    def perfect(self) -> float:
        return sum(result.perfect for result in self.files)

    @property
    def score(self) -> float:
        return normalised(self.raw, self.null, self.perfect)


def score_corpus(
    files: Sequence[tuple[str, list[ScoredRecord]]],
    cost: CostMatrix = STANDARD,
    threshold: float | None = None,
) -> CorpusResult:
    """Score one detector on several files: optimise one threshold over all of them (unless given), then per file.

    `files` holds (file name, `sweep_records(...)` of that file with the detector's scores).
    """
    if threshold is None:
        threshold = best_threshold([record for _, records in files for record in records], cost).threshold
    results = []
    for file_name, records in files:
        results.append(
            FileResult(
                file_name=file_name,
                raw=score_at(records, threshold, cost),
                null=null_raw(records, cost),
                perfect=perfect_raw(len(window_names(records)), cost),
            )
        )
    return CorpusResult(threshold=threshold, files=tuple(results))


# ---------------------------------------------------------------------------------------------------------------------
# Reading NAB's files


def parse_nab_time(text: str, tz: dt.tzinfo = dt.UTC) -> dt.datetime:
    """NAB timestamps are naive wall-clock readings; they are read as local time in `tz`."""
    text = text.strip()
    for time_format in NAB_TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, time_format).replace(tzinfo=tz)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a NAB timestamp (YYYY-MM-DD HH:MM:SS)")


def load_nab_csv(path: Path, tz: dt.tzinfo = dt.UTC) -> tuple[list[dt.datetime], list[float]]:
    timestamps, values = [], []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            timestamps.append(parse_nab_time(row["timestamp"], tz))
            values.append(float(row["value"]))
    return timestamps, values


def load_windows(
    file_name: str, path: Path | None = None, tz: dt.tzinfo = dt.UTC
) -> list[tuple[dt.datetime, dt.datetime]]:
    path = path or DATA_DIR / WINDOWS_FILE
    labels = json.loads(path.read_text(encoding="utf-8"))
    return [(parse_nab_time(start, tz), parse_nab_time(end, tz)) for start, end in labels[WINDOWS_PREFIX + file_name]]


# ---------------------------------------------------------------------------------------------------------------------
# Running detectors over the NAB files


@dataclass(frozen=True)
class NabFile:
    name: str
    timestamps: list[dt.datetime]
    values: list[float]
    windows: list[tuple[dt.datetime, dt.datetime]]


@dataclass(frozen=True)
class DetectorRow:
    """One line of the NAB table: a detector's result, with windows caught and false-positive detections per file."""

    label: str
    result: CorpusResult
    windows_caught: tuple[int, ...]
    false_positives: tuple[int, ...]


def load_files(data_dir: Path | None = None, names: Sequence[str] = NAB_FILES) -> list[NabFile]:
    data_dir = data_dir or DATA_DIR
    files = []
    for name in names:
        timestamps, values = load_nab_csv(data_dir / name)
        files.append(NabFile(name, timestamps, values, load_windows(name, data_dir / WINDOWS_FILE)))
    return files


def detector_scores(name: str, nab_file: NabFile, params: Mapping[str, float] | None = None) -> list[float]:
    """A detector's per-record anomaly scores over one file (local hour = the file's own wall-clock hour)."""
    moments = [(moment.timestamp(), moment.hour) for moment in nab_file.timestamps]
    return [assessment.score for assessment in run_detector(name, moments, nab_file.values, **(params or {}))]


def alarm_rule_scores(spec: str, nab_file: NabFile) -> list[float]:
    """1.0 at every record where the alarm rule `spec` raises an alarm (replayed through the Engine), else 0."""
    rule = parse_rule_spec(spec, metric="value")
    readings = [
        Reading(1, "value", moment, value) for moment, value in zip(nab_file.timestamps, nab_file.values, strict=True)
    ]
    raised = {change.at for change in replay_changes([rule], readings) if change.change == RAISE}
    return [1.0 if moment in raised else 0.0 for moment in nab_file.timestamps]


def perfect_scores(nab_file: NabFile) -> list[float]:
    starts = {start for start, _ in nab_file.windows}
    return [1.0 if moment in starts else 0.0 for moment in nab_file.timestamps]


def score_files(label: str, files: Sequence[NabFile], scores: Sequence[Sequence[float]]) -> DetectorRow:
    """NAB's standard profile with one optimised threshold over all files, plus what the detections were."""
    swept = [
        (nab_file.name, sweep_records(nab_file.timestamps, file_scores, nab_file.windows, nab_file.name))
        for nab_file, file_scores in zip(files, scores, strict=True)
    ]
    result = score_corpus(swept)
    caught, false_positives = [], []
    for _, records in swept:
        detected = [record for record in records if record.anomaly_score >= result.threshold]
        caught.append(len({record.window for record in detected if record.window is not None}))
        false_positives.append(sum(1 for record in detected if record.window is None))
    return DetectorRow(label, result, tuple(caught), tuple(false_positives))
