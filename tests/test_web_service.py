"""The web chat's upload limits, without a browser: checked before a file is read or copied."""

import shutil
from dataclasses import replace

import pytest

from qa.config import UploadSettings
from qa.web import ChatService


@pytest.fixture
def service(seed_settings, encoder, tmp_path):
    from qa.pipeline import Assistant

    index = tmp_path / "index"
    shutil.copytree(seed_settings.index_dir, index)
    settings = replace(seed_settings, index_dir=index, upload=UploadSettings(max_file_bytes=4096, max_files=3))
    return ChatService(settings, Assistant.open(settings, encoder=encoder))


def test_an_oversized_file_is_refused_by_name_before_it_is_read(service, tmp_path):
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:  # sparse: 8 MB on paper, nothing on disk
        fh.truncate(8 * 2**20)
    before = service.documents()
    message = service.add_files([str(big)])
    assert "big.txt: 8 MB is over the 4 KB upload limit" in message
    assert service.documents() == before
    assert not (service.settings.index_dir / "uploads").exists()


def test_too_many_files_at_once_are_refused_whole(service, tmp_path):
    files = []
    for i in range(4):
        path = tmp_path / f"n{i}.txt"
        path.write_text("龙泉镇今年新建了73座文化礼堂，全部对外开放。" * 3, "utf-8")
        files.append(str(path))
    before = service.documents()
    assert "4 files at once is over the limit of 3" in service.add_files(files)
    assert service.documents() == before
