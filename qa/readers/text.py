"""Plain text, Markdown and HTML: decode the bytes (BOM, UTF-8, then a detector) and hand the
text to the web-page cleaner."""

from __future__ import annotations

from pathlib import Path

from ..schema import RawFile
from .base import Reader, ReadError

# Tried in order before asking the detector: strict decodes that rarely succeed by accident.
_BOMS = [(b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")]
_DETECTABLE = ["utf_8", "gb18030", "big5", "utf_16", "cp1252"]


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes to text, returning (text, encoding). Raises ValueError when hopeless."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding), encoding
    if b"\x00" in data[:8192]:
        raise ReadError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_DETECTABLE).best()
    if best is None:
        raise ReadError("could not detect the text encoding")
    encoding = "gb18030" if best.encoding in {"gb2312", "gbk"} else best.encoding
    return str(best), encoding


class TextReader(Reader):
    suffixes = (".txt", ".md", ".markdown", ".html", ".htm")
    isolated = False  # pure Python: read in-process, no worker to start

    def read(self, path: Path, data: bytes, sha256: str) -> RawFile:
        text, encoding = decode(data)
        if not text.strip():
            raise ReadError("no text after decoding")
        return RawFile(path=str(path), name=path.name, text=text.replace("\r\n", "\n").replace("\r", "\n"),
                       encoding=encoding, sha256=sha256, is_html=path.suffix.lower() in (".html", ".htm"))
