"""Traditional → Simplified Chinese, for reading a question's cues (什麼/誰/為什麼 → 什么/谁/为什么).

The text that is searched and cited stays as written; only the analysis of what a question asks
(answer type, question word, measure word) reads the Simplified form, so one set of cues serves
both scripts. OpenCC's tables, in pure Python (opencc-python-reimplemented, Apache-2.0).
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _converter():
    from opencc import OpenCC

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _converter().convert(text) if text else text
