"""Train the comment classifier on data/comments_train.csv and write data/comments_model.json.

    manage.py comments_train            # retrain with the settings in comments.Settings (what is committed)
    manage.py comments_train --search   # first compare the settings of SEARCH_GRID by 5-fold cross-validation
    manage.py comments_train --check    # exit 1 when the committed model is not what retraining gives

Settings are chosen on the training set only; the held-out test set is for `comments_evaluate`.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from wuye.engagement import comments


class Command(BaseCommand):
    help = "Train the comment classifier (dimensions and sentiment) and write data/comments_model.json."

    def add_arguments(self, parser):
        parser.add_argument("--search", action="store_true", help="Cross-validate SEARCH_GRID and print it first.")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--check", action="store_true", help="Only compare with the committed model.")

    def handle(self, *args, search: bool, folds: int, check: bool, **options):
        rows = comments.read_labelled(comments.TRAIN_PATH)
        analyses = [comments.analyse(row.text) for row in rows]
        if search:
            self.stdout.write(f"{folds}-fold cross-validation on {len(rows)} training comments:")
            for settings in comments.SEARCH_GRID:
                result = comments.cross_validate(rows, settings, folds=folds, analyses=analyses)
                self.stdout.write(
                    f"  C={settings.c_dimensions:g} min_count={settings.min_count} threshold={settings.threshold:g}: "
                    f"dimensions exact {comments.percent(result.exact_accuracy)} %, "
                    f"micro-F1 {comments.percent(result.micro_f1)} %, "
                    f"sentiment {comments.percent(result.sentiment_accuracy)} %"
                )
        model = comments.train(rows, comments.Settings(), trained_on=comments.training_source(), analyses=analyses)
        text = model.dumps()
        if check:
            committed = comments.load_model()
            problems = model_differences(committed, model)
            if problems:
                raise CommandError("The committed model is stale: " + "; ".join(problems))
            self.stdout.write("The committed model matches the training data.")
            return
        comments.MODEL_PATH.write_text(text, encoding="utf-8")
        self.stdout.write(
            f"Wrote {comments.MODEL_PATH.name}: {len(model.dimensions.features)} dimension features, "
            f"{len(model.sentiment.features)} sentiment features, settings {json.dumps(model.settings.__dict__)}."
        )


def model_differences(committed: comments.CommentModel, retrained: comments.CommentModel) -> list[str]:
    """Where a committed model differs from a fresh one (weights within 1e-3: L-BFGS may stop a hair apart on
    another BLAS)."""
    problems = []
    if committed.trained_on.get("sha256") != retrained.trained_on.get("sha256"):
        problems.append("the training file changed since the model was written")
    if committed.settings != retrained.settings:
        problems.append("the settings changed")
    for part in ("dimensions", "sentiment"):
        old, new = getattr(committed, part), getattr(retrained, part)
        if old.features != new.features:
            problems.append(f"{part}: different features")
        elif abs(old.weights - new.weights).max(initial=0) > 1e-3 or abs(old.bias - new.bias).max(initial=0) > 1e-3:
            problems.append(f"{part}: different weights")
    return problems
