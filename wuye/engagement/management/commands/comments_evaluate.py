"""Measure the committed comment classifier on the held-out test set (data/comments_test.csv).

manage.py comments_evaluate              # the figures docs/engagement.md quotes
manage.py comments_evaluate --ablation   # also: the lexicon alone, and the model trained without the lexicon
manage.py comments_evaluate --errors     # also: every test comment it gets wrong
"""

from django.core.management.base import BaseCommand

from wuye.engagement import comments


class Command(BaseCommand):
    help = "Accuracy, per-dimension precision/recall/F1 and sentiment accuracy of the comment classifier."

    def add_arguments(self, parser):
        parser.add_argument("--ablation", action="store_true")
        parser.add_argument("--errors", action="store_true")

    def handle(self, *args, ablation: bool, errors: bool, **options):
        rows = comments.read_labelled(comments.TEST_PATH)
        analyses = [comments.analyse(row.text) for row in rows]
        verdicts = comments.predict(comments.load_model(), analyses)
        self.stdout.write(comments.evaluation_table(comments.evaluate(rows, verdicts)))
        if ablation:
            self.stdout.write("\nAblation on the same test set:")
            self._line("lexicon alone (no trained model)", rows, [comments.lexicon_only(a) for a in analyses])
            training = comments.read_labelled(comments.TRAIN_PATH)
            settings = comments.Settings(use_lexicon=False)
            words_only = comments.train(training, settings)
            self._line("model on words only (no lexicon features)", rows, comments.predict(words_only, analyses))
            self._line("model with lexicon features (committed)", rows, verdicts)
        if errors:
            self.stdout.write("\nMistakes (text | expected | got):")
            for row, verdict in zip(rows, verdicts, strict=True):
                if set(row.dimensions) != set(verdict.dimensions) or row.sentiment != verdict.sentiment:
                    expected = "|".join(row.dimensions) or "-"
                    got = "|".join(verdict.dimensions) or "-"
                    self.stdout.write(f"  {row.text} | {expected} {row.sentiment} | {got} {verdict.sentiment}")

    def _line(self, label: str, rows, verdicts) -> None:
        result = comments.evaluate(rows, verdicts)
        self.stdout.write(
            f"  {label}: dimensions exact {comments.percent(result.exact_accuracy)} %, "
            f"micro-F1 {comments.percent(result.micro_f1)} %, sentiment {comments.percent(result.sentiment_accuracy)} %"
        )
