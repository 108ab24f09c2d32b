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
from functools import cache, lru_cache

import numpy as np

from .lexical import STOPWORDS
from .token_match import content_keep

_WH = frozenset("who whom whose when where why how which what".split())


@dataclass(frozen=True)
class WordSims:
    """Per sentence word (by its character start): best cosine to the question's content tokens, to
    its wh-word token, and to the token right after the wh-word (the "what X" head)."""

    question: dict[int, float]
    wh: dict[int, float]
    head: dict[int, float]


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
    if len(piece_ids) != len(ids) or list(piece_ids) != ids.tolist():
        return None
    q_pieces = _pieces_of(tuple(int(i) for i in query.token_ids))  # the question's own ids: no second encoding
    words = _words(q_pieces)
    content = [k for k, w in enumerate(words) if w not in STOPWORDS and w not in _WH]
    wh_at = [k for k, w in enumerate(words) if w in _WH]
    sims = np.asarray(vectors, np.float32) @ np.asarray(query.tokens, np.float32).T  # pieces x question tokens
    n_pieces = len(piece_ids)
    best_q = sims[:, content].max(axis=1) if content else np.zeros(n_pieces, np.float32)
    wh = sims[:, wh_at[0]] if wh_at else np.zeros(n_pieces, np.float32)
    after = wh_at[0] + 1 if wh_at else None
    while after is not None and after < len(words) and q_pieces[after].startswith("##"):
        after += 1
    head = sims[:, after] if after is not None and after < len(words) and words[after] not in STOPWORDS \
        else np.zeros(n_pieces, np.float32)
    if not starts:
        return WordSims({}, {}, {})
    per_word = [np.maximum.reduceat(values[order], bounds).tolist() for values in (best_q, wh, head)]
    return WordSims(*(dict(zip(starts, values)) for values in per_word))


@lru_cache(maxsize=1024)
def _pieces_of(ids: tuple[int, ...]) -> list[str]:
    tokenizer = _tokenizer()
    return [tokenizer.id_to_token(i) for i in ids]


@lru_cache(maxsize=4096)
def _layout(sentence: str) -> tuple[tuple[int, ...], tuple[int, ...], np.ndarray, np.ndarray]:
    """A sentence's content piece ids and, per word (by its character start), which pieces make it up,
    flattened for ``np.maximum.reduceat`` (``order`` lists piece indices word by word; ``bounds`` where
    each word's run begins). Question-independent, so kept per sentence."""
    offsets, piece_ids = _content_pieces(sentence)
    starts, order, bounds = [], [], []
    for m in re.finditer(r"[A-Za-z0-9]+(?:[.,'’&-][A-Za-z0-9]+)*", sentence):
        inside = [k for k, (a, b) in enumerate(offsets) if a < m.end() and m.start() < b]
        if inside:
            starts.append(m.start())
            bounds.append(len(order))
            order.extend(inside)
    return tuple(piece_ids), tuple(starts), np.asarray(order, np.int64), np.asarray(bounds, np.int64)


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
