"""PNG charts for the campaign card: progress over time and the spread of worker quality.

Figures are built with the object API on the Agg canvas (no pyplot): nothing global, no display,
safe to render in a worker thread while the bot keeps serving.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

# The Agg canvas is used directly rather than through matplotlib.use(): no process-wide backend
# switch, no display needed.
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from agreemint.services.campaign_control import ChartData

ANSWERS, LABELED, QUALITY, THRESHOLD = "#4C72B0", "#55A868", "#8172B2", "#C44E52"
DPI = 110


def progress_png(data: ChartData, title: str = "") -> bytes:
    """Cumulative answers and labeled items over time."""
    figure = Figure(figsize=(7, 3.4), dpi=DPI)
    _progress(figure.add_subplot(), data, title)
    return _render(figure)


def quality_png(data: ChartData, title: str = "") -> bytes:
    """Histogram of each worker's latest quality estimate, the minimum paid quality marked."""
    figure = Figure(figsize=(7, 3.0), dpi=DPI)
    _quality(figure.add_subplot(), data, title)
    return _render(figure)


def card_png(data: ChartData, title: str = "") -> bytes:
    """Both charts in one image: one photo per campaign card."""
    figure = Figure(figsize=(7, 6.2), dpi=DPI)
    top, bottom = figure.subplots(2, 1, height_ratios=(1.15, 1))
    _progress(top, data, title)
    _quality(bottom, data, "")
    return _render(figure)


def _progress(ax: Axes, data: ChartData, title: str) -> None:
    ax.set_title(title or "Progress", loc="left", fontsize=11)
    ax.set_title("cumulative", loc="right", fontsize=9, color="dimgrey")
    if not data.answer_times:
        _empty(ax, "No answers yet")
        ax.set_xticks([])
        return
    _steps(ax, data.answer_times, "answers", ANSWERS)
    labeled = ax.twinx()  # items and answers differ in scale by the overlap: two axes
    if data.labeled_times:
        _steps(labeled, data.labeled_times, "items labeled", LABELED)
    labeled.set_ylim(0, max(data.items_total, 1) * 1.05)
    labeled.axhline(data.items_total, color=LABELED, lw=0.8, ls=":")
    labeled.set_ylabel(f"items labeled (of {data.items_total})", color=LABELED)
    ax.set_ylabel("answers", color=ANSWERS)
    ax.set_xlabel("time (UTC)")
    ax.set_ylim(bottom=0)
    locator = AutoDateLocator(maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.grid(alpha=0.25)
    handles = ax.get_legend_handles_labels()[0] + labeled.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)


def _steps(ax: Axes, times: Sequence[datetime], label: str, color: str) -> None:
    counts = list(range(1, len(times) + 1))
    # date2num: aware datetimes as UTC day numbers (what the date locator and formatter read)
    ax.step(date2num(list(times)), counts, where="post", color=color, lw=1.8, label=label)


def _quality(ax: Axes, data: ChartData, title: str) -> None:
    if title:
        ax.set_title(title, loc="left", fontsize=11)
    ax.set_xlim(0, 1)
    ax.set_xlabel("worker quality (latest estimate)")
    ax.set_ylabel("workers")
    ax.axvline(data.min_quality, color=THRESHOLD, lw=1.5, ls="--",
               label=f"minimum paid quality {data.min_quality:.0%}")
    if data.qualities:
        ax.hist(data.qualities, bins=20, range=(0, 1), color=QUALITY, edgecolor="white")
        below = sum(q < data.min_quality for q in data.qualities)
        ax.set_title(f"{len(data.qualities)} workers, {below} below the minimum",
                     loc="right", fontsize=9, color="dimgrey")
    else:
        _empty(ax, "No quality estimates yet (after the first round)", y=0.75)
        return
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole workers
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(alpha=0.25, axis="y")


def _empty(ax: Axes, text: str, y: float = 0.5) -> None:
    ax.text(0.5, y, text, transform=ax.transAxes, ha="center", va="center", color="grey")
    ax.set_yticks([])


def _render(figure: Figure) -> bytes:
    figure.set_layout_engine("constrained")
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
