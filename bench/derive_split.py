"""Where a build's derived-files phase goes: the token pass against a plain embedding pass, and the parses.

Times, on the SQuAD sample's sentences, sentence-transformers' reference encoding, the token pass on
the sentence-transformers and on the ONNX route (``bot.token_match.encode_with_tokens`` /
``Encoder.encode_with_tokens``, what a build runs) and spaCy's parse (twice: the first includes its load).

    .venv/bin/python bench/derive_split.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, squad_articles  # noqa: E402

sys.path.insert(0, str(ROOT))


def main() -> int:
    from bot.corpus import load_corpus
    from bot.embedding import model_sha256, shared_encoder
    from bot.syntax import parse_texts
    from bot.token_match import encode_with_tokens

    base = Path(tempfile.mkdtemp(prefix="articlebot-derive-"))
    try:
        for i, (title, text, _) in enumerate(squad_articles()):
            (base / f"a{i}.md").write_text(f"---\ntitle: {title}\n---\n{text}\n", encoding="utf-8")
        texts = [s.text for a in load_corpus(base).articles for s in a.sentences]
        encoder = shared_encoder()
        encoder.model  # noqa: B018 - loaded outside the timings
        encoder.attach_onnx(base / "onnx", model_sha256(encoder.path, base / "sha.json"))
        steps = [("reference encoding (sentence-transformers)", lambda: encoder.encode_reference(texts)),
                 ("token pass, sentence-transformers", lambda: encode_with_tokens(encoder.model, texts)),
                 ("token pass, ONNX (what a build runs)", lambda: encoder.encode_with_tokens(texts)),
                 ("parses, spaCy's load included", lambda: parse_texts(texts)),
                 ("parses again", lambda: parse_texts(texts))]
        for name, step in steps:
            start = time.perf_counter()
            step()
            print(f"{name:45s} {time.perf_counter() - start:6.1f} s for {len(texts)} sentences")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
