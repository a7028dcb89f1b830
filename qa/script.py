"""Traditional ↔ Simplified Chinese, so one script's question finds the other script's text.

Keyword search folds both the corpus and the question to Simplified before cutting words
(the index is built on the folded text; jieba's dictionary is Simplified too), and a question's
key words carry both written forms, so answer selection finds them in a passage of either
script. The text that is shown and cited stays exactly as written. OpenCC's tables, in pure
Python (opencc-python-reimplemented, Apache-2.0).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=2)
def _converter(config: str):
    from opencc import OpenCC

    return OpenCC(config)


@lru_cache(maxsize=1)
def _traditional_only() -> re.Pattern[str]:
    """Characters that only Traditional text uses: OpenCC's t2s character table minus identities."""
    import opencc

    table = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    chars = {k for k, v in (line.split("\t", 1) for line in table.read_text("utf-8").splitlines() if "\t" in line)
             if k not in v.split()}
    return re.compile("[" + re.escape("".join(sorted(chars))) + "]")


def is_traditional(text: str) -> bool:
    return bool(_traditional_only().search(text))


def to_simplified(text: str) -> str:
    # OpenCC converts ~0.6 M characters/s here; Simplified text (no Traditional-only character,
    # found by one regex scan at ~10 M/s) is returned as it is.
    return _converter("t2s").convert(text) if text and is_traditional(text) else text


def to_traditional(text: str) -> str:
    return _converter("s2t").convert(text) if text else text


def both_scripts(word: str) -> list[str]:
    """A word as written, and in the other script: what to look for in passages of either."""
    return list(dict.fromkeys([word, to_simplified(word), to_traditional(word)]))
