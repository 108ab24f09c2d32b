"""Query encoding without torch: the bundled MiniLM exported to ONNX, run by onnxruntime + tokenizers.

Why: importing sentence-transformers (torch, transformers, sklearn) costs seconds, which a one-shot
``articlebot ask`` must not pay just to embed one question. The ONNX graph is exported locally from the
SAME bundled weights (no download) while the index is built, with the mean pooling and L2 normalisation
of the sentence-transformers pipeline inside the graph, so its vectors match the reference encoder
(cosine >= 0.999, checked by tests/test_onnx_encoder.py). Sentence-transformers stays the reference that
embeds the corpus; this is only the fast route for questions, and any failure falls back to it.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .files import discard
from .token_match import content_keep, keep_of_kinds, kept_tokens, piece_kind

log = logging.getLogger(__name__)

MAX_LENGTH = 256  # the model's window (sentence_bert_config.json max_seq_length)
OPSET = 17
GRAPH_VERSION = "v2"  # outputs: pooled unit vector, token vectors (bump when the graph changes)


def onnx_file(folder: Path, model_sha256: str) -> Path:
    """Where the export of the model with this hash lives: the file name is keyed by the weights."""
    return folder / f"minilm-{model_sha256[:16]}-{GRAPH_VERSION}.onnx"


def export_onnx(transformer, target: Path) -> Path:
    """Export ``transformer`` (the Hugging Face BertModel inside the loaded SentenceTransformer) with
    pooling and normalisation included; written to a temporary sibling and renamed into place."""
    import warnings

    import torch

    class Pooled(torch.nn.Module):
        """token embeddings -> attention-masked mean -> unit length: the sentence-transformers head."""

        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1), tokens

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    example = torch.ones((1, 8), dtype=torch.int64)
    module = Pooled(transformer).eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shape-dependent branches: expected
            torch.onnx.export(
                module, (example, example, torch.zeros_like(example)), str(tmp), dynamo=False,
                input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["embedding", "tokens"],
                dynamic_axes={name: {0: "batch", 1: "tokens"}
                              for name in ("input_ids", "attention_mask", "token_type_ids")}
                | {"embedding": {0: "batch"}, "tokens": {0: "batch", 1: "tokens"}},
                opset_version=OPSET)
        os.replace(tmp, target)
    finally:
        discard(tmp)
    return target


def copy_export(source: Path, target: Path) -> Path:
    """Give another index folder the same export (a hard link when possible, else a copy, atomically)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        discard(tmp)
    return target


class OnnxEncoder:
    """Unit-length float32 vectors for short texts (questions), truncated at the model window exactly
    like sentence-transformers does."""

    def __init__(self, onnx_path: Path, model_dir: Path, threads: int | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.path = onnx_path
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or min(4, len(os.sched_getaffinity(0)))
        options.inter_op_num_threads = 1
        # no busy-waiting between ops: on a shared 2-core machine spinning threads fight the other
        # work (measured: p50 of one question 16 ms with spinning vs 6 ms without, under load 4.7)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_LENGTH)  # the file ships 128/fixed padding; the model uses 256
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._kinds: dict[int, int] = {}  # piece id -> token_match.piece_kind of its piece, see _content_rows

    def encode(self, texts: Sequence[str], batch_size: int = 32, started: Callable[[], None] | None = None
               ) -> np.ndarray:
        """Unit vectors only (see :meth:`run`)."""
        return self.run(texts, batch_size, started=started)

    def encode_with_tokens(self, texts: Sequence[str], batch_size: int = 32, started: Callable[[], None] | None = None
                           ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Unit vectors and, per text, its unit-length contextual token vectors without [CLS], [SEP]
        and punctuation-only pieces, with their piece ids: what ``bot.token_match.encode_with_tokens``
        gives, without torch."""
        return self.run(texts, batch_size, tokens=True, started=started)

    def run(self, texts: Sequence[str], batch_size: int = 32, tokens: bool = False,
            started: Callable[[], None] | None = None):
        """Texts are run in batches of similar length: padding a batch to its longest text is what
        costs time (a question is one batch of one). ``started`` is called once, right before the first
        forward pass, which runs without the GIL (``bot.overlap``: other work may run meanwhile)."""
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(encodings), 384), dtype=np.float32)
        mats: list[np.ndarray] = [np.zeros((0, 384), np.float32)] * len(encodings)
        ids: list[np.ndarray] = [np.zeros(0, np.int32)] * len(encodings)
        wanted = ["embedding", "tokens"] if tokens else ["embedding"]
        for begin in range(0, len(order), batch_size):
            rows = order[begin: begin + batch_size]
            width = max(sum(encodings[i].attention_mask) for i in rows)
            feed = {
                "input_ids": np.array([encodings[i].ids[:width] for i in rows], dtype=np.int64),
                "attention_mask": np.array([encodings[i].attention_mask[:width] for i in rows], dtype=np.int64),
                "token_type_ids": np.array([encodings[i].type_ids[:width] for i in rows], dtype=np.int64),
            }
            if begin == 0 and started is not None:
                started()
            result = self.session.run(wanted, feed)
            out[rows] = result[0]
            if tokens:
                for j, i in enumerate(rows):
                    piece_ids = encodings[i].ids
                    mats[i], ids[i] = kept_tokens(self._content_rows(encodings[i], piece_ids), piece_ids, result[1][j])
        return (out, mats, ids) if tokens else out

    def _content_rows(self, encoding, piece_ids: list[int]) -> list[int]:
        """``token_match.content_keep(encoding.tokens)`` from the piece ids: each id's kind is found once
        from its vocabulary entry (``id_to_token``, the very string ``Encoding.tokens`` holds) and kept,
        so a question builds no piece strings and tests none again."""
        kinds = self._kinds
        if not all(i in kinds for i in piece_ids):
            for i in piece_ids:
                piece = self.tokenizer.id_to_token(i)
                if piece is None:  # not in the vocabulary (cannot happen with WordPiece): ask the pieces
                    return content_keep(encoding.tokens)
                kinds[i] = piece_kind(piece)
        return keep_of_kinds([kinds[i] for i in piece_ids])


def load_onnx(onnx_path: Path, model_dir: Path) -> OnnxEncoder | None:
    """The ONNX encoder, or None (with the reason logged) when onnxruntime/tokenizers are missing or the
    file is unusable: the caller then keeps using sentence-transformers."""
    try:
        return OnnxEncoder(onnx_path, model_dir)
    except Exception as exc:  # a damaged export or a missing runtime: fall back, never fail the question
        log.info("ONNX query encoder unavailable (%s: %s); using sentence-transformers",
                 type(exc).__name__, str(exc)[:200])
        return None
