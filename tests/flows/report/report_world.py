"""The documents, registry and warehouse shared by the report tests (the fixtures are in conftest.py).

Oversight office ``huaian`` (淮安市政务公开办公室), report year 2023, after both runs:

* 淮安市洪泽区人民政府 — PDF; 2023 has 洪泽区's 表四 error (行政复议 10/1/0/0, 总计 0): quarantined;
* 淮安市洪泽区教育局 — published 2024-02-20, after the 31 January deadline: promoted, late;
* 淮安市清江浦区财政局 — run 1 a 表三 balance error (quarantined), run 2 a corrected revision: promoted;
* 淮安市清江浦区卫生健康委员会 — no 2023 report in run 1, one with a 表三 row-total error in run 2;
* 淮安市清江浦区司法局 — 2022 only: missing.

Office ``suqian`` has one agency (宿迁市教育局), promoted.  ``previous`` is the snapshot of the
report of ``huaian`` after run 1, for the "changed since the last report" tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import factory as f
import pytest

from flows.ingest import ingest_paths
from flows.report.data import Report
from sources.registry import Registry, parse_registry
from warehouse.config import WarehouseConfig

YEAR = 2023
HONGZE = "淮安市洪泽区人民政府"
EDU = "淮安市洪泽区教育局"
FIN = "淮安市清江浦区财政局"
HEALTH = "淮安市清江浦区卫生健康委员会"
JUSTICE = "淮安市清江浦区司法局"
SUQIAN = "宿迁市教育局"

AGENCIES = [  # id, name, region, oversight
    ("hz-gov", HONGZE, "320813", "huaian"),
    ("hz-edu", EDU, "320813", "huaian"),
    ("qjp-fin", FIN, "320812", "huaian"),
    ("qjp-health", HEALTH, "320812", "huaian"),
    ("qjp-justice", JUSTICE, "320812", "huaian"),
    ("sq-edu", SUQIAN, "321300", "suqian"),
]


def registry_text(huaian_name: str = "淮安市政务公开办公室") -> str:
    """The registry TOML of the test offices and agencies."""
    parts = [
        f'[[oversight]]\nid = "huaian"\nname = "{huaian_name}"\n'
        'recipients = ["gkb@huaian.example.org", "audit@huaian.example.org"]\n',
        '[[oversight]]\nid = "suqian"\nname = "宿迁市政务公开办公室"\nrecipients = ["gkb@suqian.example.org"]\n',
    ]
    for ident, name, region, office in AGENCIES:
        parts.append(
            f'[[agency]]\nid = "{ident}"\nname = "{name}"\nregion = "{region}"\nlevel = "county"\n'
            f'oversight = "{office}"\n[agency.reports]\n2023 = "docs/{ident}-2023.html"\n'
        )
    return "\n".join(parts)


def documents() -> dict[str, dict[str, Any]]:
    """Facts of every document, by ``<agency id>-<year>[-run2]``."""
    docs = {
        "hz-gov-2022": f.make_facts(HONGZE, 2022, seed=11),
        "hz-gov-2023": f.make_facts(HONGZE, 2023, seed=12),
        "hz-edu-2022": f.make_facts(EDU, 2022, seed=13),
        "hz-edu-2023": f.make_facts(EDU, 2023, seed=14, published="2024-02-20"),
        "qjp-fin-2022": f.make_facts(FIN, 2022, seed=15),
        "qjp-fin-2023": f.make_facts(FIN, 2023, seed=16, published="2024-01-20"),
        "qjp-health-2022": f.make_facts(HEALTH, 2022, seed=17),
        "qjp-justice-2022": f.make_facts(JUSTICE, 2022, seed=18),
        "sq-edu-2023": f.make_facts(SUQIAN, 2023, seed=19),
        "qjp-health-2023-run2": f.make_facts(HEALTH, 2023, seed=20, published="2024-01-25"),
    }
    docs["hz-gov-2023"]["cells"] = f.break_t4_total(docs["hz-gov-2023"]["cells"])  # 10/1/0/0, 总计 0
    docs["qjp-fin-2023-run2"] = {**docs["qjp-fin-2023"], "published": "2024-01-28"}
    docs["qjp-fin-2023"] = {**docs["qjp-fin-2023"], "cells": f.break_t3_balance(docs["qjp-fin-2023"]["cells"])}
    docs["qjp-health-2023-run2"]["cells"] = f.break_t3_row_total(docs["qjp-health-2023-run2"]["cells"])
    return docs


def _write(folder: Path, name: str, facts: dict[str, Any]) -> Path:
    fmt = "pdf" if name.startswith("hz-gov") else "html"
    path = folder / f"{name}.{fmt}"
    path.write_bytes(f.render(facts, fmt))
    return path


@dataclass
class ReportWorld:
    """The shared warehouse of the report tests."""

    cfg: WarehouseConfig
    registry: Registry
    registry_path: Path
    docs: dict[str, dict[str, Any]]
    paths: dict[str, Path]
    previous: dict[str, Any]
    first: Report
    root: Path


def build_world(root: Path) -> ReportWorld:
    """Write the documents, the registry, and ingest them into ``root/wh`` in two runs (see module docstring)."""
    from flows.report.service import build_reports

    docs_dir = root / "docs"
    docs_dir.mkdir()
    docs = documents()
    paths = {name: _write(docs_dir, name, facts) for name, facts in docs.items()}
    cfg = WarehouseConfig.resolve(root / "wh" / "xxgk.duckdb")
    registry_path = root / "agencies.toml"
    registry_path.write_text(registry_text(), encoding="utf-8")
    registry = parse_registry(registry_text(), str(registry_path), root)
    ingest_paths([p for n, p in paths.items() if not n.endswith("run2")], warehouse=cfg, data_docs=False)
    (first,) = build_reports(YEAR, cfg, registry, "huaian", outbox=root / "no-outbox")
    ingest_paths([p for n, p in paths.items() if n.endswith("run2")], warehouse=cfg, data_docs=False)
    return ReportWorld(cfg, registry, registry_path, docs, paths, first.snapshot(), first, root)


def agency(report: Report, name: str) -> Any:
    """The :class:`AgencyStatus` of ``name`` in ``report``."""
    return next(a for a in report.agencies if a.name == name)


_WORLDS: dict[str, ReportWorld] = {}


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> ReportWorld:
    """The shared warehouse, built once per session (two ingest runs) whichever module asks first.

    Test modules import this fixture (``from report_world import world``) rather than a conftest.py:
    other test folders import their own ``conftest`` by name, which a second conftest.py would shadow.
    """
    if "world" not in _WORLDS:
        _WORLDS["world"] = build_world(tmp_path_factory.mktemp("report-world"))
    return _WORLDS["world"]


@pytest.fixture(scope="session")
def report(world: ReportWorld) -> Report:
    """The report of office ``huaian`` for 2023 after run 2, compared with the report after run 1."""
    from flows.report.data import build_report, expected_from_registry
    from flows.report.service import reader

    office, expected = expected_from_registry(world.registry, "huaian")
    with reader(world.cfg) as con:
        return build_report(con, YEAR, office, expected, world.previous, warehouse=str(world.cfg.db_path))
