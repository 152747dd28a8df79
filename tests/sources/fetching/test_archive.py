"""The content-addressed archive: layout, per-URL latest record, history, atomic writes."""

from __future__ import annotations

import hashlib
import os

import pytest

from sources.fetching.archive import Archive, ArchiveCorrupt

URL = "http://127.0.0.1:8000/meizhou/2023.html"


def test_put_stores_bytes_unchanged_under_their_sha(tmp_path):
    archive = Archive(tmp_path / "archive")
    data = "梅州市2023年政府信息公开工作年度报告".encode("gb18030")
    entry = archive.put(data, url=URL, headers={"ETag": '"v1"', "Content-Type": "text/html; charset=gbk"})
    sha = hashlib.sha256(data).hexdigest()
    assert entry.sha256 == sha
    assert archive.object_path(sha) == tmp_path / "archive" / "objects" / sha[:2] / sha
    assert archive.object_path(sha).read_bytes() == data
    assert archive.get(sha) == data
    assert entry.etag == '"v1"' and entry.content_type == "text/html; charset=gbk"
    assert entry.size == len(data) and entry.http_status == 200


def test_latest_follows_revisions_and_history_keeps_all(tmp_path):
    archive = Archive(tmp_path)
    first = archive.put(b"v1", url=URL, headers={"etag": '"a"'}, fetched_at="2024-02-01T00:00:00.000+00:00")
    second = archive.put(b"v2", url=URL, headers={"etag": '"b"', "last-modified": "Thu, 01 Feb 2024 00:00:00 GMT"})
    latest = archive.latest(URL)
    assert latest == second and latest.sha256 != first.sha256
    assert latest.etag == '"b"' and latest.last_modified == "Thu, 01 Feb 2024 00:00:00 GMT"
    assert [e.sha256 for e in archive.history(URL)] == [first.sha256, second.sha256]
    assert archive.get(first.sha256) == b"v1"  # the old version stays readable
    assert archive.latest("http://127.0.0.1:8000/other") is None


def test_same_bytes_are_stored_once(tmp_path):
    archive = Archive(tmp_path)
    a = archive.put(b"same", url=URL)
    b = archive.put(b"same", url=URL + "?copy")
    assert a.sha256 == b.sha256
    assert len(list((tmp_path / "objects").rglob("*"))) == 2  # one folder, one object


def test_mark_checked_keeps_the_download_time(tmp_path):
    archive = Archive(tmp_path)
    entry = archive.put(b"x", url=URL, fetched_at="2024-02-01T00:00:00.000+00:00")
    checked = archive.mark_checked(URL, "2024-03-01T00:00:00.000+00:00")
    assert checked.fetched_at == entry.fetched_at
    assert archive.latest(URL).checked_at == "2024-03-01T00:00:00.000+00:00"
    assert archive.mark_checked("http://never/seen") is None


def test_get_missing_and_corrupt_objects(tmp_path):
    archive = Archive(tmp_path)
    with pytest.raises(KeyError):
        archive.get("0" * 64)
    sha = archive.put_bytes(b"original")
    archive.object_path(sha).write_bytes(b"tampered")
    with pytest.raises(ArchiveCorrupt):
        archive.get(sha)


def test_a_crash_while_writing_leaves_no_half_file(tmp_path, monkeypatch):
    archive = Archive(tmp_path)

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        archive.put(b"report bytes", url=URL)
    monkeypatch.undo()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert archive.latest(URL) is None


def test_torn_index_line_is_skipped(tmp_path):
    archive = Archive(tmp_path)
    archive.put(b"one", url=URL)
    with open(tmp_path / "index.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"url": "http://half')  # a crash mid-append
    archive.put(b"two", url=URL)
    assert [e.size for e in archive.history(URL)] == [3, 3]


def test_fetch_log_round_trip(tmp_path):
    archive = Archive(tmp_path)
    archive.log({"url": URL, "status": "refused", "reason": "host evil.example.org is not in allowed_hosts"})
    assert archive.events() == [
        {"url": URL, "status": "refused", "reason": "host evil.example.org is not in allowed_hosts"}
    ]


def test_memo_round_trip_and_absent(tmp_path):
    from sources.fetching.archive import Archive

    archive = Archive(tmp_path / "archive")
    assert archive.memo_get("page", "ab" * 32) is None
    archive.memo_put("page", "ab" * 32, {"report_like": True, "markers": ["表三"]})
    assert archive.memo_get("page", "ab" * 32) == {"report_like": True, "markers": ["表三"]}


def test_a_memo_written_without_fsync_reads_back_and_a_truncated_one_reads_as_absent(tmp_path, monkeypatch):
    archive = Archive(tmp_path / "archive")
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    archive.memo_put("page", "cd" * 32, {"report_like": False}, durable=False)
    assert synced == []  # the page analysis memo: recomputed if lost, never synced
    archive.memo_put("body_images", "cd" * 32, {"images": []})
    assert len(synced) == 1  # other memos stay durable
    assert archive.memo_get("page", "cd" * 32) == {"report_like": False}
    archive._memo_path("page", "cd" * 32).write_bytes(b'{"report_li')  # what a power loss may leave
    assert archive.memo_get("page", "cd" * 32) is None


def test_image_sources_skip_a_page_without_images_and_see_any_letter_case():
    from sources.parsing.readers.body_images import image_sources

    table = "<table><tr><td>规章</td></tr><tr><td>本年新收</td></tr></table>"  # 表四 (行政复议) missing
    page = f'<html><head><meta charset="utf-8"></head><body>{table}<IMG SRC="t4.png"></body></html>'.encode()
    assert image_sources(page) == ["t4.png"]
    assert image_sources(page.replace(b'<IMG SRC="t4.png">', b"")) == []
