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
def web_server(seed_settings, tmp_path_factory):
    """The real web chat on loopback, over a copy of the seed index (uploads change it)."""
    import os
    import shutil
    import subprocess
    import sys
    import time
    import urllib.request

    index = tmp_path_factory.mktemp("web") / "index"
    shutil.copytree(seed_settings.index_dir, index)
    port = free_port()
    log = (index.parent / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--index-dir", str(index), "--port", str(port),
                             "--no-build"], stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("web server exited: " + (index.parent / "server.log").read_text()[-2000:])
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("web server did not start in 120 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


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
