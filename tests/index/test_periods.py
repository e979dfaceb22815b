"""Time phrases to periods, relative to Monday 23 November 2026."""

from __future__ import annotations

from datetime import date

import pytest

from index.periods import find_period, without_phrase

MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("question", "start", "end", "searched"),
    [
        ("what did Zakharova say this week", "2026-11-23", "2026-11-24", "what did Zakharova say"),
        (
            "what happened yesterday in Kursk?",
            "2026-11-22",
            "2026-11-23",
            "what happened in Kursk?",
        ),
        ("what happened last week", "2026-11-16", "2026-11-23", "what happened"),
        ("what did Putin say in August 2024", "2024-08-01", "2024-09-01", "what did Putin say"),
        ("who spoke since Friday?", "2026-11-20", "2026-11-24", "who spoke?"),
        ("what happened on 6 August 2024", "2024-08-06", "2024-08-07", "what happened"),
        ("what happened on August 6, 2024", "2024-08-06", "2024-08-07", "what happened"),
        ("any news since 12 August?", "2026-08-12", "2026-11-24", "any news?"),
        ("what happened in August?", "2026-08-01", "2026-09-01", "what happened?"),
        ("what happened in December?", "2025-12-01", "2026-01-01", "what happened?"),
        ("in 2024, what did Kyiv say", "2024-01-01", "2025-01-01", "what did Kyiv say"),
        ("strikes in the past 3 days", "2026-11-21", "2026-11-24", "strikes"),
        ("what did Peskov say this month", "2026-11-01", "2026-11-24", "what did Peskov say"),
        ("what did Peskov say last month", "2026-10-01", "2026-11-01", "what did Peskov say"),
    ],
)
def test_unambiguous_phrases_name_their_period(
    question: str, start: str, end: str, searched: str
) -> None:
    period = find_period(question, MONDAY)
    assert period is not None
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)
    assert without_phrase(question, period) == searched


@pytest.mark.parametrize(
    "question",
    [
        "what did Peskov say recently",
        "compare this week and last week",
        "what did Zakharova say",
        "the 2024 incursion into Kursk",  # a year as a name, not "in 2024"
        "What happened on 31 February?",
    ],
)
def test_no_period_or_more_than_one_is_no_filter(question: str) -> None:
    assert find_period(question, MONDAY) is None


def test_a_period_describes_itself_in_words() -> None:
    week = find_period("last week", MONDAY)
    day = find_period("yesterday", MONDAY)
    assert week is not None
    assert day is not None
    assert week.describe() == "from 16 November 2026 to 22 November 2026"
    assert day.describe() == "on 22 November 2026"
