"""The picture of the impact: employment around the measure, per measure, beneficiaries vs controls.

Drawn only from the disclosure-checked `employment_around_measure` table (the one written to
the export): a suppressed cell is empty there and is left out of the plot, so the picture
never shows more than the CSV next to it.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["plot_employment_around_measure"]

_STYLE = {
    "beneficiaries": {"color": "#c0392b", "label": "beneficiaries"},
    "controls": {"color": "#2c3e50", "label": "comparable controls (same sex, age class, region)"},
}


def plot_employment_around_measure(table: pd.DataFrame, path: str | Path, columns: int = 4) -> Path | None:
    """Small multiples (one panel per measure) of the share employed by quarter relative to
    the first measure quarter; the mean days worked on the right axis, dashed. Returns the
    PNG's path, or None when no cell is published."""
    data = table.copy()
    data["relative_quarter"] = pd.to_numeric(data["relative_quarter"], errors="coerce")
    for column in ("share_employed", "mean_days_worked"):
        data[column] = pd.to_numeric(data[column], errors="coerce").astype(float)
    published = data.dropna(subset=["share_employed", "mean_days_worked"], how="all")
    if published.empty:
        return None
    measures = sorted(published["measure_code"].unique(), key=lambda m: (m == "Total", m))
    rows = math.ceil(len(measures) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.1 * rows), squeeze=False,
                             sharex=True, sharey=True)
    for ax in axes.flat[len(measures):]:
        ax.set_visible(False)
    for ax, measure in zip(axes.flat, measures):
        days_ax = ax.twinx()
        days_ax.set_ylim(0, 92)
        for group, style in _STYLE.items():
            rows_ = published[(published["measure_code"] == measure) & (published["population_group"] == group)]
            rows_ = rows_.sort_values("relative_quarter")
            if rows_.empty:
                continue
            # a suppressed quarter stays a gap: the series is drawn on the full grid with NaN
            grid = rows_.set_index("relative_quarter").reindex(range(-4, 9))
            ax.plot(grid.index, grid["share_employed"], marker="o", markersize=3, color=style["color"],
                    label=f"{style['label']}: share employed")
            days_ax.plot(grid.index, grid["mean_days_worked"], linestyle="--", linewidth=1,
                         color=style["color"], alpha=0.6, label=f"{style['label']}: mean days worked")
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_ylim(0, 1)
        ax.set_title(measure if measure != "Total" else "all measures", fontsize=10)
        ax.set_xticks(range(-4, 9, 2))
        days_ax.tick_params(labelsize=7)
        ax.tick_params(labelsize=7, labelbottom=True)
    handles, labels = [], []
    for ax in fig.axes:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h)
                labels.append(l)
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.0))
    height = fig.get_figheight()
    bottom = 0.8 / height  # legend and axis label: a fixed 0.8 inch, whatever the number of rows
    fig.supxlabel("quarter relative to the first measure quarter (0)", fontsize=9, y=0.5 / height)
    fig.supylabel("share employed (solid); mean days worked, class midpoints (dashed, right)", fontsize=9)
    fig.suptitle("Employment around the measure: beneficiaries vs comparable controls "
                 "(disclosure-checked; suppressed cells left out)", fontsize=11)
    fig.tight_layout(rect=(0.02, bottom, 1, 1 - 0.35 / height))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
