"""The fonts of the documents: the CJK font stack HTML and SVG name, the font a chart
picture is drawn with, and the East Asian fonts of a Word document."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from domain.base import DomainError

# Fonts that draw simplified Chinese, in the order a reader's machine is likely to have
# them: Noto / Source Han (Linux, Android), YaHei (Windows), PingFang (macOS), WenQuanYi.
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
             "WenQuanYi Micro Hei", "SimHei", "Noto Sans SC")
CSS_FONT_STACK = ", ".join(f'"{name}"' for name in CJK_FONTS[:5]) + ", sans-serif"


class NoCJKFont(DomainError):
    """No font on this machine draws Chinese, so a chart picture would show boxes."""


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first of :data:`CJK_FONTS` that matplotlib can draw with, or None."""
    from matplotlib import font_manager

    def known() -> str | None:
        names = {entry.name for entry in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in names), None)

    found = known()
    if found is None:
        # matplotlib caches its font list; fonts installed since are not in it.
        listed = {entry.fname for entry in font_manager.fontManager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in listed:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue  # a file FreeType cannot read
        found = known()
    return found


@dataclass(frozen=True)
class WordStyle:
    """The fonts of a Word document: East Asian body and heading fonts (as offices expect:
    仿宋 for text, 黑体 for headings) and the Latin font."""

    body_font: str = "仿宋"
    heading_font: str = "黑体"
    latin_font: str = "Times New Roman"
