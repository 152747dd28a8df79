"""Flow tests: ONE Prefect test harness per session, and local websites built from tests/factory.py.

``prefect_harness`` is session-scoped and opt-in (``pytestmark = pytest.mark.usefixtures(...)``), so
the other tests of this folder don't pay its ~17 s start.  Heartbeats are off and task results go to
a temporary folder, not the project's ``warehouse/.prefect``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from factory import make_facts, render

from flows.demo.site import SiteAgency, SiteServer, write_registry


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dask: starts a local Dask cluster (deselect with -m 'not dask')")


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-results")
    with (
        prefect_test_harness(server_startup_timeout=90),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, PREFECT_LOCAL_STORAGE_PATH: storage}),
    ):
        yield


@dataclass
class Site:
    """A running local site with its registry file and the facts of every report on it."""

    server: SiteServer
    root: Path
    registry: Path
    agencies: list[SiteAgency]
    facts: dict[tuple[str, int], dict]

    @property
    def base(self) -> str:
        return self.server.base


@dataclass(frozen=True)
class Spec:
    """An agency of a test site: id, name, format of its reports and how they are published."""

    id: str
    name: str
    fmt: str  # html | text | docx | pdf
    how: str = "direct"  # direct | listing | attachment
    region: str = "440101"


EXT = {"html": "html", "text": "txt", "docx": "docx", "pdf": "pdf"}


def _listing_page(name: str, links: Sequence[tuple[int, str]]) -> bytes:
    items = "".join(f'<li><a href="{href}">{name}{year}年政府信息公开工作年度报告</a></li>' for year, href in links)
    return f'<html><head><meta charset="utf-8"></head><body><ul class="list">{items}</ul></body></html>'.encode()


def _wrapper_page(name: str, year: int, href: str) -> bytes:
    return (
        f'<html><head><meta charset="utf-8"><title>{name}{year}年政府信息公开工作年度报告</title></head><body>'
        f'<h1>{name}{year}年政府信息公开工作年度报告</h1><p>附件：<a href="{href}">{name}{year}年'
        "政府信息公开工作年度报告.pdf</a></p></body></html>"
    ).encode()


def write_site(
    root: Path, specs: Sequence[Spec], years: Sequence[int], *, seed: int = 0, absent: Sequence[tuple[str, int]] = ()
) -> tuple[list[SiteAgency], dict[tuple[str, int], dict]]:
    """Write the reports of ``specs`` for ``years`` under ``root`` (``absent`` agency-years are 404s)."""
    agencies, facts = [], {}
    for i, spec in enumerate(specs):
        reports: dict[int, str] = {}
        links = []
        for year in years:
            path = f"/{spec.id}/{year}/report.{EXT[spec.fmt]}"
            if spec.how == "listing":
                links.append((year, path))
            elif spec.how == "attachment":
                page = f"/{spec.id}/{year}/index.html"
                if (spec.id, year) not in absent:
                    _put(root, page, _wrapper_page(spec.name, year, path))
                reports[year] = page
            else:
                reports[year] = path
            if (spec.id, year) in absent:
                continue
            f = make_facts(spec.name, year, seed=seed + 10 * i + year)
            facts[(spec.id, year)] = f
            _put(root, path, render(f, spec.fmt))
        listing = None
        if spec.how == "listing":
            _put(
                root,
                f"/{spec.id}/ndbg/index.html",
                _listing_page(spec.name, [(y, h) for y, h in links if (spec.id, y) not in absent]),
            )
            listing = f"/{spec.id}/ndbg/"
        agencies.append(SiteAgency(spec.id, spec.name, spec.region, "city", reports, listing))
    return agencies, facts


def _put(root: Path, path: str, data: bytes) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


class SiteKit:
    """What the flow tests use to build sites (a fixture, since test modules can't import conftest)."""

    Spec = Spec
    write_site = staticmethod(write_site)

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.servers: list[SiteServer] = []

    def serve(
        self,
        specs: Sequence[Spec],
        years: Sequence[int],
        *,
        statuses: dict[str, int] | None = None,
        absent: Sequence[tuple[str, int]] = (),
        seed: int = 0,
    ) -> Site:
        """Write the site of ``specs`` × ``years``, serve it, write its registry; a running :class:`Site`."""
        n = len(self.servers)
        root = self.tmp / f"site{n}"
        agencies, facts = write_site(root, specs, years, seed=seed, absent=absent)
        server = SiteServer(root, statuses=statuses).start()
        self.servers.append(server)
        registry = write_registry(agencies, server.base, self.tmp / f"agencies{n}.toml")
        return Site(server, root, registry, agencies, facts)

    def close(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture(scope="module")
def site_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteKit]:
    """A :class:`SiteKit` whose servers stop at the end of the module."""
    kit = SiteKit(tmp_path_factory.mktemp("sites"))
    yield kit
    kit.close()
