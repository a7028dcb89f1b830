import re

from qa.chunking import body_text, chunk, metadata_card
from qa.cleaning import clean
from qa.config import ChunkingSettings
from qa.loading import load
from qa.schema import Document, Metadata
from tests.conftest import SEEDS

ENDS = "。！？；!?;…”’」』）)\""


def seed_docs():
    return [clean(f) for f in load([SEEDS]).files]


def test_chunks_never_cut_a_sentence_and_respect_the_size():
    settings = ChunkingSettings()
    for doc in seed_docs():
        text = body_text(doc)
        for c in chunk(doc, settings)[1:]:
            assert text[c.start : c.end] == c.text
            at_paragraph_end = c.end == len(text) or text[c.end] == "\n"
            assert at_paragraph_end or c.text[-1] in ENDS, c.text[-20:]
            if len(c.text) > settings.max_chars:  # only a single over-long sentence may exceed it
                assert len(re.findall(r"[。！？；]", c.text.rstrip(ENDS))) == 0


def test_long_single_line_seed_is_split():
    doc = next(d for d in seed_docs() if d.doc_id.startswith("004"))
    assert len(doc.paragraphs) == 1 and len(doc.paragraphs[0]) > 1500
    chunks = chunk(doc, ChunkingSettings())[1:]
    assert len(chunks) >= 6
    assert all(c.paragraph == 1 for c in chunks)


def test_short_lines_join_the_next_paragraph():
    doc = Document("d.txt", "d.txt", "0", Metadata(title="T"),
                   ["背景介绍:", "这一段是正文内容，长度足够成为一个独立的段落，并且以句号结束。"])
    chunks = chunk(doc, ChunkingSettings())  # title-only metadata: no card
    assert len(chunks) == 1
    assert chunks[0].text.startswith("背景介绍:\n这一段")
    assert chunks[0].paragraph == 2 and chunks[0].start == 0


def test_metadata_card_is_paragraph_zero():
    doc = Document("d.txt", "d.txt", "0", Metadata(title="标题甲", author="程茂林", date="2009年"), ["正文。"])
    card = chunk(doc, ChunkingSettings())[0]
    assert card.paragraph == 0
    assert card.text == metadata_card(doc) == "标题：标题甲；日期：2009年；作者：程茂林。"


def test_title_only_documents_get_no_card():
    doc = Document("d.txt", "d.txt", "0", Metadata(title="泡泡战士"), ["正文内容，足够长的一句话。"])
    assert [c.paragraph for c in chunk(doc, ChunkingSettings())] == [1]


def test_ids_continue_from_first_id():
    doc = seed_docs()[0]
    chunks = chunk(doc, ChunkingSettings(), first_id=100)
    assert [c.chunk_id for c in chunks] == list(range(100, 100 + len(chunks)))
