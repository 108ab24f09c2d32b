"""Late interaction (bot/token_match.py) on the real model: IDF weights, persistence, old files."""

from __future__ import annotations

import numpy as np

from bot.token_match import TOKENS_FILE, TokenMatrix, sentence_tokens

SENTENCES = [
    "The council opened the new harbour bridge in March.",
    "The council said the bridge cost 40 million euros.",
    "The council plans a tram line to the harbour.",
    "Fishermen protested outside the council building.",
]


def _matrix(encoder, texts=SENTENCES) -> TokenMatrix:
    _, mats, ids = encoder.encode_with_tokens(texts)
    return TokenMatrix.from_list(mats, ids)


def test_rare_question_words_weigh_more_than_words_every_sentence_has(encoder):
    matrix = _matrix(encoder)
    _, [tokens], [ids] = encoder.encode_with_tokens(["When did the council open the bridge?"])
    pieces = encoder.model.tokenizer.convert_ids_to_tokens(ids.tolist())
    values = matrix.weights(ids, len(tokens))
    weights = dict(zip(pieces, values))
    assert abs(float(values.sum()) - 1.0) < 1e-5
    assert weights["council"] < weights["bridge"] < weights["open"]  # in 4, 2 and none of the sentences


def test_weighting_favours_the_sentence_matching_the_rare_words(encoder):
    matrix = _matrix(encoder)
    _, [tokens], [ids] = encoder.encode_with_tokens(["How much did the bridge cost the council?"])
    weighted = matrix.maxsim(tokens, np.arange(len(SENTENCES)), ids)
    assert int(np.argmax(weighted)) == 1
    plain = matrix.maxsim(tokens, np.arange(len(SENTENCES)))  # no ids: uniform weights, still a mean
    assert np.all((plain > 0) & (plain <= 1.0001))


def test_tokens_file_without_piece_ids_is_recomputed(pipeline, encoder, tmp_path):
    index = pipeline.index
    first = sentence_tokens(index, encoder, tmp_path)
    with np.load(tmp_path / TOKENS_FILE) as data:
        assert set(data.files) == {"vectors", "offsets", "ids", "keys"}
        np.savez(tmp_path / TOKENS_FILE, vectors=data["vectors"], offsets=data["offsets"])  # the old layout
    again = sentence_tokens(index, encoder, tmp_path)
    assert again.ids.tolist() == first.ids.tolist()
    with np.load(tmp_path / TOKENS_FILE) as data:
        assert "ids" in data.files


def test_content_tokens_equal_the_gathered_linalg_definition():
    """``content_tokens`` slices a run of kept pieces and writes the norm out; both must give the very
    bits of gathering the kept rows and dividing by ``np.linalg.norm``, for runs and scattered pieces."""
    from bot.token_match import content_keep, content_tokens

    rng = np.random.default_rng(5)
    cases = [["[CLS]", "how", "much", "?", "[SEP]"], ["[CLS]", "a", ",", "b", "[SEP]", "[PAD]"],
             ["[CLS]", "?", "!", "[SEP]"], ["[CLS]", "[SEP]"], ["x"], ["[CLS]", "u", "_", "##s", ".", "[SEP]"]]
    for pieces in cases:
        for dtype in (np.float32, np.float16):
            mat = (rng.normal(size=(len(pieces), 384)) * 3).astype(dtype)
            ids = list(range(100, 100 + len(pieces)))
            keep = content_keep(pieces)
            rows = np.asarray(mat[keep], dtype=np.float32)
            want = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
            got, kept = content_tokens(pieces, ids, mat)
            assert got.tobytes() == want.tobytes() and kept.tolist() == [ids[i] for i in keep]
            assert got.T.flags.c_contiguous  # column-major: ``rows @ tokens.T`` multiplies a contiguous matrix


def test_maxsim_of_every_sentence_equals_gathering_them_all(encoder):
    """``rows=None`` (the exact route: every sentence, no gather) gives the same bits as all the rows."""
    matrix = _matrix(encoder)
    _, [tokens], [ids] = encoder.encode_with_tokens(["How much did the bridge cost the council?"])
    every = matrix.maxsim(tokens, None, ids)
    assert every.dtype == np.float32
    assert every.tobytes() == matrix.maxsim(tokens, np.arange(len(SENTENCES)), ids).tobytes()
