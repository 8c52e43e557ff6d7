"""Figures (matplotlib, Agg backend): the critical-difference diagram and loss curves.

Functions return a :class:`matplotlib.figure.Figure` built without pyplot's global state;
:func:`png_bytes` renders one (deterministic: no timestamps in the PNG metadata).
"""
from __future__ import annotations

import io

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .stats import RankTest, cliques


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def cd_diagram(test: RankTest, title: str = "") -> Figure:
    """Demšar-style critical-difference diagram: average ranks on an axis (1 = best, left), generators
    joined by a thick bar when their ranks differ by less than the Nemenyi CD (not significantly different)."""
    ranks = test.avg_ranks
    k = len(ranks)
    half = (k + 1) // 2
    groups = cliques(ranks, test.cd)
    step, axis_y = 0.32, 0.75
    first = axis_y + 0.3 + 0.1 * len(groups)  # label rows start below the clique bars
    height = first + step * max(half, k - half) + 0.2
    fig = Figure(figsize=(7.5, height))
    ax = fig.add_axes((0.05, 0.0, 0.9, 1.0))
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(height, 0)
    ax.axis("off")
    ax.plot([1, k], [axis_y, axis_y], color="black", lw=1)
    for r in range(1, k + 1):
        ax.plot([r, r], [axis_y - 0.08, axis_y], color="black", lw=1)
        ax.text(r, axis_y - 0.12, str(r), ha="center", va="bottom", fontsize=9)
    # CD bar above the axis
    ax.plot([1, 1 + test.cd], [0.3, 0.3], color="black", lw=1.5)
    for x in (1, 1 + test.cd):
        ax.plot([x, x], [0.25, 0.35], color="black", lw=1)
    ax.text(1 + test.cd / 2, 0.22, f"CD = {test.cd:.2f}", ha="center", va="bottom", fontsize=9)
    for i, (name, r) in enumerate(ranks.items()):
        left = i < half
        row = (i if left else k - 1 - i)
        y = first + step * row
        x_text = 0.5 if left else k + 0.5
        ax.plot([r, r, x_text], [axis_y, y, y], color="0.3", lw=0.8)
        label = f"{name} ({r:.2f})" if left else f"({r:.2f}) {name}"
        ax.text(x_text, y - 0.03, label, ha="left" if left else "right", va="bottom", fontsize=9)
    for j, (a, b) in enumerate(groups):
        y = axis_y + 0.15 + 0.1 * j
        ax.plot([ranks.iloc[a] - 0.03, ranks.iloc[b] + 0.03], [y, y], color="black", lw=3.5,
                solid_capstyle="round")
    if title:
        fig.suptitle(title, fontsize=10, y=1.02)
    return fig


def loss_figure(curves: dict[str, pd.DataFrame], title: str = "") -> Figure:
    """Loss curves of one (dataset, generator): one panel per loss column, one line per seed/cell label.

    ``curves`` maps a label (e.g. ``"seed 0"``) to a ``losses.csv`` frame with a ``step`` column.
    """
    columns = list(dict.fromkeys(c for df in curves.values() for c in df.columns if c != "step"))
    n = max(1, len(columns))
    fig = Figure(figsize=(min(3.2 * n, 13), 2.6))
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, column in zip(axes, columns):
        for label, df in curves.items():
            if column in df:
                x = df["step"] if "step" in df else range(len(df))
                ax.plot(x, df[column], lw=1, label=label)
        ax.set_title(column, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
