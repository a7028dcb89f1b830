from pathlib import Path

import pytest

from qa.loading import CorpusPathError, decode, load
from tests.conftest import SEEDS, write

TEXT = "温州后进支部已完成转化581个，确定的1180个重点疑难项目已解决880个。"
TRAD = "溫州後進支部已完成轉化581個，確定的1180個重點疑難項目已解決880個。"


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [(TEXT, "utf-8", "utf-8"), (TEXT, "gb18030", "gb18030"), (TEXT, "gbk", "gb18030"),
     (TRAD, "big5", "big5"), (TEXT, "utf-16", "utf-16"), (TEXT, "utf-8-sig", "utf-8-sig")],
)
def test_decode_detects_chinese_encodings(text, encoding, expected):
    decoded, detected = decode(text.encode(encoding))
    assert decoded.lstrip("\ufeff") == text
    assert detected == expected


def test_binary_is_refused():
    with pytest.raises(ValueError, match="binary"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def test_load_reports_bad_files_and_keeps_the_rest(tmp_path):
    write(tmp_path / "good.txt", TEXT)
    write(tmp_path / "sub" / "gbk.txt", TEXT, "gb18030")
    write(tmp_path / "page.html", f"<html><body><p>{TEXT}</p></body></html>")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")  # a truncated image: a reader's error
    (tmp_path / "tool.exe").write_bytes(b"MZ")
    (tmp_path / ".hidden.txt").write_text("ignored")
    result = load([tmp_path])
    assert sorted(f.name for f in result.files) == ["gbk.txt", "good.txt", "page.html"]
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["blob.txt"]
    assert reasons["image.png"] == "not a readable image (damaged, or not an image)"
    assert "unsupported" in reasons["tool.exe"]
    assert ".hidden.txt" not in reasons


def test_duplicate_file_names_are_reported(tmp_path):
    write(tmp_path / "a" / "same.txt", TEXT)
    write(tmp_path / "b" / "same.txt", TEXT)
    result = load([tmp_path])
    assert len(result.files) == 1
    assert "duplicate" in result.skipped[0].reason


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusPathError, match="no such file or folder"):
        load([tmp_path / "nope"])


def test_seeds_load_with_stable_ids():
    result = load([SEEDS])
    assert [f.name for f in result.files] == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert not result.skipped
    assert all(len(f.sha256) == 64 for f in result.files)
