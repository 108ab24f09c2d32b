"""Soft anchors for the span extractor: how close, in MiniLM's contextual token space, each word of
the cited sentence is to the question.

Why: the extractor's anchors are the sentence words the question says (stems). SQuAD questions often
paraphrase ("founded" / "established", "largest" / "biggest"); the token vectors that MaxSim already
computed for retrieval see those as near, at no model cost. Per sentence word we keep (a) its best
cosine to any content token of the question (a soft anchor when high; a span made of such words is
probably the question restated, not its answer) and (b) its cosine to the question's wh-word and head
noun tokens ("which *river*" -> words that look like rivers). Word pieces are mapped to the
extractor's words by character offsets from the model's own tokenizer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache

import numpy as np

from .lexical import STOPWORDS
from .span_layout import WORD
from .token_match import content_keep

_WH = frozenset("who whom whose when where why how which what".split())


@dataclass(frozen=True, eq=False)
class WordSims:
    """Per sentence word (``starts``: their character starts): best cosine to the question's content
    tokens, to its wh-word token, and to the token right after the wh-word (the "what X" head), as the
    columns of ``values``; also as dicts by start (``question``, ``wh``, ``head``) for the named features."""

    starts: tuple[int, ...]
    values: np.ndarray  # words x 3, float64

    @cached_property
    def question(self) -> dict[int, float]:
        return dict(zip(self.starts, self.values[:, 0].tolist()))

    @cached_property
    def wh(self) -> dict[int, float]:
        return dict(zip(self.starts, self.values[:, 1].tolist()))

    @cached_property
    def head(self) -> dict[int, float]:
        return dict(zip(self.starts, self.values[:, 2].tolist()))


@cache
def _tokenizer():
    from tokenizers import Tokenizer

    from .embedding import model_path

    return Tokenizer.from_file(str(model_path() / "tokenizer.json"))


def _content_pieces(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """Character offsets and ids of the pieces ``content_tokens`` keeps (the same rule, shared)."""
    enc = _tokenizer().encode(text)
    keep = content_keep(enc.tokens)
    return [enc.offsets[k] for k in keep], [enc.ids[k] for k in keep]


def word_sims(sentence: str, vectors: np.ndarray, ids: np.ndarray, query) -> WordSims | None:
    """Similarities of the sentence's words to the question (see the module docstring), or None when
    the vectors do not line up with the tokenizer's pieces (a truncated or foreign encoding)."""
    if query.tokens is None or query.token_ids is None or vectors is None or len(query.tokens) == 0:
        return None
    piece_ids, starts, order, bounds = _layout(sentence)
    if len(piece_ids) != len(ids) or not (piece_ids == ids).all():
        return None
    content, wh_at, head_at = _question_roles(tuple(np.asarray(query.token_ids).tolist()))  # its own ids: no second encoding
    # pieces x question tokens; an index's small token matrix comes as float32 already (TokenMatrix.sentence)
    sims = np.asarray(vectors, np.float32) @ np.asarray(query.tokens, np.float32).T
    n_pieces = len(piece_ids)
    columns = np.zeros((n_pieces, 3), np.float32)
    if content:
        columns[:, 0] = sims[:, content].max(axis=1)
    if wh_at is not None:
        columns[:, 1] = sims[:, wh_at]
    if head_at is not None:
        columns[:, 2] = sims[:, head_at]
    if not starts:
        return WordSims((), np.zeros((0, 3)))
    return WordSims(starts, np.maximum.reduceat(columns[order], bounds, axis=0).astype(np.float64))


@lru_cache(maxsize=1024)
def _question_roles(ids: tuple[int, ...]) -> tuple[list[int], int | None, int | None]:
    """Which of the question's pieces are content, its (first) wh-word and the head after it."""
    q_pieces = _pieces_of(ids)
    words = _words(q_pieces)
    content = [k for k, w in enumerate(words) if w not in STOPWORDS and w not in _WH]
    wh_at = [k for k, w in enumerate(words) if w in _WH]
    after = wh_at[0] + 1 if wh_at else None
    while after is not None and after < len(words) and q_pieces[after].startswith("##"):
        after += 1
    head = after if after is not None and after < len(words) and words[after] not in STOPWORDS else None
    return content, wh_at[0] if wh_at else None, head


@lru_cache(maxsize=1024)
def _pieces_of(ids: tuple[int, ...]) -> list[str]:
    tokenizer = _tokenizer()
    return [tokenizer.id_to_token(i) for i in ids]


@lru_cache(maxsize=4096)
def _layout(sentence: str) -> tuple[np.ndarray, tuple[int, ...], np.ndarray, np.ndarray]:
    """A sentence's content piece ids and, per word (by its character start), which pieces make it up,
    flattened for ``np.maximum.reduceat`` (``order`` lists piece indices word by word; ``bounds`` where
    each word's run begins). Question-independent, so kept per sentence."""
    offsets, piece_ids = _content_pieces(sentence)
    starts, order, bounds = [], [], []
    for m in re.finditer(WORD, sentence):  # the span extractor's words (bot/span_layout.py), by start
        inside = [k for k, (a, b) in enumerate(offsets) if a < m.end() and m.start() < b]
        if inside:
            starts.append(m.start())
            bounds.append(len(order))
            order.extend(inside)
    return np.asarray(piece_ids, np.int64), tuple(starts), np.asarray(order, np.int64), np.asarray(bounds, np.int64)


def _words(pieces: list[str]) -> list[str]:
    """Each piece's whole word (pieces of one word share it), lower-cased."""
    out: list[str] = []
    for k, piece in enumerate(pieces):
        if piece.startswith("##") and out:
            continue
        word = piece
        j = k + 1
        while j < len(pieces) and pieces[j].startswith("##"):
            word += pieces[j][2:]
            j += 1
        out.extend([word.lower()] * (j - k))
    return out
