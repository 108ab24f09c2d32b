"""Shared fixtures: the real model loaded once per session; every piece of state under tmp paths."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def encoder():
    """The real bundled all-MiniLM-L6-v2, loaded once for the whole run."""
    from bot.embedding import shared_encoder

    enc = shared_encoder()
    enc.model  # noqa: B018 - load now, so the first test does not pay for it
    return enc


@pytest.fixture(scope="session")
def bundled_settings(tmp_path_factory):
    """Settings pointing at a private copy of the bundled corpus and a fresh index folder."""
    from bot.settings import Settings

    base = tmp_path_factory.mktemp("bundled")
    shutil.copytree(BUNDLED_CORPUS, base / "corpus")
    return Settings(corpus_dir=base / "corpus", index_dir=base / "index")


@pytest.fixture(scope="session")
def pipeline(bundled_settings, encoder):
    """The real pipeline over the bundled article (index built once, real FAISS)."""
    from bot.pipeline import Pipeline

    return Pipeline.open(bundled_settings, encoder=encoder)


@pytest.fixture
def make_settings(tmp_path):
    """Build settings whose corpus and index live under this test's tmp_path."""
    from bot.settings import Settings

    def make(**overrides):
        corpus = tmp_path / "corpus"
        corpus.mkdir(exist_ok=True)
        return Settings(**{"corpus_dir": corpus, "index_dir": tmp_path / "index", **overrides})

    return make


def write_article(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
