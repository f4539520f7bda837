"""The documents' charts, drawn with matplotlib.

A chart in HTML is SVG whose labels stay text, naming a CJK font stack, so the reader's own
fonts draw the Chinese. A chart placed in a Word document is a picture: its labels are
drawn here, with a font of this machine that has the glyphs (:func:`projections.fonts.
cjk_font`), or the picture is refused rather than drawn with boxes for characters.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from projections.fonts import CJK_FONTS, NoCJKFont, cjk_font

Series = dict[str, list[dict[str, Any]]]  # per level: [{"month", "mean_score", "on_time_rate"}]


def _draw(trend: Series, name: Callable[[str], str], titles: Sequence[str],
          fonts: dict[str, Any], out: Any, **saved: Any) -> None:
    """Each level's mean score and on-time rate by month, saved to ``out`` (fonts are
    looked up when the figure is saved, so it is drawn and saved with the same ones)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import PercentFormatter

    with matplotlib.rc_context(fonts):
        figure, (scores, rates) = plt.subplots(1, 2, figsize=(10, 3.6))
        try:
            for level, series in trend.items():
                months = [p["month"] for p in series]
                scores.plot(months, [p["mean_score"] for p in series], marker="o",
                            label=name(level))
                rates.plot(months, [None if p["on_time_rate"] is None
                                    else p["on_time_rate"] * 100 for p in series],
                           marker="o", label=name(level))
            scores.set_title(titles[0])
            rates.set_title(titles[1])
            rates.set_ylim(0, 100)
            rates.yaxis.set_major_formatter(PercentFormatter())
            for axes in (scores, rates):
                axes.tick_params(axis="x", labelrotation=45, labelsize=8)
                axes.grid(alpha=0.3)
                axes.legend(fontsize=8)
            figure.tight_layout()
            figure.savefig(out, **saved)
        finally:
            plt.close(figure)


def trend_svg(trend: Series, name: Callable[[str], str], titles: Sequence[str]) -> str:
    """The chart as an SVG element whose labels are text in the CJK font stack (the
    reader's fonts draw them)."""
    fonts = {"svg.fonttype": "none", "svg.hashsalt": "taizhang", "font.family": "sans-serif",
             "font.sans-serif": [*CJK_FONTS[:5], "DejaVu Sans"]}
    buffer = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyphs this machine lacks: the reader's fonts draw
        _draw(trend, name, titles, fonts, buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def trend_png(trend: Series, name: Callable[[str], str], titles: Sequence[str],
              dpi: int = 200) -> bytes:
    """The chart as a PNG picture, its Chinese drawn with a CJK font of this machine."""
    font = cjk_font()
    text = "".join([*titles, *(name(level) for level in trend)])
    if font is None and any(ord(c) > 0x2E7F for c in text):
        raise NoCJKFont("本机没有能显示中文的字体，图表图片会显示成方框：请安装 {fonts} 之一"
                        "（Debian：apt-get install fonts-noto-cjk）",
                        fonts=", ".join(CJK_FONTS[:5]))
    fonts = {"font.family": "sans-serif",
             "font.sans-serif": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}
    buffer = io.BytesIO()
    _draw(trend, name, titles, fonts, buffer, format="png", dpi=dpi,
          metadata={"Software": None})
    return buffer.getvalue()
