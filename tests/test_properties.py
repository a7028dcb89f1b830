"""Property tests (hypothesis): the text stages never crash on any Unicode and keep their invariants."""

from __future__ import annotations

import hashlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.answer_units import sentence_units
from qa.chunking import body_text, chunk
from qa.cleaning import clean
from qa.config import ChunkingSettings
from qa.schema import Chunk, Hit, RawFile
from qa.sentences import split_spans

# Chinese prose, sentence punctuation, Latin, digits, whitespace, controls and anything else.
PIECES = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), min_size=1, max_size=12),
    st.sampled_from(list("。，；！？、：“”「」（）…\n \t\r\x00\x0b\u3000\ufeff") + ["……", "1.5", "58%", "①"]),
    st.text(max_size=6),  # any code point, surrogates and controls included
)
TEXT = st.lists(PIECES, max_size=60).map("".join)
CHECK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _tiles(text: str, spans: list[tuple[int, int]]) -> None:
    """Ordered, non-overlapping, inside the text; anything between them is whitespace."""
    position = 0
    for start, end in spans:
        assert position <= start < end <= len(text)
        assert not text[position:start].strip()
        position = end
    assert not text[position:].strip()


@CHECK
@given(TEXT)
def test_sentence_spans_tile_the_text(text):
    for semicolons in (True, False):
        _tiles(text, split_spans(text, semicolons=semicolons))


@CHECK
@given(TEXT, st.integers(min_value=20, max_value=200))
def test_citable_units_tile_the_text(text, max_chars):
    _tiles(text, sentence_units(text, max_chars))


def _raw(text: str, html: bool) -> RawFile:
    return RawFile("/tmp/x.html" if html else "/tmp/x.txt", "x.html" if html else "x.txt", text, "utf-8",
                   hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), html)


@CHECK
@given(TEXT, st.booleans())
def test_cleaning_and_chunking_never_crash_and_offsets_map_back(text, html):
    doc = clean(_raw(text, html))
    body = body_text(doc)
    chunks = chunk(doc, ChunkingSettings(max_chars=80, min_chars=10))
    covered = set()
    for c in chunks:
        if c.paragraph:
            assert c.text == body[c.start : c.end]
            covered.update(range(c.start, c.end))
    # Every character of every kept paragraph is in some passage (only the joins are not).
    assert all(i in covered for i, ch in enumerate(body) if ch != "\n")


@CHECK
@given(TEXT)
def test_question_analysis_never_crashes(question_analyzer, text):
    query = question_analyzer.run(text)
    assert query.text == text and query.answer_type


# Passages that mention what is asked (so some get answered), with arbitrary text around it.
PASSAGE = st.tuples(TEXT, st.sampled_from(["温州后进支部转化了581个", "会议由张三主持", "共有3所学校"]), TEXT).map("".join)
ANSWERED = []


@CHECK
@given(st.lists(PASSAGE, min_size=1, max_size=3), st.sampled_from(["温州后进支部转化了多少个", "会议由谁主持？",
                                                                   "有几所学校"]), TEXT)
def test_answer_span_lies_inside_its_sentence_and_passage(extractor, passages, asked, noise):
    from qa.query import Query

    hits = [Hit(Chunk(i, f"d{i}.txt", "标题", 1, 0, len(t), t), 1.0 / (i + 1), i + 1, i + 1)
            for i, t in enumerate(passages)]
    text = asked + noise
    terms = [([w], 1.0) for w in ("后进支部", "转化", "会议", "主持", "学校") if w in text]
    query = Query(text, False, "number" if "多少" in text or "几" in text else "person", [], terms)
    vector = extractor.vectors.encoder.encode_queries([text])[0]
    answer = extractor.run(query, hits, vector)
    if answer.abstained:
        assert answer.cited is None and answer.text is None
        return
    cited = answer.cited
    s, e = cited.answer_span
    ss, se = cited.sentence_span
    passage = cited.hit.chunk.text
    assert 0 <= ss <= s <= e <= se <= len(passage)
    assert answer.text == passage[s:e].strip()
    ANSWERED.append(answer.text)


def test_the_property_run_above_reached_answers_not_only_abstentions():
    assert ANSWERED  # runs after the property test in file order
