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

    return load_encoder()


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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def web_server_process(seed_settings, tmp_path_factory):
    """The real web chat on loopback, over a copy of the seed index (uploads change it): (process, url)."""
    import shutil

    from qa.soak import start_server

    index = tmp_path_factory.mktemp("web") / "index"
    shutil.copytree(seed_settings.index_dir, index)
    proc, url = start_server(index, index.parent / "server.log", timeout_s=120)
    yield proc, url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="session")
def web_server(web_server_process):
    return web_server_process[1]


@pytest.fixture(scope="session")
def question_analyzer():
    from qa.crosslingual import Translator
    from qa.keyword_index import KeywordIndex
    from qa.query import QueryAnalyzer
    from qa.tokenizer import Tokenizer

    keyword = KeywordIndex.build([["温州", "支部"], ["转化"]])
    return QueryAnalyzer(Tokenizer(), keyword, Translator())


@pytest.fixture(scope="session")
def extractor(encoder):
    """The learned extractor with the default encoder."""
    from qa.answering import AnswerExtractor
    from qa.config import AnswerSettings
    from qa.tokenizer import Tokenizer

    return AnswerExtractor(Tokenizer(), AnswerSettings(), encoder)
