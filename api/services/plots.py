"""A figure drawn for a page, as the PNG bytes the page's image route answers with."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # drawn on the server: no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def png_of(fig: Figure) -> bytes:
    """The figure as PNG (100 dpi), closed once drawn so a long-running service keeps none."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
    return out.getvalue()
