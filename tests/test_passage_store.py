import json
import threading

import pytest

from qa.passage_store import LEGACY_FILE, PassageStore, open_passages, write_passages
from qa.schema import Chunk


def chunks(n: int) -> list[Chunk]:
    return [Chunk(i, f"doc{i // 3}.txt", f"标题{i // 3}", i % 3, 0, 5, f"第{i}段正文", {"date": "09月20日"} if i % 2 else {})
            for i in range(n)]


def test_round_trip_by_row_slice_and_iteration(tmp_path):
    original = chunks(25)
    assert write_passages(tmp_path / "p.sqlite", original, batch=7) == 25
    store = PassageStore(tmp_path / "p.sqlite")
    assert len(store) == 25 and store[0] == original[0] and store[13] == original[13] and store[-1] == original[-1]
    assert store[3:6] == original[3:6] and list(store) == original
    with pytest.raises(IndexError):
        store[25]


def test_threads_share_one_store(tmp_path):
    write_passages(tmp_path / "p.sqlite", chunks(200))
    store, errors = PassageStore(tmp_path / "p.sqlite"), []

    def read(offset: int) -> None:
        try:
            for i in range(offset, 200, 4):
                assert store[i].chunk_id == i
        except Exception as exc:  # collected, so the test fails in the main thread
            errors.append(exc)

    workers = [threading.Thread(target=read, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors


def test_indexes_written_before_sqlite_still_open(tmp_path):
    original = chunks(4)
    (tmp_path / LEGACY_FILE).write_text("".join(json.dumps(c.to_json(), ensure_ascii=False) + "\n" for c in original),
                                        "utf-8")
    assert list(open_passages(tmp_path)) == original
