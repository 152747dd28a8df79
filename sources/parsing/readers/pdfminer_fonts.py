"""Unicode for the CID fonts of a PDF whose ``/CIDSystemInfo`` cannot be read, for pdfplumber (the
reader of the table pages pdfium's page model cannot give: rotated pages, an offset media box).

pdfminer (under pdfplumber) maps a CID font's glyphs to Unicode through the character collection its
``/CIDSystemInfo`` names (``Adobe``-``GB1``).  In an encrypted PDF every string is decrypted first,
and reportlab (the ``reportlab.lib.pdfencrypt`` of many report generators) writes those two strings
unencrypted: decrypted, they become noise, pdfminer finds no collection and every character of a
non-embedded Chinese font (STSong-Light) comes out as ``(cid:N)`` — a report whose text pdfium reads
had 0 of its 200 cells read from its tables when pdfplumber read them.  The font's predefined CMap
(``/Encoding /UniGB-UCS2-H``) names the same collection, so a font left without Unicode gets it from
there.
"""

from __future__ import annotations

from collections.abc import Mapping

from pdfminer.cmapdb import CMapDB
from pdfminer.pdffont import PDFCIDFont, PDFFont
from pdfminer.pdfinterp import PDFResourceManager
from pdfminer.psparser import PSLiteral

#: The character collection of Adobe's predefined CMaps, by the start of their names.
_COLLECTIONS = (
    (("UniGB", "GB", "GBK", "GBpc", "GBT"), "Adobe-GB1"),
    (("UniCNS", "B5", "CNS", "ETen", "HKscs", "ETHK", "HKdla", "HKdlb", "HKgccs", "HKm"), "Adobe-CNS1"),
    (("UniKS", "KSC"), "Adobe-Korea1"),
    (("UniJIS", "90ms", "90pv", "83pv", "Add", "EUC", "Ext", "RKSJ", "NWP"), "Adobe-Japan1"),
)


def collection(encoding: object) -> str | None:
    """The character collection (``Adobe-GB1`` …) of a predefined CMap named by a font's ``/Encoding``,
    ``None`` for an embedded CMap or an unknown name."""
    if not isinstance(encoding, PSLiteral):
        return None
    name = str(encoding.name)
    for prefixes, found in _COLLECTIONS:
        if name.startswith(prefixes):
            return found
    return None


class FontRepairs(PDFResourceManager):
    """pdfminer's resource manager, giving a CID font left without Unicode the collection of its CMap."""

    def get_font(self, objid: object, spec: Mapping[str, object]) -> PDFFont:
        font = super().get_font(objid, spec)
        if isinstance(font, PDFCIDFont) and font.unicode_map is None:
            found = collection(spec.get("Encoding"))
            if found is not None and found != font.cidcoding:
                try:
                    font.unicode_map = CMapDB.get_unicode_map(found, font.cmap.is_vertical())
                except CMapDB.CMapNotFound:
                    return font
                font.cidcoding = found
        return font
