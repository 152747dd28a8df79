"""A local government website for the demo, the benchmark and the tests — no network needed.

* :class:`SiteServer` serves a folder on ``127.0.0.1`` (a free port) with a ``ThreadingHTTPServer``,
  in a thread or (``process=True``, for the benchmark) in a child process.  It answers conditional
  requests (``If-Modified-Since`` → 304), so a re-run downloads nothing; anything not in the folder
  is a 404.
* :func:`build_demo_site` writes the demo site from the bundled samples (``sources/samples/``, the
  agency names and years read from its ``expected.json``): a direct report URL (text), a
  信息公开年报 listing page (HTML report), a report published as the PDF attachment of an HTML page,
  a direct DOCX, and an agency whose 2023 report is missing (404; its 2022 report is online).
  :func:`registry_toml` writes the matching agency registry once the server's address is known.
* :func:`build_bench_site` writes N distinct reports for ``xxgk bench run`` from the bench corpus
  (``flows/bench/corpus``: ~100 KB HTML pages with site boilerplate, one in four GBK; 5–6-page PDFs
  with ruled tables split across pages; DOCX with merged cells), 61 % HTML, 28 % PDF, 11 % DOCX,
  each made distinct by an HTML comment / a PDF trailing comment / a ZIP comment.

Only the standard library is imported here, so the benchmark's server process starts quickly.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

DEMO_YEAR = 2023
OVERSIGHT = ("demo-gkb", "示例市政务公开办公室", "gkb@example.org")


@dataclass(frozen=True)
class SiteAgency:
    """One agency of a generated site: registry identity and its report URLs (paths on the site) per year."""

    id: str
    name: str
    region: str
    level: str
    reports: dict[int, str] = field(default_factory=dict)
    listing: str | None = None
    note: str = ""


# ============================================================================ the server


class _Handler(SimpleHTTPRequestHandler):
    # Connections kept open between requests, as published sites do (HTTP/1.0 closed each one: a re-run
    # of unchanged reports then paid a TCP connection and a server thread per conditional request).
    protocol_version = "HTTP/1.1"
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html",
        ".txt": "text/plain; charset=utf-8",
        ".pdf": "application/pdf",
        ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass

    def send_head(self) -> Any:
        status = getattr(self.server, "statuses", {}).get(self.path.split("?", 1)[0])
        if status:  # a configured failure (an overloaded or broken server)
            self.send_error(status)
            return None
        return super().send_head()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    statuses: dict[str, int] = {}

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up is not an error of the site


def _serve(root: str, port_out: Any, statuses: dict[str, int]) -> None:
    """Child-process entry: serve ``root`` and report the port through ``port_out``."""
    server = _Server(("127.0.0.1", 0), partial(_Handler, directory=root))
    server.statuses = statuses
    port_out.put(server.server_address[1])
    server.serve_forever(poll_interval=0.1)


class SiteServer:
    """Serves the folder ``root`` on 127.0.0.1; use as a context manager.  ``base`` is ``http://127.0.0.1:PORT``.

    ``statuses`` maps URL paths to an HTTP error status always answered there (e.g. 503).
    """

    def __init__(self, root: str | Path, *, process: bool = False, statuses: dict[str, int] | None = None):
        self.root = Path(root)
        self.process = process
        self.statuses = dict(statuses or {})
        self.base = ""
        self._server: _Server | None = None
        self._child: Any = None

    def start(self) -> SiteServer:
        """Start serving (a daemon thread, or a child process when ``process``)."""
        if self.process:
            import multiprocessing

            mp = multiprocessing.get_context("spawn")
            ports = mp.Queue()
            self._child = mp.Process(target=_serve, args=(str(self.root), ports, self.statuses), daemon=True)
            self._child.start()
            port = ports.get(timeout=60)
        else:
            self._server = _Server(("127.0.0.1", 0), partial(_Handler, directory=str(self.root)))
            self._server.statuses = self.statuses
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    @property
    def pid(self) -> int | None:
        """The pid of the serving child process (``None`` when serving from a thread of this process)."""
        return self._child.pid if self._child is not None else None

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._child is not None:
            self._child.terminate()
            self._child.join(5)
            self._child = None

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ============================================================================ registry


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def registry_toml(agencies: Sequence[SiteAgency], base: str) -> str:
    """The agency registry (TOML) of a generated site served at ``base``."""
    oid, oname, mail = OVERSIGHT
    lines = [
        "[[oversight]]",
        f"id = {_toml_str(oid)}",
        f"name = {_toml_str(oname)}",
        f"recipients = [{_toml_str(mail)}]",
        "",
    ]
    for a in agencies:
        lines += [
            "[[agency]]",
            f"id = {_toml_str(a.id)}",
            f"name = {_toml_str(a.name)}",
            f"region = {_toml_str(a.region)}",
            f"level = {_toml_str(a.level)}",
            f"oversight = {_toml_str(oid)}",
            'allowed_hosts = ["127.0.0.1"]',
        ]
        if a.reports:
            lines.append("[agency.reports]")
            lines += [f"{year} = {_toml_str(base + path)}" for year, path in sorted(a.reports.items())]
        if a.listing:
            lines += ["[agency.listing]", f"url = {_toml_str(base + a.listing)}", 'title = "{year}年*年度报告"']
        lines.append("")
    return "\n".join(lines)


def write_registry(agencies: Sequence[SiteAgency], base: str, path: str | Path) -> Path:
    """Write :func:`registry_toml` to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(registry_toml(agencies, base), encoding="utf-8")
    return path


# ============================================================================ the demo site


def samples_dir() -> Path:
    """The bundled sample reports (``sources/samples``)."""
    return Path(str(resources.files("sources") / "samples"))


def _expected() -> dict[str, Any]:
    return json.loads((samples_dir() / "expected.json").read_text(encoding="utf-8"))


def _page(title: str, body: str) -> bytes:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f'<body><div class="nav"><a href="/">首页</a> &gt; 政府信息公开</div>{body}'
        '<div class="footer">示例市人民政府办公室 主办</div></body></html>'
    ).encode()


def _put(root: Path, path: str, data: bytes) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def build_demo_site(root: str | Path) -> list[SiteAgency]:
    """Write the demo site under ``root`` from the bundled samples; the agencies it publishes."""
    root, samples, facts = Path(root), samples_dir(), _expected()
    name = {doc: f["agency"] for doc, f in facts.items()}

    _put(root, "/rsj/xxgk/2023nb.txt", (samples / "rsj-2023.txt").read_bytes())
    _put(root, "/zrzyj/ndbg/t20240119_2023.html", (samples / "zrzyj-2023.html").read_bytes())
    _put(
        root,
        "/zrzyj/ndbg/index.html",
        _page(
            "政府信息公开年报",
            (
                '<ul class="list">'
                f'<li><a href="t20240119_2023.html">{name["zrzyj-2023.html"]}2023年政府信息公开工作年度报告</a></li>'
                '<li><a href="t20240120_jd.html">图解：2023年政府信息公开工作年度报告</a></li>'
                f'<li><a href="t20230125_2022.html">{name["zrzyj-2023.html"]}2022年政府信息公开工作年度报告</a></li>'
                "</ul>"
            ),
        ),
    )
    _put(root, "/xzf/files/P020240328_ndbg.pdf", (samples / "xzf-2023.pdf").read_bytes())
    _put(
        root,
        "/xzf/xxgk/2023nb.html",
        _page(
            f"{name['xzf-2023.pdf']}2023年政府信息公开工作年度报告",
            (
                f"<h1>{name['xzf-2023.pdf']}2023年政府信息公开工作年度报告</h1><p>发布日期：2024-03-28</p>"
                '<p>附件：<a href="/xzf/files/P020240328_ndbg.pdf">'
                f"{name['xzf-2023.pdf']}2023年政府信息公开工作年度报告.pdf</a></p>"
            ),
        ),
    )
    _put(root, "/jyj/xxgk/2023nb.docx", (samples / "jyj-2023.docx").read_bytes())
    _put(root, "/scjgj/xxgk/2022nb.html", (samples / "scjgj-2022-gbk.html").read_bytes())
    _put(root, "/index.html", _page("示例市人民政府", "<p>示例站点（xxgk 演示）</p>"))
    return [
        SiteAgency(
            "demo-rsj", name["rsj-2023.txt"], "440101", "city", {2023: "/rsj/xxgk/2023nb.txt"}, note="直接链接（文本）"
        ),
        SiteAgency(
            "demo-zrzyj", name["zrzyj-2023.html"], "440102", "county", listing="/zrzyj/ndbg/", note="信息公开年报栏目页"
        ),
        SiteAgency(
            "demo-xzf",
            name["xzf-2023.pdf"],
            "440102",
            "county",
            {2023: "/xzf/xxgk/2023nb.html"},
            note="网页附件（PDF）",
        ),
        SiteAgency(
            "demo-jyj",
            name["jyj-2023.docx"],
            "440101",
            "city",
            {2023: "/jyj/xxgk/2023nb.docx"},
            note="直接链接（DOCX）",
        ),
        SiteAgency(
            "demo-scjgj",
            name["scjgj-2022-gbk.html"],
            "440103",
            "county",
            {2022: "/scjgj/xxgk/2022nb.html", 2023: "/scjgj/xxgk/2023nb.html"},
            note="2023 年报未发布（404）",
        ),
    ]


# ============================================================================ the benchmark site

# Share of each format among published reports (HTML pages, PDF attachments, Word files).
BENCH_MIX = (("html", 0.61), ("pdf", 0.28), ("docx", 0.11))


def bench_corpus_dir() -> Path:
    """The bench corpus (``flows/bench/corpus``): reports shaped like published ones, with ``expected.json``."""
    return Path(__file__).resolve().parents[1] / "bench" / "corpus"


def bench_corpus() -> dict[str, list[Path]]:
    """The corpus files by format (``html`` includes the GBK pages), in name order."""
    out: dict[str, list[Path]] = {}
    for p in sorted(bench_corpus_dir().iterdir()):
        if p.suffix in (".html", ".pdf", ".docx"):
            out.setdefault(p.suffix[1:], []).append(p)
    return out


def vary(data: bytes, kind: str, tag: str) -> bytes:
    """``data`` made distinct (another sha256) without changing what it says: an HTML comment, a PDF
    trailing comment after ``%%EOF``, or a ZIP archive comment for DOCX."""
    if kind == "html":
        return data + f"\n<!-- {tag} -->\n".encode("ascii")
    if kind == "pdf":
        return data + f"%{tag}\n".encode("ascii")
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as z:
        z.comment = tag.encode("ascii")
    return buf.getvalue()


def bench_plan(n: int) -> list[str]:
    """The format of each of ``n`` bench documents, in the :data:`BENCH_MIX` proportions, interleaved."""
    counts = [round(n * share) for _f, share in BENCH_MIX]
    counts[0] += n - sum(counts)
    plan = [f for (f, _s), c in zip(BENCH_MIX, counts, strict=True) for _ in range(c)]
    random.Random(n).shuffle(plan)
    return plan


def _wrapper_page(title: str, attachment: str) -> bytes:
    """The article page a PDF/DOCX report is attached to (what most sites publish): site frame, a
    short text and the attachment link."""
    return _page(
        title,
        f"<h1>{title}</h1><p>发布日期：2024-01-20</p><p>现将{title}予以公布。</p>"
        f'<p>附件：<a href="{attachment}">{title}{attachment[attachment.rfind(".") :]}</a></p>',
    )


# The small bundled samples, by format: the bench's corpus before it had realistic documents (kept so
# that a throughput figure can be compared with the ones measured on it).
SAMPLE_CORPUS = {"html": ["zrzyj-2023.html"], "pdf": ["xzf-2023.pdf"], "docx": ["jyj-2023.docx"]}


def build_bench_site(
    root: str | Path, n: int, year: int = DEMO_YEAR, tag: str = "bench", corpus_name: str = "realistic"
) -> list[SiteAgency]:
    """Write ``n`` distinct reports under ``root``, one agency each; the agencies.

    Documents come from the bench corpus (:func:`bench_corpus`) in the :data:`BENCH_MIX` shares, each
    made distinct by :func:`vary`; HTML reports are linked directly, every other PDF or DOCX through
    an article page with the attachment link (the fetcher analyses that page and follows it).
    With ``corpus_name="samples"`` the documents are the small bundled samples (:data:`SAMPLE_CORPUS`),
    all linked directly, as the bench was before it had the realistic corpus.
    ``tag`` goes into every variation: a new tag gives documents no cache has seen."""
    root = Path(root)
    if corpus_name == "samples":
        corpus = {kind: [samples_dir() / f for f in files] for kind, files in SAMPLE_CORPUS.items()}
    elif corpus_name == "realistic":
        corpus = bench_corpus()
    else:
        raise ValueError(f"unknown bench corpus {corpus_name!r} (realistic | samples)")
    blobs = {kind: [p.read_bytes() for p in paths] for kind, paths in corpus.items()}
    agencies = []
    for i, kind in enumerate(bench_plan(n)):
        data = blobs[kind][i % len(blobs[kind])]
        path = f"/a{i:04d}/xxgk/{year}nb.{kind}"
        _put(root, path, vary(data, kind, f"{tag} {i}"))
        name = f"示例市第{i:04d}号局"
        if kind != "html" and i % 2 and corpus_name == "realistic":
            page = f"/a{i:04d}/xxgk/{year}nb_art.html"
            _put(root, page, _wrapper_page(f"{name}{year}年政府信息公开工作年度报告", path))
            path = page
        agencies.append(SiteAgency(f"bench-{i:04d}", name, "440100", "city", {year: path}))
    return agencies


def fresh_dir(path: str | Path) -> Path:
    """An empty folder at ``path`` (removed first if present)."""
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    os.makedirs(path)
    return path
