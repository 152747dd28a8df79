"""Old Word ``.doc`` and Kingsoft WPS ``.wps`` files → ``.docx`` bytes, through LibreOffice in headless mode.

This is the one module that runs another program.  Each conversion runs ``soffice --headless
--convert-to docx`` in a fresh temporary folder holding the input, the output and LibreOffice's own
user profile (``-env:UserInstallation``), so parallel parse workers never share a profile and a
crashed conversion leaves nothing behind; it is killed, with its whole process group, after
:data:`TIMEOUT_SECONDS` (sooner when the parse's time budget runs out).  Without LibreOffice
(Writer) the file is refused with ``converter_missing`` and a message saying what to install.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from sources.parsing.document import UnreadableDocument

TIMEOUT_SECONDS = 120
_EXECUTABLES = ("soffice", "libreoffice")
INSTALL_HINT = "apt-get install -y --no-install-recommends libreoffice-writer"
_NAMES = {"doc": "旧版 Word（.doc）", "wps": "WPS（.wps）"}


def _has_writer(exe: str) -> bool:
    """LibreOffice's Writer is installed beside ``exe`` (Debian splits it from Calc: ``libreoffice-calc``
    alone gives an ``soffice`` that cannot open a Word file).  A layout not recognised counts as yes."""
    program = Path(exe).resolve().parent
    if not (program / "soffice.bin").exists():
        return True
    return any(program.glob("*swlo*"))


def find_converter() -> str | None:
    """The path of LibreOffice's ``soffice`` (or ``libreoffice``) on ``PATH``, with Writer, or None."""
    for name in _EXECUTABLES:
        path = shutil.which(name)
        if path and _has_writer(path):
            return path
    return None


def converter_missing(kind: str) -> UnreadableDocument:
    """The ``converter_missing`` refusal of a ``kind`` (doc | wps) file: what to install, in one line."""
    return UnreadableDocument(
        "converter_missing",
        f"读取{_NAMES.get(kind, kind)}文件需要 LibreOffice Writer，本机未安装：请安装"
        f"（Debian/Ubuntu：{INSTALL_HINT}），或用 Word/WPS 把文件另存为 .docx 后再读取",
    )


def to_docx(data: bytes, kind: str, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """The bytes of a ``kind`` (``doc`` | ``wps``) file converted to ``.docx`` by LibreOffice within
    ``timeout`` seconds.

    Raises :class:`UnreadableDocument`: ``converter_missing`` without LibreOffice,
    ``conversion_failed`` when it gives no ``.docx`` (a damaged file, a format it does not know,
    the timeout).
    """
    exe = find_converter()
    if exe is None:
        raise converter_missing(kind)
    name = _NAMES.get(kind, kind)
    with tempfile.TemporaryDirectory(prefix="xxgk-convert-") as tmp:
        work = Path(tmp)
        source = work / f"report.{kind}"
        source.write_bytes(data)
        command = [
            exe,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(work / "out"),
            str(source),
        ]
        # LibreOffice writes caches under HOME too: keep them in the temporary folder.
        env = {**os.environ, "HOME": str(work)}
        proc = subprocess.Popen(  # noqa: S603 - a fixed command line, the file is ours
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
        )
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # soffice starts soffice.bin: end the whole group
            proc.communicate()
            raise UnreadableDocument(
                "conversion_failed",
                f"LibreOffice 在 {timeout:.0f} 秒内没有转换完这个{name}文件：请用 Word/WPS 另存为 .docx 后再读取",
            ) from None
        out = work / "out" / "report.docx"
        if not out.is_file() or out.stat().st_size == 0:
            detail = (err.decode("utf-8", "replace").strip().splitlines() or [f"退出码 {proc.returncode}"])[-1]
            raise UnreadableDocument(
                "conversion_failed",
                f"LibreOffice 无法把这个{name}文件转换为 .docx（{detail[:200]}）：文件可能已损坏，"
                "请用 Word/WPS 打开并另存为 .docx 后再读取",
            )
        return out.read_bytes()
