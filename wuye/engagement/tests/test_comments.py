"""The comment classifier: clear cases, negation, the labelled sets, the committed model and the documented figures."""

import re
import socket
import tempfile
from pathlib import Path

import pytest

from wuye.engagement import comments
from wuye.engagement.comments import classify, normalise, read_lexicon
from wuye.engagement.management.commands.comments_train import model_differences

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "engagement.md"


@pytest.mark.parametrize(
    ("text", "dimension", "sentiment"),
    [
        ("楼道里的垃圾好几天没人清理", "cleaning", "negative"),
        ("保洁阿姨很勤快，楼道很干净", "cleaning", "positive"),
        ("草坪枯死了一大片也没人补种", "greening", "negative"),
        ("园林工人把花园打理得很漂亮", "greening", "positive"),
        ("保安晚上从来不巡逻", "security", "negative"),
        ("门岗保安很负责", "security", "positive"),
        ("电梯坏了三天还没修好", "engineering", "negative"),
        ("维修师傅很专业，很快就修好了", "engineering", "positive"),
        ("客服电话一直打不通", "customer_service", "negative"),
        ("前台客服态度很热情", "customer_service", "positive"),
    ],
)
def test_clear_comment_lands_in_its_dimension_with_its_sentiment(text, dimension, sentiment):
    verdict = classify(text)
    assert verdict.dimensions == (dimension,)
    assert verdict.sentiment == sentiment
    assert verdict.scores[dimension] >= 0.4
    assert verdict.scores[sentiment] == max(verdict.scores[s] for s in comments.SENTIMENTS)


@pytest.mark.parametrize(
    ("praise", "complaint"),
    [
        ("保洁很干净", "保洁不干净"),
        ("客服态度好", "客服态度不好"),
        ("维修很及时", "维修不及时"),
        ("保安很负责", "保安不负责"),
        ("绿化很好", "绿化不好"),
    ],
)
def test_a_negator_flips_the_sentiment(praise, complaint):
    assert classify(praise).sentiment == "positive"
    assert classify(complaint).sentiment == "negative"


@pytest.mark.parametrize("negator", ["不", "没", "没有", "未", "不太", "一点也不"])
def test_the_lexicon_reads_a_negated_praise_as_a_complaint(negator):
    reading = read_lexicon(normalise(f"楼道{negator}干净"))
    assert reading.positive == 0
    assert reading.negative > 0
    assert reading.negated == 1


def test_a_negated_complaint_reads_as_mild_praise():
    plain = read_lexicon(normalise("楼道有异味"))
    denied = read_lexicon(normalise("楼道没有异味"))
    assert plain.negative > 0 and plain.positive == 0
    assert denied.positive > 0 and denied.negative == 0
    assert denied.positive < plain.negative


def test_a_softening_negator_makes_a_milder_complaint_than_a_plain_one():
    assert 0 < read_lexicon(normalise("不太干净")).negative < read_lexicon(normalise("不干净")).negative


def test_degree_words_scale_the_strength():
    weak = read_lexicon(normalise("有点脏")).negative
    plain = read_lexicon(normalise("脏")).negative
    strong = read_lexicon(normalise("非常脏")).negative
    assert weak < plain < strong


def test_words_that_begin_with_a_negator_keep_their_own_meaning():
    assert read_lexicon(normalise("服务不错")).positive > 0
    assert read_lexicon(normalise("服务不错")).negated == 0
    assert read_lexicon(normalise("出了事没人管")).negative > 0


def test_the_clause_after_a_contrast_word_weighs_more():
    reading = read_lexicon(normalise("保洁很好，但是电梯很差"))
    assert reading.contrast
    assert reading.negative > reading.positive


def test_comment_about_two_dimensions_gets_both():
    verdict = classify("垃圾桶满了没人收，电梯也坏了好几天")
    assert set(verdict.dimensions) == {"cleaning", "engineering"}
    assert verdict.sentiment == "negative"


def test_keywords_name_the_lexicon_words_in_order():
    assert classify("电梯又坏了，物业也不管").keywords[:3] == ("电梯", "坏", "不管")


@pytest.mark.parametrize("text", ["", "   ", "，。！"])
def test_empty_comment_is_neutral_with_no_dimension(text):
    verdict = classify(text)
    assert verdict.dimensions == ()
    assert verdict.sentiment == "neutral"


def test_full_width_text_and_known_typos_are_normalised():
    assert normalise("ＡＰＰ上电悌坏了！") == "app上电梯坏了!"


# ---------------------------------------------------------------- the labelled sets


def _bigrams(text: str) -> set[str]:
    plain = re.sub(r"[\W_]+", "", text)
    return {plain[i : i + 2] for i in range(len(plain) - 1)} or {plain}


def test_labelled_sets_have_valid_labels_and_enough_test_comments():
    train = comments.read_labelled(comments.TRAIN_PATH)
    test = comments.read_labelled(comments.TEST_PATH)
    assert len(test) >= 300
    assert len(train) >= 300
    for rows in (train, test):
        assert {row.sentiment for row in rows} == set(comments.SENTIMENTS)
        assert {d for row in rows for d in row.dimensions} == set(comments.DIMENSIONS)


def test_training_and_test_sets_share_no_comment_nor_a_near_duplicate():
    train = comments.read_labelled(comments.TRAIN_PATH)
    test = comments.read_labelled(comments.TEST_PATH)
    plain = lambda text: re.sub(r"[\W_]+", "", text)  # noqa: E731
    assert not {plain(row.text) for row in train} & {plain(row.text) for row in test}
    train_grams = [(row.text, _bigrams(row.text)) for row in train]
    near = []
    for row in test:
        grams = _bigrams(row.text)
        for text, other in train_grams:
            if len(grams & other) / len(grams | other) >= 0.6:
                near.append((row.text, text))
    assert near == []


def test_no_comment_appears_twice_within_a_set():
    for path in (comments.TRAIN_PATH, comments.TEST_PATH):
        texts = [re.sub(r"[\W_]+", "", row.text) for row in comments.read_labelled(path)]
        assert len(texts) == len(set(texts)), path.name


# ---------------------------------------------------------------- the committed model and the documented figures


def test_committed_model_was_trained_on_the_committed_training_file():
    assert comments.load_model().trained_on["sha256"] == comments.file_digest(comments.TRAIN_PATH)


def test_retraining_reproduces_the_committed_model():
    rows = comments.read_labelled(comments.TRAIN_PATH)
    retrained = comments.train(rows, comments.Settings(), trained_on=comments.training_source())
    assert model_differences(comments.load_model(), retrained) == []


def _documented_figures() -> dict[str, float]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- comments-evaluation:start -->")[1].split("<!-- comments-evaluation:end -->")[0]
    figures = {}
    for line in block.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and re.fullmatch(r"\d+\.\d", cells[1]):
            figures[cells[0]] = float(cells[1])
        elif len(cells) == 5 and cells[0] in comments.DIMENSIONS:
            figures[f"{cells[0]} precision"] = float(cells[2])
            figures[f"{cells[0]} recall"] = float(cells[3])
            figures[f"{cells[0]} f1"] = float(cells[4])
    return figures


def test_the_evaluation_reproduces_the_figures_in_the_docs():
    rows = comments.read_labelled(comments.TEST_PATH)
    result = comments.evaluate(rows, comments.classify_many([row.text for row in rows]))
    measured = {
        "dimensions exactly right": result.exact_accuracy,
        "sentiment right": result.sentiment_accuracy,
        "both right": result.both_accuracy,
        "dimension micro-F1": result.micro_f1,
        "dimension macro-F1": result.macro_f1,
        **{f"sentiment recall, {label}": value for label, value in result.sentiment_recall.items()},
    }
    for score in result.per_dimension:
        measured[f"{score.dimension} precision"] = score.precision
        measured[f"{score.dimension} recall"] = score.recall
        measured[f"{score.dimension} f1"] = score.f1
    documented = _documented_figures()
    assert set(documented) == set(measured)
    for name, value in measured.items():
        assert abs(100 * value - documented[name]) <= 0.05, name


def test_evaluation_counts_a_missed_and_an_extra_dimension():
    rows = [
        comments.LabelledComment("a", ("cleaning",), "negative"),
        comments.LabelledComment("b", ("engineering",), "positive"),
    ]
    verdicts = [
        comments.CommentVerdict(("cleaning", "security"), "negative", {}, ()),
        comments.CommentVerdict((), "negative", {}, ()),
    ]
    result = comments.evaluate(rows, verdicts)
    assert result.exact_accuracy == 0
    assert result.sentiment_accuracy == 0.5
    scores = {score.dimension: score for score in result.per_dimension}
    assert (scores["cleaning"].precision, scores["cleaning"].recall) == (1, 1)
    assert (scores["security"].precision, scores["security"].support) == (0, 0)
    assert (scores["engineering"].recall, scores["engineering"].support) == (0, 1)


# ---------------------------------------------------------------- offline


def test_segmenter_cache_lives_in_the_temp_dir_not_the_repository():
    tokenizer = comments._tokenizer()
    cache = Path(tokenizer.tmp_dir) / tokenizer.cache_file
    assert Path(tokenizer.tmp_dir) == Path(tempfile.gettempdir())
    assert REPO not in cache.resolve().parents


def test_classifying_needs_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the classifier tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    comments._tokenizer.cache_clear()
    comments._committed_model.cache_clear()
    try:
        assert classify("电梯坏了").dimensions == ("engineering",)
    finally:
        comments._tokenizer.cache_clear()
        comments._committed_model.cache_clear()
