"""Owners' free-text comments understood: which service dimensions a comment is about, and whether it praises,
complains or neither — offline, in Chinese.

    >>> classify("电梯又坏了，物业也不管")
    CommentVerdict(dimensions=('engineering',), sentiment='negative', scores={...}, keywords=('电梯', '坏', '不管'))

How it works (docs/engagement.md has the figures):
1. The text is normalised (full-width forms, case, misspellings seen in training) and cut into words by jieba
   (0.42.1; its dictionary ships inside the wheel, nothing is fetched, its prefix-dictionary cache is written to the
   system temp dir, never the repository).
2. The curated lexicon (`lexicon.py`) is read over the text: dimension terms, and praise / complaint terms with the
   negators (不/没/没有/未…) and degree words (很/太/有点…) right before them, and contrast words (但是/就是…) that
   make the later clause count more.
3. Two small linear models use the words and the lexicon's scores as features: a one-vs-rest logistic regression
   per dimension (a comment may be about several) and a three-class (softmax) logistic regression for sentiment.
   `train` fits them with scipy's L-BFGS on data/comments_train.csv; the weights are kept in data/comments_model.json
   (`manage.py comments_train`), and inference is plain numpy.

Everything here is pure: no ORM, no clock, no network. `classify` loads the committed model once per process.
"""

import csv
import functools
import hashlib
import json
import logging
import math
import re
import tempfile
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import lexicon
from .choices import Dimension, Sentiment

DIMENSIONS: tuple[str, ...] = tuple(Dimension.values)
SENTIMENTS: tuple[str, ...] = (Sentiment.POSITIVE.value, Sentiment.NEGATIVE.value, Sentiment.NEUTRAL.value)

DATA_DIR = Path(__file__).resolve().parent / "data"
TRAIN_PATH = DATA_DIR / "comments_train.csv"
TEST_PATH = DATA_DIR / "comments_test.csv"
MODEL_PATH = DATA_DIR / "comments_model.json"

# A comment longer than this is cut before it is read: owners' comments are short, and the cost stays bounded.
MAX_CHARS = 2000
MAX_KEYWORDS = 8


@dataclass(frozen=True)
class CommentVerdict:
    """What a comment is about and how the owner feels.

    `dimensions` in the fixed order of `Dimension` (empty: a general remark about the service as a whole);
    `scores` holds each dimension's probability and each sentiment's probability; `keywords` the lexicon words that
    were found, in the order they appear."""

    dimensions: tuple[str, ...]
    sentiment: str
    scores: dict[str, float]
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class LabelledComment:
    text: str
    dimensions: tuple[str, ...]
    sentiment: str


# ---------------------------------------------------------------- text


_WHITESPACE = re.compile(r"\s+")
_CLAUSE_SPLIT = re.compile(r"[,，。.!！?？;；:：~～、…\s\n\r\t]+")
_TOKEN_SKIP = re.compile(r"^[\W_\d]+$")
_PUNCTUATION = re.compile(r"[\W_]+")
_TYPOS = sorted(lexicon.TYPOS.items(), key=lambda item: -len(item[0]))


def normalise(text: str) -> str:
    """NFKC (full-width letters, digits and punctuation become ASCII), lower case, known misspellings corrected,
    whitespace runs collapsed; cut to MAX_CHARS."""
    text = unicodedata.normalize("NFKC", text or "")[:MAX_CHARS].lower()
    for wrong, right in _TYPOS:
        text = text.replace(wrong, right)
    return _WHITESPACE.sub(" ", text).strip()


@functools.cache
def _tokenizer():
    """A private jieba tokenizer with the lexicon's words added, so domain terms (消防通道, 充电桩…) stay whole.

    jieba builds a prefix dictionary from the dict.txt inside its wheel on first use and caches it as a pickle; the
    cache goes to the system temp dir under a name of our own (several processes may share it: jieba writes it to a
    temporary file and renames it into place)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = tempfile.gettempdir()
    tokenizer.cache_file = "wuye-jieba-0.42.1.cache"
    tokenizer.initialize()
    words = set()
    for terms in lexicon.DIMENSION_TERMS.values():
        words.update(terms)
    words.update(lexicon.POSITIVE_TERMS)
    words.update(lexicon.NEGATIVE_TERMS)
    words.update(lexicon.NOT_DIMENSION_TERMS)
    for word in sorted(word for word in words if len(word) > 1):
        tokenizer.add_word(word)
    return tokenizer


_tokenizer_lock = threading.Lock()


def tokens(normalised_text: str) -> list[str]:
    """jieba's words (dictionary path only, no HMM guessing: finer and steadier cuts), without punctuation and
    numbers."""
    with _tokenizer_lock:  # jieba's lazy initialisation and word additions are not thread-safe
        tokenizer = _tokenizer()
    return [token for token in tokenizer.lcut(normalised_text, HMM=False) if not _TOKEN_SKIP.match(token)]


def clauses(normalised_text: str) -> list[str]:
    return [part for part in _CLAUSE_SPLIT.split(normalised_text) if part]


# ---------------------------------------------------------------- lexicon reading


@dataclass(frozen=True)
class LexiconHit:
    """A lexicon word found in a comment: for a dimension word its dimension and weight; for a sentiment word its
    signed strength after negation and degree (positive praises, negative complains)."""

    term: str
    position: int
    value: float
    dimension: str = ""


@dataclass
class LexiconReading:
    """What the lexicon finds in one comment."""

    dimension_scores: dict[str, float]
    positive: float
    negative: float
    negated: int
    question: bool
    suggestion: bool
    contrast: bool
    no_opinion: bool
    hits: list[LexiconHit] = field(default_factory=list)

    @property
    def keywords(self) -> tuple[str, ...]:
        ordered: dict[str, None] = {}
        for hit in sorted(self.hits, key=lambda hit: hit.position):
            ordered.setdefault(hit.term, None)
        return tuple(ordered)[:MAX_KEYWORDS]


class _Trie:
    """Longest-match look-up of lexicon words starting at a position."""

    def __init__(self, words: Iterable[str]):
        self.words = frozenset(words)
        self.max_len = max((len(word) for word in self.words), default=0)

    def longest_at(self, text: str, start: int) -> str | None:
        for length in range(min(self.max_len, len(text) - start), 0, -1):
            if text[start : start + length] in self.words:
                return text[start : start + length]
        return None


def _dimension_table() -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for dimension, terms in lexicon.DIMENSION_TERMS.items():
        for term, weight in terms.items():
            table.setdefault(term, {})[dimension] = weight
    return table


_DIMENSION_WEIGHTS = _dimension_table()
_DIMENSION_TRIE = _Trie([*_DIMENSION_WEIGHTS, *lexicon.NOT_DIMENSION_TERMS, *lexicon.NEUTRAL_TERMS])
_SENTIMENT_WEIGHTS: dict[str, float] = {
    **dict(lexicon.POSITIVE_TERMS.items()),
    **{term: -weight for term, weight in lexicon.NEGATIVE_TERMS.items()},
}
_SENTIMENT_TRIE = _Trie([*_SENTIMENT_WEIGHTS, *lexicon.NEUTRAL_TERMS])
_NEGATORS = sorted(lexicon.NEGATORS, key=len, reverse=True)
_DEGREES = sorted(lexicon.DEGREE_WORDS.items(), key=lambda item: -len(item[0]))
# Negators that soften rather than reverse: 不太干净 is a milder complaint than 不干净.
_SOFT_NEGATORS = frozenset({"不太", "不怎么", "不够", "不是很"})


def _modifier_runs(text: str, start: int) -> list[tuple[int, int, float, bool]]:
    """Each way a run of negators and degree words starting at `start` can end, shortest first:
    (where it ends, negations, degree, softened). 很不耐烦 → [(1, 0, 1.3, False), (2, 1, 1.3, False)]. After a
    negator, fillers may follow (没再出问题)."""
    runs: list[tuple[int, int, float, bool]] = []
    position, negations, degree, softened = start, 0, 1.0, False
    for _ in range(5):
        negator = next((word for word in _NEGATORS if text.startswith(word, position)), None)
        if negator is not None:
            negations += 1
            softened = softened or negator in _SOFT_NEGATORS
            position += len(negator)
            runs.append((position, negations, degree, softened))
            while filler := next((w for w in lexicon.NEGATION_FILLERS if text.startswith(w, position)), None):
                position += len(filler)
                runs.append((position, negations, degree, softened))
            continue
        factor = next(((word, f) for word, f in _DEGREES if text.startswith(word, position)), None)
        if factor is None:
            break
        degree *= factor[1]
        position += len(factor[0])
        runs.append((position, negations, degree, softened))
    return runs


def _sentiment_hits(clause: str, offset: int) -> tuple[list[LexiconHit], int]:
    """Praise and complaint words of one clause with the negators and degree words right before them.

    At each position: the longest run of modifiers that is followed by a sentiment word modifies it (不+干净,
    很+不耐烦, 一点也不+干净, 不太+好); but a sentiment word starting at the position itself that is longer than that
    run is a word of its own (不错, 不管, 没人管, 好评). A word followed by 都没有 / 也没有 is denied too."""
    hits: list[LexiconHit] = []
    negated, position = 0, 0
    while position < len(clause):
        term, start, negations, degree, softened = None, position, 0, 1.0, False
        for end, run_negations, run_degree, run_softened in reversed(_modifier_runs(clause, position)):
            found = _SENTIMENT_TRIE.longest_at(clause, end)
            if found is not None and found not in lexicon.NEUTRAL_TERMS:
                term, start, negations, degree, softened = found, end, run_negations, run_degree, run_softened
                break
        own = _SENTIMENT_TRIE.longest_at(clause, position)
        if own is not None and (term is None or len(own) > start - position):
            term, start, negations, degree, softened = own, position, 0, 1.0, False
        if term is None:
            position += 1
            continue
        position = start + len(term)
        if term in lexicon.NEUTRAL_TERMS:
            continue
        if clause.startswith(lexicon.POST_NEGATORS, position):
            negations += 1
        value = _SENTIMENT_WEIGHTS[term] * degree
        if negations % 2:
            negated += 1
            # A denied complaint is faint praise (没有异味); a denied praise is a complaint (不干净), milder after
            # 不太 / 不够.
            value = -value * (0.5 if value < 0 else (0.6 if softened else 0.9))
        hits.append(LexiconHit(term=term, position=offset + start, value=value))
    return hits, negated


def _dimension_hits(clause: str, offset: int) -> list[LexiconHit]:
    hits: list[LexiconHit] = []
    position = 0
    while position < len(clause):
        term = _DIMENSION_TRIE.longest_at(clause, position)
        if term is None:
            position += 1
            continue
        for dimension, weight in _DIMENSION_WEIGHTS.get(term, {}).items():
            hits.append(LexiconHit(term=term, position=offset + position, value=weight, dimension=dimension))
        position += len(term)
    return hits


def _contrast_clause(parts: Sequence[str]) -> int | None:
    """Index of the first clause that turns the comment (但是…, 就是…, …却…), if any."""
    for index, part in enumerate(parts):
        if index > 0 and (part.startswith(lexicon.CONTRAST_WORDS) or "却" in part or "但" in part):
            return index
    return None


def read_lexicon(normalised_text: str) -> LexiconReading:
    """The lexicon's reading of a normalised comment: dimension scores, praise and complaint strength."""
    dimension_scores = dict.fromkeys(DIMENSIONS, 0.0)
    positive = negative = 0.0
    negated = 0
    hits: list[LexiconHit] = []
    parts = clauses(normalised_text)
    contrast_at = _contrast_clause(parts)
    offset = 0
    per_term: Counter[tuple[str, str]] = Counter()
    for index, part in enumerate(parts):
        offset = normalised_text.find(part, offset)
        for hit in _dimension_hits(part, offset):
            per_term[(hit.term, hit.dimension)] += 1
            # A word repeated five times is still one topic: count each word at most twice.
            if per_term[(hit.term, hit.dimension)] <= 2:
                dimension_scores[hit.dimension] += hit.value
            hits.append(hit)
        clause_hits, clause_negated = _sentiment_hits(part, offset)
        negated += clause_negated
        weight = 1.0 if contrast_at is None else (0.7 if index < contrast_at else 1.4)
        for hit in clause_hits:
            if hit.value > 0:
                positive += hit.value * weight
            else:
                negative -= hit.value * weight
        hits.extend(clause_hits)
        offset += len(part)
    return LexiconReading(
        dimension_scores=dimension_scores,
        positive=positive,
        negative=negative,
        negated=negated,
        question=any(cue in normalised_text for cue in lexicon.QUESTION_CUES),
        suggestion=any(cue in normalised_text for cue in lexicon.SUGGESTION_CUES),
        contrast=contrast_at is not None,
        no_opinion=_PUNCTUATION.sub("", normalised_text) in lexicon.NO_OPINION_ANSWERS,
        hits=hits,
    )


# ---------------------------------------------------------------- features


@dataclass(frozen=True)
class Analysis:
    """A comment read once: its words and the lexicon's reading; both models take their features from it."""

    text: str
    words: tuple[str, ...]
    reading: LexiconReading


def analyse(text: str) -> Analysis:
    normalised = normalise(text)
    return Analysis(text=normalised, words=tuple(tokens(normalised)), reading=read_lexicon(normalised))


def _negation_marked(analysis: Analysis) -> list[str]:
    """Words with the two words after a negator marked (不 干净 → 不 ¬干净), so 干净 and 不干净 are different
    features for the sentiment model."""
    marked, left = [], 0
    negators = set(lexicon.NEGATORS)
    for word in analysis.words:
        if left:
            marked.append("¬" + word)
            left -= 1
        else:
            marked.append(word)
        if word in negators:
            left = 2
    return marked


def dimension_features(analysis: Analysis, *, use_lexicon: bool = True) -> dict[str, float]:
    features = dict.fromkeys((f"w:{word}" for word in analysis.words), 1.0)
    if use_lexicon:
        for dimension, score in analysis.reading.dimension_scores.items():
            features[f"lex:{dimension}"] = math.log1p(score)
            features[f"lex:{dimension}:strong"] = float(score >= 1.5)
        features["lex:none"] = float(not any(analysis.reading.dimension_scores.values()))
    return features


def sentiment_features(analysis: Analysis, *, use_lexicon: bool = True) -> dict[str, float]:
    features = dict.fromkeys((f"w:{word}" for word in _negation_marked(analysis)), 1.0)
    reading = analysis.reading
    features["cue:question"] = float(reading.question)
    features["cue:suggestion"] = float(reading.suggestion)
    features["cue:exclaim"] = float("!" in analysis.text)
    features["cue:no_opinion"] = float(reading.no_opinion)
    if use_lexicon:
        features["lex:positive"] = math.log1p(reading.positive)
        features["lex:negative"] = math.log1p(reading.negative)
        features["lex:balance"] = math.tanh(reading.positive - reading.negative)
        features["lex:silent"] = float(reading.positive == 0 and reading.negative == 0)
        features["lex:negated"] = float(reading.negated > 0)
        features["lex:contrast"] = float(reading.contrast)
    return features


# ---------------------------------------------------------------- models


@dataclass(frozen=True)
class LinearModel:
    """Weights over named features for several classes: independent sigmoids (`multi_label`, one-vs-rest) or one
    softmax."""

    features: tuple[str, ...]
    classes: tuple[str, ...]
    weights: np.ndarray  # (features, classes)
    bias: np.ndarray  # (classes,)
    multi_label: bool

    @functools.cached_property
    def index(self) -> dict[str, int]:
        return {name: position for position, name in enumerate(self.features)}

    def matrix(self, rows: Sequence[dict[str, float]]) -> np.ndarray:
        return _matrix(rows, self.index)

    def probabilities(self, rows: Sequence[dict[str, float]]) -> np.ndarray:
        logits = self.matrix(rows) @ self.weights + self.bias
        if self.multi_label:
            return 1.0 / (1.0 + np.exp(-logits))
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def as_json(self) -> dict:
        return {
            "classes": list(self.classes),
            "multi_label": self.multi_label,
            "bias": [_round(value) for value in self.bias],
            "weights": {
                name: [_round(value) for value in self.weights[position]] for position, name in enumerate(self.features)
            },
        }

    @classmethod
    def from_json(cls, data: dict) -> "LinearModel":
        names = tuple(data["weights"])
        weights = np.array([data["weights"][name] for name in names], dtype=float).reshape(len(names), -1)
        return cls(
            features=names,
            classes=tuple(data["classes"]),
            weights=weights,
            bias=np.array(data["bias"], dtype=float),
            multi_label=bool(data["multi_label"]),
        )


def _round(value: float) -> float:
    return round(float(value), 5)


def _matrix(rows: Sequence[dict[str, float]], index: dict[str, int]) -> np.ndarray:
    matrix = np.zeros((len(rows), len(index)))
    for row_number, row in enumerate(rows):
        for name, value in row.items():
            column = index.get(name)
            if column is not None:
                matrix[row_number, column] = value
    return matrix


def _sparse_matrix(rows: Sequence[dict[str, float]], index: dict[str, int]):
    """The same matrix in compressed sparse rows: training multiplies it a few hundred times, and a comment uses a
    handful of the vocabulary's words."""
    from scipy.sparse import csr_matrix

    values, columns, starts = [], [], [0]
    for row in rows:
        for name, value in sorted(row.items()):
            column = index.get(name)
            if column is not None and value:
                values.append(value)
                columns.append(column)
        starts.append(len(values))
    return csr_matrix((values, columns, starts), shape=(len(rows), len(index)))


@dataclass(frozen=True)
class Settings:
    """Training choices: regularisation strengths (C: larger fits the training set more closely), the probability
    from which a dimension is reported, the least number of training comments a word must appear in, and whether
    the lexicon's scores are features (turned off only to measure what the lexicon adds)."""

    c_dimensions: float = 3.0
    c_sentiment: float = 3.0
    threshold: float = 0.4
    min_count: int = 2
    use_lexicon: bool = True


@dataclass(frozen=True)
class CommentModel:
    dimensions: LinearModel
    sentiment: LinearModel
    settings: Settings
    trained_on: dict

    def as_json(self) -> dict:
        return {
            "format": 1,
            "trained_on": self.trained_on,
            "settings": self.settings.__dict__,
            "dimensions": self.dimensions.as_json(),
            "sentiment": self.sentiment.as_json(),
        }

    @classmethod
    def from_json(cls, data: dict) -> "CommentModel":
        return cls(
            dimensions=LinearModel.from_json(data["dimensions"]),
            sentiment=LinearModel.from_json(data["sentiment"]),
            settings=Settings(**data["settings"]),
            trained_on=data["trained_on"],
        )

    def dumps(self) -> str:
        """JSON with one feature per line, so a retrained model reads as a reviewable diff."""
        data = self.as_json()
        lines = ["{"]
        for key in ("format", "trained_on", "settings"):
            lines.append(f"  {json.dumps(key)}: {json.dumps(data[key], ensure_ascii=False, sort_keys=True)},")
        for position, part in enumerate(("dimensions", "sentiment")):
            body = data[part]
            lines.append(f"  {json.dumps(part)}: {{")
            lines.append(f'    "classes": {json.dumps(body["classes"])},')
            lines.append(f'    "multi_label": {json.dumps(body["multi_label"])},')
            lines.append(f'    "bias": {json.dumps(body["bias"])},')
            lines.append('    "weights": {')
            items = list(body["weights"].items())
            for number, (name, values) in enumerate(items):
                comma = "," if number < len(items) - 1 else ""
                lines.append(f"      {json.dumps(name, ensure_ascii=False)}: {json.dumps(values)}{comma}")
            lines.append("    }")
            lines.append("  }" + ("," if position == 0 else ""))
        lines.append("}")
        return "\n".join(lines) + "\n"


def _fit(matrix, targets: np.ndarray, *, c: float, multi_label: bool) -> tuple[np.ndarray, np.ndarray]:
    """L2-regularised logistic regression by L-BFGS (the bias is not regularised). `targets` is (rows, classes) of
    0/1; multi-label fits independent sigmoids, otherwise one softmax."""
    from scipy.optimize import minimize

    rows, width = matrix.shape
    classes = targets.shape[1]

    def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        weights = flat[: width * classes].reshape(width, classes)
        bias = flat[width * classes :]
        logits = matrix @ weights + bias
        if multi_label:
            # log(1 + e^z) - y z, computed stably.
            loss = float(np.sum(np.logaddexp(0.0, logits) - targets * logits))
            error = 1.0 / (1.0 + np.exp(-logits)) - targets
        else:
            shifted = logits - logits.max(axis=1, keepdims=True)
            log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            log_prob = shifted - log_norm
            loss = float(-np.sum(targets * log_prob))
            error = np.exp(log_prob) - targets
        loss += float(np.sum(weights * weights)) / (2.0 * c)
        gradient_weights = matrix.T @ error + weights / c
        gradient_bias = error.sum(axis=0)
        return loss, np.concatenate([gradient_weights.ravel(), gradient_bias])

    start = np.zeros(width * classes + classes)
    result = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    flat = result.x
    return flat[: width * classes].reshape(width, classes), flat[width * classes :]


def _vocabulary(rows: Sequence[dict[str, float]], min_count: int) -> tuple[str, ...]:
    """Features seen in at least `min_count` training comments; lexicon and cue features always."""
    counts: Counter[str] = Counter()
    for row in rows:
        counts.update(row.keys())
    return tuple(sorted(name for name, count in counts.items() if count >= min_count or not name.startswith("w:")))


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def training_source(path: Path = TRAIN_PATH) -> dict:
    """What a model was trained on, kept in the model file so a stale model is caught (tests compare the digest)."""
    return {"file": path.name, "sha256": file_digest(path)}


def train(
    rows: Sequence[LabelledComment],
    settings: Settings = Settings(),  # noqa: B008 - a frozen dataclass is a safe default
    *,
    trained_on: dict | None = None,
    analyses: Sequence[Analysis] | None = None,
) -> CommentModel:
    """Fit both models on labelled comments (pass `analyses` to reuse segmentation across cross-validation folds)."""
    analyses = analyses if analyses is not None else [analyse(row.text) for row in rows]
    dimension_rows = [dimension_features(item, use_lexicon=settings.use_lexicon) for item in analyses]
    sentiment_rows = [sentiment_features(item, use_lexicon=settings.use_lexicon) for item in analyses]
    dimension_targets = np.array([[float(d in row.dimensions) for d in DIMENSIONS] for row in rows])
    sentiment_targets = np.array([[float(row.sentiment == s) for s in SENTIMENTS] for row in rows])

    def fit(feature_rows, targets, c, multi_label, classes) -> LinearModel:
        names = _vocabulary(feature_rows, settings.min_count)
        matrix = _sparse_matrix(feature_rows, {name: position for position, name in enumerate(names)})
        weights, bias = _fit(matrix, targets, c=c, multi_label=multi_label)
        return LinearModel(features=names, classes=classes, weights=weights, bias=bias, multi_label=multi_label)

    return CommentModel(
        dimensions=fit(dimension_rows, dimension_targets, settings.c_dimensions, True, DIMENSIONS),
        sentiment=fit(sentiment_rows, sentiment_targets, settings.c_sentiment, False, SENTIMENTS),
        settings=settings,
        trained_on={**(trained_on or {}), "rows": len(rows)},
    )


def predict(model: CommentModel, analyses: Sequence[Analysis]) -> list[CommentVerdict]:
    use_lexicon = model.settings.use_lexicon
    dimension_p = model.dimensions.probabilities([dimension_features(a, use_lexicon=use_lexicon) for a in analyses])
    sentiment_p = model.sentiment.probabilities([sentiment_features(a, use_lexicon=use_lexicon) for a in analyses])
    verdicts = []
    for item, dimension_row, sentiment_row in zip(analyses, dimension_p, sentiment_p, strict=True):
        if not _PUNCTUATION.sub("", item.text):
            verdicts.append(_empty_verdict())
            continue
        scores = {name: round(float(p), 3) for name, p in zip(DIMENSIONS, dimension_row, strict=True)}
        scores.update({name: round(float(p), 3) for name, p in zip(SENTIMENTS, sentiment_row, strict=True)})
        verdicts.append(
            CommentVerdict(
                dimensions=tuple(
                    d for d, p in zip(DIMENSIONS, dimension_row, strict=True) if p >= model.settings.threshold
                ),
                sentiment=SENTIMENTS[int(np.argmax(sentiment_row))],
                scores=scores,
                keywords=item.reading.keywords,
            )
        )
    return verdicts


def _empty_verdict() -> CommentVerdict:
    return CommentVerdict(
        dimensions=(),
        sentiment=Sentiment.NEUTRAL.value,
        scores={**dict.fromkeys(DIMENSIONS, 0.0), **dict.fromkeys(SENTIMENTS, 0.0), Sentiment.NEUTRAL.value: 1.0},
        keywords=(),
    )


def load_model(path: Path = MODEL_PATH) -> CommentModel:
    return CommentModel.from_json(json.loads(path.read_text(encoding="utf-8")))


@functools.cache
def _committed_model() -> CommentModel:
    return load_model()


def classify(text: str) -> CommentVerdict:
    """Sort one comment into service dimensions and a sentiment with the committed model."""
    if not _PUNCTUATION.sub("", normalise(text)):
        return _empty_verdict()
    return predict(_committed_model(), [analyse(text)])[0]


def classify_many(texts: Sequence[str], model: CommentModel | None = None) -> list[CommentVerdict]:
    return predict(model or _committed_model(), [analyse(text) for text in texts])


# ---------------------------------------------------------------- labelled data and evaluation


class LabelError(ValueError):
    pass


def read_labelled(path: Path) -> list[LabelledComment]:
    """Read a labelled CSV (text, dimensions joined by "|" — empty for a general remark —, sentiment)."""
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, record in enumerate(csv.DictReader(handle), start=2):
            dimensions = tuple(part for part in (record["dimensions"] or "").split("|") if part)
            unknown = [d for d in dimensions if d not in DIMENSIONS]
            if unknown or record["sentiment"] not in SENTIMENTS or not record["text"].strip():
                raise LabelError(f"{path.name} line {number}: bad label {record!r}")
            ordered = tuple(d for d in DIMENSIONS if d in dimensions)
            rows.append(LabelledComment(text=record["text"].strip(), dimensions=ordered, sentiment=record["sentiment"]))
    return rows


@dataclass(frozen=True)
class DimensionScore:
    dimension: str
    support: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Evaluation:
    """How a classifier did on labelled comments.

    `exact_accuracy`: share of comments whose whole set of dimensions is right (a general remark must get none);
    `sentiment_accuracy`: share with the right sentiment; `both_accuracy`: both right at once."""

    comments: int
    exact_accuracy: float
    sentiment_accuracy: float
    both_accuracy: float
    micro_f1: float
    macro_f1: float
    per_dimension: tuple[DimensionScore, ...]
    sentiment_recall: dict[str, float]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


def evaluate(rows: Sequence[LabelledComment], verdicts: Sequence[CommentVerdict]) -> Evaluation:
    pairs = list(zip(rows, verdicts, strict=True))
    per_dimension = []
    total_tp = total_fp = total_fn = 0
    for dimension in DIMENSIONS:
        tp = sum(1 for row, v in pairs if dimension in row.dimensions and dimension in v.dimensions)
        fp = sum(1 for row, v in pairs if dimension not in row.dimensions and dimension in v.dimensions)
        fn = sum(1 for row, v in pairs if dimension in row.dimensions and dimension not in v.dimensions)
        total_tp, total_fp, total_fn = total_tp + tp, total_fp + fp, total_fn + fn
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        per_dimension.append(DimensionScore(dimension, tp + fn, precision, recall, _f1(precision, recall)))
    micro_precision, micro_recall = _ratio(total_tp, total_tp + total_fp), _ratio(total_tp, total_tp + total_fn)
    sentiment_recall = {
        label: _ratio(
            sum(1 for row, v in pairs if row.sentiment == label and v.sentiment == label),
            sum(1 for row, _v in pairs if row.sentiment == label),
        )
        for label in SENTIMENTS
    }
    return Evaluation(
        comments=len(pairs),
        exact_accuracy=_ratio(sum(1 for row, v in pairs if set(row.dimensions) == set(v.dimensions)), len(pairs)),
        sentiment_accuracy=_ratio(sum(1 for row, v in pairs if row.sentiment == v.sentiment), len(pairs)),
        both_accuracy=_ratio(
            sum(1 for row, v in pairs if set(row.dimensions) == set(v.dimensions) and row.sentiment == v.sentiment),
            len(pairs),
        ),
        micro_f1=_f1(micro_precision, micro_recall),
        macro_f1=sum(score.f1 for score in per_dimension) / len(per_dimension),
        per_dimension=tuple(per_dimension),
        sentiment_recall=sentiment_recall,
    )


def percent(value: float) -> str:
    return f"{100 * value:.1f}"


def evaluation_table(evaluation: Evaluation) -> str:
    """The figures as the Markdown docs/engagement.md quotes them (percentages, one decimal)."""
    lines = [
        f"| measure (test set, {evaluation.comments} comments) | % |",
        "|---|---:|",
        f"| dimensions exactly right | {percent(evaluation.exact_accuracy)} |",
        f"| sentiment right | {percent(evaluation.sentiment_accuracy)} |",
        f"| both right | {percent(evaluation.both_accuracy)} |",
        f"| dimension micro-F1 | {percent(evaluation.micro_f1)} |",
        f"| dimension macro-F1 | {percent(evaluation.macro_f1)} |",
        *(f"| sentiment recall, {label} | {percent(value)} |" for label, value in evaluation.sentiment_recall.items()),
        "",
        "| dimension | support | precision % | recall % | F1 % |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {s.dimension} | {s.support} | {percent(s.precision)} | {percent(s.recall)} | {percent(s.f1)} |"
            for s in evaluation.per_dimension
        ),
    ]
    return "\n".join(lines)


SEARCH_GRID: tuple[Settings, ...] = tuple(
    Settings(c_dimensions=c, c_sentiment=c, threshold=threshold, min_count=min_count)
    for c in (1.0, 3.0, 10.0)
    for min_count in (1, 2)
    for threshold in (0.4, 0.5)
)


def cross_validate(
    rows: Sequence[LabelledComment],
    settings: Settings,
    *,
    folds: int = 5,
    analyses: Sequence[Analysis] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Evaluation:
    """k-fold cross-validation on the training set (fold = row number mod k): how settings are chosen without
    looking at the test set."""
    analyses = analyses if analyses is not None else [analyse(row.text) for row in rows]
    predictions: list[CommentVerdict | None] = [None] * len(rows)
    for fold in range(folds):
        train_index = [i for i in range(len(rows)) if i % folds != fold]
        test_index = [i for i in range(len(rows)) if i % folds == fold]
        model = train([rows[i] for i in train_index], settings, analyses=[analyses[i] for i in train_index])
        for i, verdict in zip(test_index, predict(model, [analyses[i] for i in test_index]), strict=True):
            predictions[i] = verdict
        if progress:
            progress(fold)
    return evaluate(rows, [p for p in predictions if p is not None])


def lexicon_only(analysis: Analysis) -> CommentVerdict:
    """The lexicon alone, without any trained model: each dimension whose score reaches 1.5, and the sign of praise
    minus complaint. A baseline the docs compare against."""
    reading = analysis.reading
    dimensions = tuple(d for d in DIMENSIONS if reading.dimension_scores[d] >= 1.5)
    balance = reading.positive - reading.negative
    if abs(balance) < 0.3:
        sentiment = Sentiment.NEUTRAL.value
    else:
        sentiment = Sentiment.POSITIVE.value if balance > 0 else Sentiment.NEGATIVE.value
    return CommentVerdict(dimensions=dimensions, sentiment=sentiment, scores={}, keywords=reading.keywords)
