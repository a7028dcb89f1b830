"""Tokenise Chinese (and English) text for keyword search with jieba.

Each :class:`Tokenizer` owns its jieba dictionary instead of using jieba's module-level
default, so no global state is shared between indexes or tests.
"""

from __future__ import annotations

import logging
import re
from functools import cached_property, lru_cache
from pathlib import Path

from .script import to_simplified

# Function words and question words: they match everywhere and say nothing about the topic.
STOPWORDS = frozenset(
    """
    的 了 在 是 和 与 及 或 并 等 也 都 就 而 但 又 被 把 对 从 向 以 为 于 由 上 中 下 里 这 那 其 之 此 该
    着 过 吗 呢 吧 啊 么 呀 个 些 每 各 有 没 没有 不 很 更 最 还 又 再 已 已经 将 会 能 要 可 可以 让 使
    我 你 他 她 它 我们 你们 他们 什么 多少 几 几个 哪 哪些 哪个 哪里 哪儿 哪年 哪一年 哪位 谁 何 何时 怎么 怎样
    如何 为什么 是否 是不是 多 多大 请问 一下 一个 当时 时候 文章 这篇 那篇 本文 文中 该文 篇 提到 根据 所
    那个 这个 那么 呢 怎么样 原来 原有 现在 目前 已经 曾经 如今 当前 总共 一共 共 分别 说 讲 认为 指出 表示 强调 叫 称为 到 了
    a an the of to in on for and or is are was were be been by with what which who whom whose
    when where why how many much does do did it its this that these those from as at about
    """.split()
)
_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]")
_HAN = re.compile(r"[\u4e00-\u9fff]+")
#: jieba's part-of-speech flags of proper names: place, person, organisation, other.
NAME_FLAGS = ("ns", "nr", "nt", "nz")


#: Corpora larger than this use jieba's full dictionary instead of a corpus lexicon.
LEXICON_MAX_CHARS = 5_000_000
#: jieba's most frequent words join every lexicon so questions segment naturally (多少个 → 多少/个).
LEXICON_COMMON_WORDS = 30_000


def import_jieba():
    """jieba, imported without pkg_resources. jieba 0.42 finds its dictionary through
    pkg_resources when that imports (setuptools < 81 has it), which cost 0.12 s of every one-shot
    ``qa ask`` and printed a deprecation warning; without it jieba opens the same file by path,
    as it does wherever setuptools is absent."""
    import sys

    if "jieba" in sys.modules or "pkg_resources" in sys.modules:
        import jieba

        return jieba
    sys.modules["pkg_resources"] = None  # makes `import pkg_resources` raise ImportError
    try:
        import jieba
    finally:
        del sys.modules["pkg_resources"]
    return jieba


def jieba_dictionary() -> Path:
    return Path(import_jieba().__file__).parent / "dict.txt"


def corpus_lexicon(texts: list[str]) -> tuple[list[str], int] | None:
    """The lines of jieba's dictionary whose word occurs in ``texts``, and jieba's total frequency.

    jieba only ever looks up substrings of the text it cuts, so on corpus text this small
    lexicon segments exactly like the full dictionary (given the same total), yet it loads in
    milliseconds instead of ~1 s. Returns None for corpora too large to enumerate.
    """
    joined = "\n".join(texts)
    if len(joined) > LEXICON_MAX_CHARS:
        return None
    joined = to_simplified(joined)  # the script that :meth:`Tokenizer.tokens` cuts
    entries = [line.split(" ") for line in jieba_dictionary().read_text("utf-8").splitlines()]
    entries = [e for e in entries if len(e) >= 2]
    common = {e[0] for e in sorted(entries, key=lambda e: -int(e[1]))[:LEXICON_COMMON_WORDS]}
    longest = 8
    present = {joined[i : i + n] for i in range(len(joined)) for n in range(1, longest + 1)}
    # Words absent from the corpus never change how corpus text is cut, so adding common
    # words keeps the equivalence while questions get a natural segmentation.
    kept = [" ".join(e) for e in entries
            if e[0] in present or e[0] in common or (len(e[0]) > longest and e[0] in joined)]
    return kept, sum(int(e[1]) for e in entries)


class Tokenizer:
    """jieba search-mode tokens, lower-cased, without punctuation or stopwords.

    With ``lexicon`` (a file written by :func:`corpus_lexicon`) and ``total``, jieba loads that
    small dictionary instead of its full one.
    """

    def __init__(self, lexicon: Path | None = None, total: int | None = None) -> None:
        self.lexicon = lexicon
        self.total = total

    @cached_property
    def _jieba(self):  # the full dictionary takes ~1 s to load: only when first needed
        jieba = import_jieba()
        jieba.setLogLevel(logging.WARNING)
        if self.lexicon and self.total:
            tokenizer = jieba.Tokenizer(dictionary=str(self.lexicon))
            tokenizer.initialize()
            tokenizer.total = self.total  # keep jieba's probabilities: same cuts as the full dictionary
        else:
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
        return tokenizer

    @cached_property
    def _posseg(self):
        import_jieba()
        import jieba.posseg

        return jieba.posseg.POSTokenizer(self._jieba)

    def words(self, text: str) -> list[str]:
        """Plain segmentation (no overlapping sub-words), punctuation removed."""
        return [w for w in self._jieba.lcut(text) if _TOKEN_OK.search(w)]

    def tokens(self, text: str) -> list[str]:
        """Search-mode tokens for BM25: compounds plus their sub-words, stopwords removed, in
        Simplified script (a Traditional document matches a Simplified question and back)."""
        out = []
        for word in self._jieba.lcut_for_search(to_simplified(text.lower())):
            word = word.strip()
            if word and _TOKEN_OK.search(word) and word not in STOPWORDS:
                out.append(word)
        return out

    def tag(self, text: str) -> list[tuple[str, str]]:
        """(word, part-of-speech) pairs from jieba.posseg; nr = person, ns = place, nt = organisation."""
        return [(p.word, p.flag) for p in self._posseg.lcut(text)]

    def tag_fast(self, text: str) -> list[tuple[str, str]]:
        """(word, part-of-speech) pairs; nr = person, ns = place, nt = organisation, un = unknown.

        Words come from jieba's ordinary cut and flags from its dictionary; only a short unknown
        word (often a name: 冯志礼) is handed to jieba.posseg's HMM. Running posseg on whole
        sentences instead took 170 ms a sentence on Traditional text, whose characters its
        tables lack.
        """
        table = self._posseg.word_tag_tab
        out = []
        for word in self._jieba.lcut(text):
            flag = table.get(word)
            if flag is None:
                flag = "m" if word.isdigit() else self._guess_flag(word) if _TOKEN_OK.search(word) else "x"
            out.append((word, flag))
        return out

    def is_name(self, word: str) -> bool:
        """Whether ``word`` (either script) is one proper name to jieba: a place, person,
        organisation or other proper noun (ns, nr, nt, nz). Loads jieba.posseg on first use
        (about 0.2 s), so callers ask only about words that matter."""
        tagged = self.tag_fast(to_simplified(word))
        return len(tagged) == 1 and tagged[0][1].startswith(NAME_FLAGS)

    @lru_cache(maxsize=50_000)  # noqa: B019 - one tokenizer per index, the cache lives as long
    def _guess_flag(self, word: str) -> str:
        if 2 <= len(word) <= 4 and _HAN.fullmatch(word):
            pairs = self._posseg.lcut(word)
            if len(pairs) == 1:
                return pairs[0].flag
        return "un"
