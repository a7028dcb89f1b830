"""Legacy Office and WPS formats (.doc, .xls, .ppt, .wps, …): converted by LibreOffice when it is
installed, then read by the modern format's reader; otherwise reported by name, with the fix."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

from ..schema import RawFile
from .base import Reader, ReadError

#: What each legacy format is converted to (and read as).
TARGETS = {".doc": ".docx", ".wps": ".docx", ".rtf": ".docx", ".odt": ".docx",
           ".xls": ".xlsx", ".et": ".xlsx", ".ods": ".xlsx",
           ".ppt": ".pptx", ".dps": ".pptx", ".odp": ".pptx"}
#: A conversion that takes longer than this is stuck (LibreOffice converts a 100-page .doc in ~3 s).
TIMEOUT_S = 180


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


class LegacyReader(Reader):
    suffixes = tuple(TARGETS)

    def __init__(self, modern: dict[str, Reader], soffice: str | None) -> None:
        self.modern = modern
        self.soffice = soffice

    def read(self, path: Path, data: bytes, sha256: str) -> RawFile:
        suffix = path.suffix.lower()
        target = TARGETS[suffix]
        if self.soffice is None:
            raise ReadError(f"{suffix} is a legacy format: install LibreOffice (apt install libreoffice-writer-nogui "
                            f"libreoffice-calc-nogui) to read it, or save the file as {target}")
        with tempfile.TemporaryDirectory(prefix="qa-convert-") as tmp:
            source = Path(tmp) / f"in{suffix}"
            source.write_bytes(data)
            # A private profile: a desktop LibreOffice that is already open would otherwise take the job.
            command = [self.soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp}/profile",
                       "--convert-to", target[1:], "--outdir", tmp, str(source)]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired as exc:
                raise ReadError(f"LibreOffice did not convert it within {TIMEOUT_S} s") from exc
            converted = source.with_suffix(target)
            if not converted.exists():
                detail = (done.stderr or done.stdout).strip().splitlines()
                raise ReadError("LibreOffice could not convert it" + (f" ({detail[-1]})" if detail else ""))
            raw = self.modern[target].read(path, converted.read_bytes(), sha256)
        return replace(raw, encoding=f"{suffix[1:]} via LibreOffice")
