"""Glyphs for the Chinese fonts a PDF names but does not carry (``STSong-Light``, ``宋体`` …), so that
pdfium's text page holds all of the page's text.

pdfium measures a text object by its glyphs.  A font that is not embedded is drawn with a font of
the machine; without a Chinese one (a server, a container) every CJK glyph is empty, and pdfium's
text page then loses text: a text object of one CJK character has no width and is skipped (a wrapped
table label loses its last character: ``商业企`` for ``商业企业``), and a text object repeating one of
the five before it at the same x is taken for fake bold and skipped (a repeated line of narrative
vanishes).  The character boxes the PDF reader uses come from the PDF's ``/W`` widths and the font
descriptor's ascent and descent, not from the glyphs: they were never wrong, only missing.

:func:`install` hands pdfium, for every font asking for a Chinese, Japanese or Korean character set,
:data:`BOX_FONT`: a 1 KB TrueType font whose every character is a plain box (half an em wide for
ASCII and half-width forms, one em for the rest; blank for the spaces).  A real Chinese font (Noto
Sans SC is a dependency) would do as well, but pdfium loads each of its CFF glyphs once per document
(3–4 × the time pdfium takes to read the text layer); boxes cost nothing.  The glyphs are only
drawn when such a page is rendered, where the machine showed nothing before.  Other fonts keep
pdfium's own mapping.  The same font on every machine: the text layer does not depend on the fonts
installed.

Call :func:`install` with the PDF reader's pdfium lock held, before a document is opened.
"""

from __future__ import annotations

import base64
import ctypes
import io
from typing import Any

#: Windows character sets pdfium passes to ``MapFont``: ShiftJIS, Hangeul, GB2312, ChineseBig5.
_CJK_CHARSETS = frozenset({128, 129, 134, 136})
#: The font handle this module hands to pdfium (any non-null value; pdfium gives it back to us).
_HANDLE = 0x584B
_FACE = b"xxgk CJK boxes\0"
_GB2312 = 134

#: :func:`build_box_font`'s output (checked by the tests), so that no process pays fontTools' ~1 s.
BOX_FONT = base64.b64decode(
    "AAEAAAAKAIAAAwAgT1MvMkUfJ/cAAAEoAAAAYGNtYXAAF3h6AAABnAAAAHxnbHlmue+2BQAAAiQAAAA0aGVhZGL/Q9gA"
    "AACsAAAANmhoZWEHWgN1AAAA5AAAACRobXR4C7gAAAAAAYgAAAASbG9jYQAaACcAAAIYAAAADG1heHAABwAGAAABCAAA"
    "ACBuYW1ltIv5YgAAAlgAAAB1cG9zdIhxffcAAALQAAAASAABAAAAAQAAQOxv7F8PPPUAAwPoAAAAAAAAAAAAAAAAAAAA"
    "AAAA/4gD6ANwAAAAAwACAAAAAAAAAAEAAANw/4gAAAPoAAAAAAPoAAEAAAAAAAAAAAAAAAAAAAAEAAEAAAAFAAQAAQAA"
    "AAAAAgAAAAAAAAAAAAAAAAAAAAAAAwMgAZAABQAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD/////+f//"
    "/+gf//8AfwAfPz8/PwAAACD//wNw/4gAAANwAHgAAAAAAAAAAAAAAAAAAAAgAAAD6AAAAfQAAAH0AAAD6AAAAAAAAAAA"
    "AAEAAwAKAAAADAANAAAAAABwAAAAAAAAAAgAAAAgAAAAIAAAAAEAAAAhAAAAfgAAAAIAAAB/AAAv/wAAAAMAADAAAAAw"
    "AAAAAAQAADABAADX/wAAAAMAAOAAAAD/YAAAAAMAAP9hAAD/3AAAAAIAAP/dAAD//wAAAAMAAAAAAAAADQAaABoAAQAA"
    "/4gB9ANwAAMAABURIREB9HgD6PwYAAABAAD/iAPoA3AAAwAAFREhEQPoeAPo/BgAAAAABAA2AAEAAAAAAAEADgAAAAEA"
    "AAAAAAIABwAOAAMAAQQJAAEAHAAVAAMAAQQJAAIADgAxeHhnayBDSksgYm94ZXNSZWd1bGFyAHgAeABnAGsAIABDAEoA"
    "SwAgAGIAbwB4AGUAcwBSAGUAZwB1AGwAYQByAAAAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABQAAAAMB"
    "AgEDAQQEaGFsZgRmdWxsEWlkZW9ncmFwaGljX3NwYWNl"
)

_installed: Any = None  # the handler, kept alive while pdfium may call it


def build_box_font() -> bytes:
    """The TrueType font of :data:`BOX_FONT`: every BMP character a box from 120 below the baseline to
    880 above (the ascent and descent of a CJK font), 500 units wide for ASCII and half-width forms,
    1000 for the rest; the ASCII and ideographic spaces blank.  One format-13 cmap (many characters to
    one glyph), fixed timestamps: the same bytes every time."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib.tables._c_m_a_p import CmapSubtable

    def box(width: int) -> Any:
        pen = TTGlyphPen(None)
        pen.moveTo((0, -120))
        pen.lineTo((0, 880))
        pen.lineTo((width, 880))
        pen.lineTo((width, -120))
        pen.closePath()
        return pen.glyph()

    order = [".notdef", "space", "half", "full", "ideographic_space"]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap({0x20: "space"})
    cmap = {cp: "full" for cp in range(0x21, 0x10000) if not 0xD800 <= cp < 0xE000}
    cmap.update({cp: "half" for cp in [*range(0x21, 0x7F), *range(0xFF61, 0xFFDD)]})
    cmap.update({0x20: "space", 0x3000: "ideographic_space"})
    table = CmapSubtable.newSubtable(13)
    table.platformID, table.platEncID, table.language, table.cmap = 3, 10, 0, cmap
    builder.font["cmap"].tables = [table]
    blank = TTGlyphPen(None).glyph()
    glyphs = {".notdef": blank, "space": blank, "half": box(500), "full": box(1000), "ideographic_space": blank}
    builder.setupGlyf(glyphs)
    widths = {".notdef": 1000, "space": 500, "half": 500, "full": 1000, "ideographic_space": 1000}
    builder.setupHorizontalMetrics({name: (width, 0) for name, width in widths.items()})
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    builder.setupNameTable({"familyName": "xxgk CJK boxes", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    builder.setupPost()
    builder.updateHead(created=0, modified=0)
    builder.font.recalcTimestamp = False
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


def install() -> bool:
    """Install the CJK font handler once per process (True once installed)."""
    global _installed
    if _installed is not None:
        return True
    from pypdfium2._helpers.sysfontinfo import PdfSysfontBase

    class _CjkBoxes(PdfSysfontBase):
        """pdfium's own font mapping, but :data:`BOX_FONT` for every CJK character set."""

        def MapFont(self, _: Any, weight: int, italic: int, charset: int, pitch: int, face: Any, exact: Any) -> Any:  # noqa: N802
            if charset in _CJK_CHARSETS:
                return _HANDLE
            return self.default.MapFont(self.default, weight, italic, charset, pitch, face, exact)

        def GetFontData(self, _: Any, handle: Any, table: int, buffer: Any, size: int) -> int:  # noqa: N802
            if handle != _HANDLE:
                return int(self.default.GetFontData(self.default, handle, table, buffer, size))
            if table:  # one table (pdfium asks for 'ttcf'): only the whole file is given
                return 0
            if buffer and size >= len(BOX_FONT):
                ctypes.memmove(buffer, BOX_FONT, len(BOX_FONT))
            return len(BOX_FONT)

        def GetFaceName(self, _: Any, handle: Any, buffer: Any, size: int) -> int:  # noqa: N802
            if handle != _HANDLE:
                return int(self.default.GetFaceName(self.default, handle, buffer, size))
            if buffer and size >= len(_FACE):
                ctypes.memmove(buffer, _FACE, len(_FACE))
            return len(_FACE)

        def GetFontCharset(self, _: Any, handle: Any) -> int:  # noqa: N802
            return _GB2312 if handle == _HANDLE else int(self.default.GetFontCharset(self.default, handle))

        def DeleteFont(self, _: Any, handle: Any) -> None:  # noqa: N802
            if handle != _HANDLE:
                self.default.DeleteFont(self.default, handle)

    handler = _CjkBoxes()
    handler.setup()
    _installed = handler
    return True
