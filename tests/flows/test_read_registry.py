"""The year run's registry: parsed once per process for one version of the file, again once it changes."""

from __future__ import annotations

import os

from flows.demo.site import SiteAgency, write_registry
from flows.year import read_registry, select_agencies


def _agencies(n: int) -> list[SiteAgency]:
    return [
        SiteAgency(f"a{i:03d}", f"示例市第{i}局", "440100", "city", reports={2023: f"/a{i:03d}/2023.html"})
        for i in range(n)
    ]


def test_the_check_and_the_run_share_one_parse_until_the_file_changes(tmp_path):
    path = write_registry(_agencies(3), "http://127.0.0.1:9", tmp_path / "agencies.toml")
    first = read_registry(path)
    assert read_registry(path) is first  # the run after the command's check: not parsed again
    assert select_agencies(first, None) == ["a000", "a001", "a002"]

    write_registry(_agencies(4), "http://127.0.0.1:9", path)
    os.utime(path, ns=(1, 1))  # an edit within the clock's resolution is still seen (size changed)
    edited = read_registry(path)
    assert edited is not first and [a.id for a in edited.agencies] == ["a000", "a001", "a002", "a003"]
    assert select_agencies(edited, ["a003", "a001", "a003"]) == ["a003", "a001"]
