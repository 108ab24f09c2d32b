"""The ONNX query route: same vectors as sentence-transformers, exported once, clean fallback, and a
question from a fresh process never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.embedding import Encoder, model_sha256
from bot.onnx_encoder import OnnxEncoder, onnx_file
from bot.store import ONNX_FOLDER, open_index
from conftest import BUNDLED_CORPUS, ROOT


def _varied_texts(article_text: str) -> list[str]:
    """A few hundred texts of every shape a question or sentence takes: whole sentences, fragments of
    1 to 23 words, question phrasings, case changes, non-ASCII, and texts beyond the 256-piece window."""
    words = article_text.split()
    rng = np.random.default_rng(7)
    texts = [line for line in article_text.splitlines() if line.strip()]
    for _ in range(200):
        length = int(rng.integers(1, 24))
        begin = int(rng.integers(0, max(1, len(words) - length)))
        texts.append(" ".join(words[begin: begin + length]))
    for word in words[:120:4]:
        texts += [f"What did {word} do?", f"How much was {word.lower()}?", f"WHO IS {word.upper()}"]
    texts += ["", "?", "数字化转型 in Liaoning", "Café résumé naïve — “quoted” text", "2 billion yuan ($278 million)",
              " ".join(words[:400])]
    return texts


@pytest.fixture(scope="module")
def onnx_encoder(encoder, tmp_path_factory) -> OnnxEncoder:
    folder = tmp_path_factory.mktemp("onnx")
    fresh = Encoder(encoder.path)
    fresh._model = encoder.model  # share the loaded reference model: exporting needs its weights
    assert fresh.attach_onnx(folder, model_sha256(encoder.path))
    return fresh._onnx


def test_onnx_vectors_match_sentence_transformers(encoder, onnx_encoder):
    texts = _varied_texts((BUNDLED_CORPUS / "northeast-china-digital-transformation.md").read_text())
    assert len(texts) >= 300
    reference = encoder.encode_reference(texts)
    fast = onnx_encoder.encode(texts)
    assert fast.shape == reference.shape == (len(texts), 384)
    cosine = np.sum(fast * reference, axis=1)
    assert cosine.min() >= 0.999, texts[int(cosine.argmin())]
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)


def test_export_is_keyed_by_model_hash_and_reused_without_loading_torch_models(encoder, onnx_encoder, tmp_path):
    sha = model_sha256(encoder.path)
    target = onnx_file(tmp_path, sha)
    target.write_bytes(onnx_encoder.path.read_bytes())
    reader = Encoder(encoder.path)
    assert reader.attach_onnx(tmp_path, sha, export=False)
    assert reader.backend == "onnx" and reader._model is None  # the reference model was never loaded
    vector = reader.encode(["How much did Liaoning invest?"])
    assert reader._model is None and vector.shape == (1, 384)


def test_damaged_or_missing_export_falls_back_to_sentence_transformers(encoder, tmp_path):
    sha = model_sha256(encoder.path)
    onnx_file(tmp_path, sha).write_bytes(b"not an onnx graph")
    damaged = Encoder(encoder.path)
    damaged._model = encoder.model
    assert not damaged.attach_onnx(tmp_path, sha, export=False)
    assert damaged.backend == "sentence-transformers"
    question = ["How much did Liaoning invest?"]
    assert np.allclose(damaged.encode(question), encoder.encode_reference(question), atol=1e-6)
    disabled = Encoder(encoder.path, prefer_onnx=False)
    assert not disabled.attach_onnx(tmp_path / "other", sha)
    assert not (tmp_path / "other").exists()


def test_open_index_exports_the_query_encoder_next_to_the_index(make_settings, encoder):
    settings = make_settings()
    (settings.corpus_dir / "a.md").write_text("The river rose ten metres. Boats were moved.", encoding="utf-8")
    open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens, settings.chunk_overlap)
    assert onnx_file(settings.index_dir / ONNX_FOLDER, model_sha256(encoder.path)).is_file()
    assert encoder.backend == "onnx"


def test_ask_from_a_fresh_process_answers_without_importing_torch(bundled_settings, pipeline):
    """The cold-start route: the index exists, so the question is embedded by onnxruntime."""
    script = (
        "import sys, json; from bot.cli import main; "
        f"code = main(['ask', '--json', '--corpus', {str(bundled_settings.corpus_dir)!r}, "
        f"'--index', {str(bundled_settings.index_dir)!r}, 'How much did Liaoning invest?']); "
        "print(json.dumps({'code': code, 'torch': 'torch' in sys.modules, "
        "'st': 'sentence_transformers' in sys.modules}))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    lines = done.stdout.strip().splitlines()
    answer, imports = json.loads(lines[0]), json.loads(lines[-1])
    assert imports == {"code": 0, "torch": False, "st": False}, done.stderr
    assert "2 billion yuan" in answer["answer"]
    assert Path(bundled_settings.index_dir / "model-sha256.json").is_file()


def test_onnx_token_vectors_match_sentence_transformers(encoder, onnx_encoder):
    from bot.token_match import encode_with_tokens

    texts = ["How much did Liaoning invest?", "Heilongjiang's digital economy: about 30 percent of GDP.",
             "Robots automatically grab parts at the integrated AMT workshop of FAW Jiefang Automotive Co."]
    ref_vectors, ref_tokens, ref_ids = encode_with_tokens(encoder.model, texts)
    vectors, tokens, ids = onnx_encoder.encode_with_tokens(texts)
    assert np.min(np.sum(vectors * ref_vectors, axis=1)) >= 0.999
    for ours, theirs, our_ids, their_ids in zip(tokens, ref_tokens, ids, ref_ids):
        assert ours.shape == theirs.shape
        assert our_ids.tolist() == their_ids.tolist() and len(our_ids) == len(ours)
        assert np.min(np.sum(ours * theirs, axis=1)) >= 0.999


def test_onnx_content_pieces_found_by_id_are_those_found_by_piece(onnx_encoder):
    """The ONNX route decides which pieces to keep from their ids (each id's kind kept once); that must
    be ``content_keep`` of the pieces themselves, for every vocabulary entry and for varied texts."""
    from bot.token_match import content_keep, piece_kind

    tokenizer = onnx_encoder.tokenizer
    for piece, i in tokenizer.get_vocab(with_added_tokens=True).items():
        assert tokenizer.id_to_token(i) == piece
    texts = _varied_texts((BUNDLED_CORPUS / "northeast-china-digital-transformation.md").read_text(encoding="utf-8"))
    for encoding in tokenizer.encode_batch(texts + ["[CLS] [SEP] [PAD] [UNK] [MASK]", "?!", "_ _"]):
        ids = encoding.ids
        assert encoding.tokens == [tokenizer.id_to_token(i) for i in ids]
        assert onnx_encoder._content_rows(encoding, ids) == content_keep(encoding.tokens)
        assert all(onnx_encoder._kinds[i] == piece_kind(p) for i, p in zip(ids, encoding.tokens))
