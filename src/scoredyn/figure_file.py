"""Figures to files: atomic, and light enough for the Snakemake report that embeds them all.

Apart from :mod:`scoredyn.io` so that the MD rules, which draw nothing, need no imaging library.
"""

from __future__ import annotations

import io
from pathlib import Path

from scoredyn.io import atomic_path


def save_figure(fig: object, path: Path | str, dpi: int = 150) -> Path:
    """Save a matplotlib figure atomically, in the format its suffix names (png by default).

    A PNG is stored with a palette of 256 colours and no dithering: a plot holds few colours,
    the file is about a third of the full-colour one, and the Snakemake report that embeds
    every figure stays light.
    """
    fmt = Path(path).suffix.lstrip(".") or "png"
    with atomic_path(path) as tmp:
        if fmt != "png":
            fig.savefig(tmp, format=fmt, dpi=dpi)  # type: ignore[attr-defined]
        else:
            from PIL import Image

            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi)  # type: ignore[attr-defined]
            image = Image.open(buf).convert("RGB")
            image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
                tmp, format="png", optimize=True
            )
    return Path(path)
