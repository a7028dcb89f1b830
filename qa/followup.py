"""Follow-up questions: "那嘉兴呢？" after "温州后进支部转化了多少个" means "嘉兴后进支部转化了多少个".

A follow-up is short and leans on the previous question: 那/那么/还有 … 呢. Its subject
replaces the word of the same kind (place for place, person for person) in the previous
question; when there is none, the subject is put in front of the previous question.
"""

from __future__ import annotations

import re

from .tokenizer import Tokenizer

_FOLLOW_UP = re.compile(r"^(?:那么?|还有|而|那么在|那在|换成)?\s*(?P<subject>[^，,。？?！!]{1,12}?)\s*(?:呢|的呢|怎么样|如何)\s*[？?]?$")
_ENGLISH = re.compile(r"^(?:and|what about|how about)\s+(?P<subject>.{1,40}?)\s*\??$", re.IGNORECASE)
_KINDS = ("ns", "nr", "nt")


def is_follow_up(question: str) -> bool:
    return bool(_FOLLOW_UP.match(question.strip()) or _ENGLISH.match(question.strip()))


def resolve(question: str, previous: str | None, tokenizer: Tokenizer) -> str:
    """The question to ask: the follow-up rewritten with the previous one, or as it is."""
    question = question.strip()
    match = _FOLLOW_UP.match(question) or _ENGLISH.match(question)
    if not previous or not match:
        return question
    subject = match.group("subject").strip()
    if _ENGLISH.match(question):
        return f"{previous.rstrip('?？ ')} — {subject}?"
    names = [(w, f) for w, f in tokenizer.tag(previous) if f.startswith(_KINDS) and w != subject]
    for word, flag in names:
        # Tag the subject in place: bare "嘉兴" looks like a person, "嘉兴后进支部…" like a place.
        candidate = previous.replace(word, subject, 1)
        if any(w == subject and f[:2] == flag[:2] for w, f in tokenizer.tag(candidate)):
            return candidate
    if len(names) == 1:
        return previous.replace(names[0][0], subject, 1)
    return f"{subject}{previous}"
