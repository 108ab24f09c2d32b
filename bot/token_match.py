"""Late-interaction matching: every question token against every sentence token (MaxSim).

Why: one pooled vector per sentence blurs which words matched. Comparing the model's contextual token
vectors (the same forward pass that makes the sentence vector, so no extra model cost) rewards a
sentence that matches each part of the question, in context: on the SQuAD sample it alone finds the
answer sentence first far more often than the pooled cosine (see docs/quality.md).
"""

from __future__ import annotations

import functools
import logging
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .embedding import DIMENSION
from .row_reuse import KEYS, merge_rows, plan, save, valid_keys

log = logging.getLogger(__name__)

_PUNCT = re.compile(r"^\W+$")


@dataclass(frozen=True)
class TokenMatrix:
    """All sentences' token vectors in one float16 array; sentence ``i`` owns rows
    ``offsets[i]:offsets[i+1]`` (unit length, [CLS]/[SEP] dropped); ``ids`` are the rows' word-piece ids."""

    vectors: np.ndarray
    offsets: np.ndarray
    ids: np.ndarray

    @classmethod
    def from_list(cls, mats: Sequence[np.ndarray], ids: Sequence[np.ndarray]) -> TokenMatrix:
        sizes = [len(m) for m in mats]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        dim = mats[0].shape[1] if mats else 384
        flat = np.vstack(mats).astype(np.float16) if sum(sizes) else np.zeros((0, dim), np.float16)
        flat_ids = np.concatenate([np.asarray(i, np.int32) for i in ids]) if sum(sizes) else np.zeros(0, np.int32)
        return cls(flat, offsets, flat_ids)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @cached_property
    def idf(self) -> np.ndarray:
        """Squared inverse sentence frequency of every word piece, indexed by piece id: a question
        token that matches in every sentence ("the", "of", the article's own topic word) tells
        sentences apart less than a rare one. Squared because the plain weighting left common pieces
        too much say (docs/quality.md)."""
        size = int(self.ids.max()) + 1 if len(self.ids) else 1
        owner = np.repeat(np.arange(len(self)), np.diff(self.offsets))
        pairs = np.unique(owner.astype(np.int64) * size + self.ids)  # each piece once per sentence
        df = np.bincount((pairs % size).astype(np.int64), minlength=size)
        return np.maximum(np.log((len(self) + 1) / (df + 0.5)), 0.0).astype(np.float32) ** 2

    @cached_property
    def _float32(self) -> np.ndarray:
        return self.vectors.astype(np.float32)

    def sentence(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Sentence ``i``'s token vectors and piece ids (the span extractor's soft anchors read them):
        rows of the float32 copy on small indexes, where MaxSim keeps one; else the stored float16 rows."""
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        vectors = self._float32 if self.vectors.shape[0] <= DENSE_ROWS else self.vectors
        return vectors[start:end], self.ids[start:end]

    @cached_property
    def _unseen_weight(self) -> float:
        """The weight of a piece no sentence has: that of the rarest possible piece."""
        return float(np.log((len(self) + 1) / 0.5)) ** 2

    @cached_property
    def _idf_list(self) -> list[float]:
        """``idf`` as Python floats (float32 values, exact in a double): a question's few pieces are
        looked up in a list, not as numpy scalars."""
        return self.idf.tolist()

    @cached_property
    def _starts(self) -> np.ndarray:
        return self.offsets[:-1]

    def weights(self, query_ids: np.ndarray | None, n_tokens: int) -> np.ndarray:
        """Per-question-token weights summing to 1 (uniform without ids or when every weight is 0);
        pieces unseen in the corpus weigh as much as the rarest possible piece."""
        if query_ids is None or len(query_ids) != n_tokens:
            return np.full(n_tokens, 1.0 / max(n_tokens, 1), np.float32)
        table, top = self._idf_list, self._unseen_weight
        size = len(table)  # a question has a few pieces: a list beats five array operations here
        w = np.array([table[i] if i < size else top for i in np.asarray(query_ids).tolist()], np.float32)
        total = float(w.sum())
        return w / total if total > 0 else np.full(n_tokens, 1.0 / max(n_tokens, 1), np.float32)

    def maxsim(self, query_tokens: np.ndarray, rows: np.ndarray | None,
               query_ids: np.ndarray | None = None) -> np.ndarray:
        """IDF-weighted mean over query tokens of the best cosine within each sentence in ``rows``
        (None: every sentence, in order, with no gather)."""
        if len(query_tokens) == 0:
            return np.zeros(len(self) if rows is None else len(rows), dtype=np.float32)
        q = np.asarray(query_tokens, dtype=np.float32)  # no copy: question tokens come as float32
        w = self.weights(query_ids, len(q))
        if self.vectors.shape[0] <= DENSE_ROWS:  # small index: one product over every token, then per sentence
            best = np.maximum.reduceat(self._float32 @ q.T, self._starts, axis=0) @ w  # float32 @ float32
            return best if rows is None else best[np.asarray(rows, np.int64)]
        out = np.zeros(len(self) if rows is None else len(rows), dtype=np.float32)
        for i, g in enumerate(range(len(self)) if rows is None else rows):
            start, end = self.offsets[g], self.offsets[g + 1]
            if end > start:
                out[i] = float((q @ self.vectors[start:end].astype(np.float32).T).max(axis=1) @ w)
        return out


def encode_with_tokens(model, texts: Sequence[str], batch_size: int = 64
                       ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Sentence vectors, token matrices and their word-piece ids from ONE forward pass of a
    SentenceTransformer."""
    if not texts:
        return np.zeros((0, 384), np.float32), [], []
    outputs = model.encode(list(texts), output_value=None, batch_size=batch_size, convert_to_numpy=False,
                           show_progress_bar=False)
    vectors, tokens, ids = [], [], []
    for text, out in zip(texts, outputs):
        vec = out["sentence_embedding"].float().numpy()
        vectors.append(vec / max(float(np.linalg.norm(vec)), 1e-12))
        input_ids = out["input_ids"].tolist()
        mat, kept = content_tokens(model.tokenizer.convert_ids_to_tokens(input_ids), input_ids,
                                   out["token_embeddings"].float().numpy())
        tokens.append(mat)
        ids.append(kept)
    return np.vstack(vectors).astype(np.float32), tokens, ids


_SPECIALS = frozenset(("[CLS]", "[SEP]", "[PAD]"))
CONTENT, PUNCTUATION, SPECIAL = 0, 1, 2  # what a word piece is, for content_keep


def content_keep(pieces: Sequence[str]) -> list[int]:
    """Which word pieces carry content: no [CLS], [SEP], padding or punctuation-only pieces (all
    non-special ones for a text of punctuation only; the first piece for an empty one)."""
    return keep_of_kinds([piece_kind(piece) for piece in pieces])


def keep_of_kinds(kinds: Sequence[int]) -> list[int]:
    """:func:`content_keep` from the pieces' :func:`piece_kind` (the ONNX route knows them by piece id)."""
    keep = [i for i, kind in enumerate(kinds) if kind == CONTENT]
    return keep or [i for i, kind in enumerate(kinds) if kind != SPECIAL] or [0]


@functools.lru_cache(maxsize=1 << 16)
def piece_kind(piece: str) -> int:
    """SPECIAL, PUNCTUATION (only ``\\W`` characters) or CONTENT; kept per piece: the model's vocabulary
    is ~30,000 pieces, and every question and sentence asks again about the same few."""
    return SPECIAL if piece in _SPECIALS else PUNCTUATION if _PUNCT.match(piece) else CONTENT


def content_tokens(pieces: Sequence[str], ids: Sequence[int], mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length token vectors without [CLS], [SEP], padding and punctuation-only word pieces, with
    the kept pieces' ids (shared by the sentence-transformers and ONNX routes, so both agree)."""
    return kept_tokens(content_keep(pieces), ids, mat)


def kept_tokens(keep: list[int], ids: Sequence[int], mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``keep`` of ``mat`` at unit length, and their ids. Kept pieces that form one run (the
    usual case: [CLS], [SEP] and a closing "?" dropped) are taken as a slice, not gathered; the norm is
    ``np.linalg.norm(mat, axis=1, keepdims=True)``'s own formula (square, ``add.reduce`` along the row,
    square root) without its argument handling: same numbers. Written column-major: every use is
    ``rows @ tokens.T``, and OpenBLAS multiplies by a contiguous right-hand side 2.5x faster than by a
    transposed view (measured: 405 token rows x 6 question tokens, 23 vs 61 us)."""
    rows = slice(keep[0], keep[-1] + 1) if keep[-1] - keep[0] + 1 == len(keep) else keep
    mat = np.asarray(mat[rows], dtype=np.float32)
    norms = np.sqrt(np.add.reduce(mat * mat, axis=1, keepdims=True))
    unit = np.divide(mat, np.maximum(norms, 1e-12), out=np.empty(mat.shape, np.float32, order="F"))
    return unit, np.asarray(ids, np.int32)[rows]


DENSE_ROWS = 50_000  # token rows up to which one float32 copy (<= 77 MB) serves every question at once
TOKEN_LIMIT = 20_000  # sentences; above it token vectors would cost gigabytes and MaxSim is switched off
TOKENS_FILE = "tokens.npz"


class _Outdated(Exception):
    """A tokens file in an older layout."""


def sentence_tokens(index, encoder, folder: Path | None = None, previous: Path | None = None,
                    strict: bool = False) -> TokenMatrix | None:
    """Token vectors of every sentence of ``index``: read from ``folder`` (the index's data folder) when
    present and intact, else computed (one forward pass over the sentences; those ``previous``, the data
    folder of the index being replaced, has rows for are taken from it) and saved there atomically.
    None for corpora over ``TOKEN_LIMIT`` sentences. ``strict``: a failed save raises (a build's folder)."""
    if not 0 < index.n_sentences <= TOKEN_LIMIT:
        return None
    texts = [s.text for a in index.articles for s in a.sentences]
    path = folder / TOKENS_FILE if folder is not None else None
    stored = _read(path, len(texts)) if path is not None and path.exists() else None
    if stored is not None:
        return stored[0]
    old = _read(previous / TOKENS_FILE, None, quiet=True) if previous is not None else None
    keys, source, missing = plan(texts, old[1] if old else None, len(old[0]) if old else 0)
    _, mats, ids = encoder.encode_with_tokens([texts[i] for i in missing]) if len(missing) else (None, [], [])
    matrix = TokenMatrix.from_list(mats, ids)
    if len(missing) < len(texts):
        offsets, (vectors, piece_ids) = merge_rows(source, old[0].offsets, [old[0].vectors, old[0].ids],
                                                   matrix.offsets, [matrix.vectors, matrix.ids])
        matrix = TokenMatrix(vectors, offsets, piece_ids)
    log.info("token vectors: %d sentences computed, %d reused", len(missing), len(texts) - len(missing))
    if path is not None:
        save(path, {"vectors": matrix.vectors, "offsets": matrix.offsets, "ids": matrix.ids}, keys, strict,
             "token vectors")
    return matrix


def _read(path: Path, n_texts: int | None, quiet: bool = False) -> tuple[TokenMatrix, np.ndarray | None] | None:
    """(matrix, its rows' text keys or None) from a tokens file, None when it is missing, outdated or
    damaged (then it is computed again; ``quiet``: without a warning, for a previous index's file)."""
    say = log.info if quiet else log.warning
    try:
        with np.load(path, allow_pickle=False) as data:
            if "ids" not in data.files:  # written before piece ids were kept: recomputed
                raise _Outdated
            matrix = TokenMatrix(data["vectors"], data["offsets"], data["ids"])
            keys = data[KEYS] if KEYS in data.files else None
        if _intact(matrix, n_texts) and (keys is None or valid_keys(keys, len(matrix))):
            return matrix, keys
        say("token vectors in %s are damaged; computing them again", path)
    except FileNotFoundError:
        pass
    except _Outdated:
        log.info("token vectors in %s predate word-piece ids; computing them again", path)
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile):
        say("token vectors in %s are damaged; computing them again", path)
    return None


def _intact(matrix: TokenMatrix, n_texts: int | None) -> bool:
    """Whether the arrays agree: rows of ``DIMENSION`` floats, offsets from 0 that never decrease to
    the row count, one piece id per row (damaged rows would be gathered into every later build)."""
    offsets = matrix.offsets
    return (offsets.ndim == 1 and len(offsets) >= 1 and matrix.ids.ndim == 1
            and n_texts in (None, len(matrix)) and matrix.vectors.ndim == 2 and matrix.vectors.shape[1] == DIMENSION
            and int(offsets[0]) == 0 and (not len(matrix.ids) or int(matrix.ids.min()) >= 0)
            and bool(np.all(np.diff(offsets) >= 0)) and matrix.vectors.shape[0] == offsets[-1] == len(matrix.ids))
