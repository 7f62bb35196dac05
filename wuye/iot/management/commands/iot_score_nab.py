"""Score the anomaly detectors on the NAB sensor files (standard profile) beside NAB's windowed-Gaussian baseline.

    manage.py iot_score_nab [--markdown] [--sensitivity] [--detectors sustained seasonal ewma] [--data-dir DIR]

Every detector runs over both files in the same process, and every one gets the same treatment (NAB's): a single
threshold, optimised over both files together, turns its scores into detections; per-file and total scores are
normalised so that NAB's null detector scores 0 and the perfect detector 100. Reference rows: the perfect detector
(must print 100) and the null detector (0), run through the same code. The default detector is also scored as the
alarm rule people switch on (``anomaly:default`` with its fixed default threshold, replayed through the Engine):
each alarm raised is one detection. docs/iot.md shows the table.
"""

import itertools
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from wuye.iot import nab
from wuye.iot.detectors import DEFAULT_DETECTOR, DETECTORS

BASELINE = "windowed_gaussian"
GOAL_RATIO = 1.5


def ratio_text(score: float, baseline: float) -> str:
    return f"{score / baseline:.2f}×" if baseline > 0 else "n/a"


class Command(BaseCommand):
    help = "Score the IoT anomaly detectors on the NAB sensor files beside NAB's windowed-Gaussian baseline."

    def add_arguments(self, parser):
        parser.add_argument(
            "--detectors",
            nargs="+",
            choices=[name for name in DETECTORS if name != BASELINE],
            default=[name for name in DETECTORS if name != BASELINE],
            help="Our detectors to score (the baseline always runs).",
        )
        parser.add_argument("--data-dir", type=Path, default=nab.DATA_DIR, help="Folder with the NAB files.")
        parser.add_argument("--markdown", action="store_true", help="Print the table as Markdown (for docs/iot.md).")
        parser.add_argument(
            "--sensitivity",
            action="store_true",
            help="Also score the default detector with neighbouring settings (smoothing time, episode growth).",
        )

    def handle(self, *args, **options):
        try:
            files = nab.load_files(options["data_dir"])
        except (OSError, KeyError, ValueError) as error:
            raise CommandError(f"--data-dir: cannot load the NAB files: {error}") from None

        rows = [nab.score_files("perfect (reference)", files, [nab.perfect_scores(f) for f in files])]
        rows.append(nab.score_files("null (reference)", files, [[0.5] * len(f.values) for f in files]))
        baseline_scores = [nab.detector_scores(BASELINE, f) for f in files]
        baseline = nab.score_files(f"{BASELINE} (NAB baseline)", files, baseline_scores)
        rows.append(baseline)
        for name in options["detectors"]:
            label = f"{name} (default)" if name == DEFAULT_DETECTOR else name
            rows.append(nab.score_files(label, files, [nab.detector_scores(name, f) for f in files]))
        if DEFAULT_DETECTOR in options["detectors"]:
            spec = "anomaly:default"
            alarm_scores = [nab.alarm_rule_scores(spec, f) for f in files]
            rows.append(nab.score_files(f"rule {spec} as alarms", files, alarm_scores))
        if options["sensitivity"]:
            rows.extend(self._sensitivity(files))

        short_names = [f.name.removesuffix("_system_failure.csv") for f in files]
        if options["markdown"]:
            self._markdown(rows, short_names, baseline.result.score)
        else:
            self._plain(rows, short_names, baseline.result.score)

        default_rows = [row for row in rows if row.label == f"{DEFAULT_DETECTOR} (default)"]
        if default_rows:
            score = default_rows[0].result.score
            met = "met" if score >= GOAL_RATIO * baseline.result.score else "NOT met"
            self.stdout.write(
                f"\nGoal ({GOAL_RATIO}× the baseline): {met}: default {score:.1f} vs baseline "
                f"{baseline.result.score:.1f} ({ratio_text(score, baseline.result.score)})"
            )

    def _plain(self, rows, short_names, baseline_score):
        header = f"{'detector':<34}{'threshold':>11}" + "".join(f"{name:>28}" for name in short_names)
        self.stdout.write(header + f"{'total':>8}{'vs baseline':>13}")
        for row in rows:
            cells = "".join(
                f"{file.score:>9.1f} ({caught}/{windows} win, {fp:>3} FP)"
                for file, caught, fp, windows in zip(
                    row.result.files, row.windows_caught, row.false_positives, self._window_counts(row), strict=True
                )
            )
            self.stdout.write(
                f"{row.label:<34}{row.result.threshold:>11.6f}{cells}{row.result.score:>8.1f}"
                f"{ratio_text(row.result.score, baseline_score):>13}"
            )

    def _markdown(self, rows, short_names, baseline_score):
        self.stdout.write(
            "| detector | threshold | " + " | ".join(short_names) + " | both files | vs baseline |\n"
            "|---|---:|" + "---:|" * len(short_names) + "---:|---:|"
        )
        for row in rows:
            cells = " | ".join(
                f"{file.score:.1f} ({caught}/{windows} windows, {fp} FP)"
                for file, caught, fp, windows in zip(
                    row.result.files, row.windows_caught, row.false_positives, self._window_counts(row), strict=True
                )
            )
            self.stdout.write(
                f"| {row.label} | {row.result.threshold:.6f} | {cells} | **{row.result.score:.1f}** | "
                f"{ratio_text(row.result.score, baseline_score)} |"
            )

    @staticmethod
    def _sensitivity(files):
        rows = []
        for sustain_hours, growth in itertools.product((4, 6, 8), (1.1, 1.2, 1.3, 1.5)):
            params = {"sustain_hours": sustain_hours, "growth": growth}
            label = f"{DEFAULT_DETECTOR} sustain_hours={sustain_hours} growth={growth}"
            scores = [nab.detector_scores(DEFAULT_DETECTOR, f, params) for f in files]
            rows.append(nab.score_files(label, files, scores))
        return rows

    @staticmethod
    def _window_counts(row):
        return [round(file.perfect) for file in row.result.files]
