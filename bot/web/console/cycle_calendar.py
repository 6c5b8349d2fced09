"""The patient page's picture of the current and the previous cycle: one cell a day, rows of
7, each with the day of the cycle and what happened (``scheduler.domain.adherence``, as
``lenabot adherence`` works it out). Every state has a word and a symbol as well as a
colour, so the picture never relies on colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from scheduler.domain.adherence import cycles, percentage
from scheduler.domain.guidance import EXTRA, LATE, MISSED, TAKE_NOW, TAKEN, UNCONFIRMED
from scheduler.domain.model import Course

SHOWN_CYCLES = 2
# status -> (word, symbol, css class); in the legend's order.
STATES: dict[str, tuple[str, str, str]] = {
    TAKEN: ("taken", "✓", "taken"),
    LATE: ("late", "L", "late"),
    MISSED: ("missed", "✗", "missed"),
    UNCONFIRMED: ("unconfirmed", "?", "unconfirmed"),
    TAKE_NOW: ("told to take it late, not yet confirmed", "…", "unconfirmed"),
    "open": ("today, not yet confirmed", "○", "open"),
    EXTRA: ("extra: taken when told to skip (counts as missed)", "X", "extra"),
    "extra_off": ("extra: taken when none was due", "+", "extra"),
    "break": ("break", "-", "break"),
    "hold": ("hold", "H", "hold"),
    "future": ("ahead", "·", "future"),
    "before_enrolment": ("before enrolment", "_", "future"),
}


@dataclass(frozen=True)
class Cell:
    day: int  # day of the cycle, from 1
    on: date
    word: str
    symbol: str
    css: str
    today: bool


@dataclass(frozen=True)
class Grid:
    number: int
    start: date
    weeks: list[list[Cell]]
    percent: float | None


def picture(course: Course, records: Mapping[date, str], today: date) -> list[Grid]:
    """The previous and the current cycle (the last ``SHOWN_CYCLES``), oldest first."""
    grids = []
    for c in cycles(course, records, today)[-SHOWN_CYCLES:]:
        cells = []
        for i, (on, status) in enumerate(c.days):
            word, symbol, css = STATES.get(status, (status, "?", "unconfirmed"))
            cells.append(Cell(i + 1, on, word, symbol, css, on == today))
        weeks = [cells[i : i + 7] for i in range(0, len(cells), 7)]
        grids.append(Grid(c.number, c.start, weeks, percentage([c])))
    return grids


def legend() -> list[tuple[str, str, str]]:
    """(symbol, word, css class) for each state, once."""
    return [(symbol, word, css) for word, symbol, css in STATES.values()]
