"""Campaign charts: valid PNGs of a sane size that change with the data, empty data included."""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from agreemint.charts import card_png, progress_png, quality_png
from agreemint.services.campaign_control import ChartData

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2026, 11, 22, 9, tzinfo=UTC)


def data(answers: int = 60, labeled: int = 15, qualities: tuple[float, ...] = (0.5, 0.7, 0.9),
         ) -> ChartData:
    answer_times = [T0 + timedelta(minutes=7 * n) for n in range(answers)]
    labeled_times = [T0 + timedelta(minutes=30 + 25 * n) for n in range(labeled)]
    return ChartData(answer_times, labeled_times, 20, list(qualities), 0.6)


def size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_MAGIC
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


@pytest.mark.parametrize("render", [progress_png, quality_png, card_png])
def test_valid_png_of_sane_size(render: Callable[[ChartData, str], bytes]) -> None:
    png = render(data(), "Pets")
    width, height = size(png)
    assert 500 <= width <= 1200 and 250 <= height <= 900
    assert 5_000 < len(png) < 500_000  # well under Telegram's 10 MB photo limit
    assert png.endswith(b"IEND\xaeB`\x82")


def test_different_data_gives_a_different_image() -> None:
    assert card_png(data(), "Pets") != card_png(data(answers=90, labeled=20), "Pets")
    assert quality_png(data(), "") != quality_png(data(qualities=(0.2, 0.3)), "")
    assert progress_png(data(), "Pets") != progress_png(data(), "Cats")


def test_same_data_gives_the_same_image() -> None:
    assert card_png(data(), "Pets") == card_png(data(), "Pets")


@pytest.mark.parametrize("answers,labeled,qualities", [(0, 0, ()), (1, 0, ()), (1, 1, (1.0,))])
def test_empty_and_tiny_data_render_without_warnings(
    answers: int, labeled: int, qualities: tuple[float, ...]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = card_png(data(answers, labeled, qualities), "New campaign")
    assert size(png)[0] > 500
