"""Answer-span scores as the CMRC 2018 official evaluation computes them.

Text is lower-cased and stripped of the official script's punctuation list; Chinese
characters and punctuation are one token each, runs of Latin letters and digits one token.
EM: the normalised prediction equals a gold answer. F1: precision and recall of the longest
common token substring, as the official script does, maximised over the gold answers.
"""

from __future__ import annotations

import re

# cmrc2018_evaluate.py's sp_char list.
_PUNCTUATION = frozenset("-:_*^/\\~`+=，。：？！“”；’《》·、「」（）－～『』") | {"……"}
_TOKEN = re.compile(r"[a-z0-9]+|\S")


def tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower().strip()) if t not in _PUNCTUATION]


def _longest_common_substring(a: list[str], b: list[str]) -> int:
    best, previous = 0, [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def exact_match(prediction: str, answers: list[str]) -> float:
    predicted = "".join(tokens(prediction))
    return float(any(predicted == "".join(tokens(a)) for a in answers))


def f1(prediction: str, answers: list[str]) -> float:
    predicted = tokens(prediction)
    best = 0.0
    for answer in answers:
        gold = tokens(answer)
        common = _longest_common_substring(gold, predicted)
        if common:
            precision, recall = common / len(predicted), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best
