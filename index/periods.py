"""Time phrases in a question ("this week", "yesterday", "in August 2024", "since Monday")
to the period they name, relative to a reference day.

Only phrases with one reading are understood: a weekday or month alone means the most
recent one that is not in the future; "recently" or "lately" name no period and are left
alone. Parsing is by patterns, not a library: dateparser (installed with trafilatura) reads
single dates ("12 August"), not ranges ("this week", "last month"), which are what questions
about the news use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ]
    )
    for name in names
}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = "(" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + ")"
_YEAR = r"((?:19|20)\d\d)"
Span = tuple[date, date]
Rule = Callable[[re.Match[str]], Span | None]
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date
    """Exclusive."""
    phrase: str
    """The words of the question that named it."""

    def describe(self) -> str:
        last = self.end - timedelta(days=1)
        if last == self.start:
            return f"on {self.start:%d %B %Y}".replace(" 0", " ")
        return f"from {self.start:%d %B %Y} to {last:%d %B %Y}".replace(" 0", " ")


def _month_end(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def _recent_month(month: int, today: date) -> int:
    """The year of the most recent `month` not after today."""
    return today.year if month <= today.month else today.year - 1


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _rules(today: date) -> list[tuple[re.Pattern[str], Rule]]:
    tomorrow = today + timedelta(days=1)
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    previous_first = (first - timedelta(days=1)).replace(day=1)

    def fixed(start: date, end: date) -> Rule:
        return lambda _m: (start, end)

    def since_weekday(m: re.Match[str]) -> tuple[date, date]:
        back = (today.weekday() - _WEEKDAYS[m.group(1).lower()]) % 7
        return today - timedelta(days=back), tomorrow

    def last_days(m: re.Match[str]) -> tuple[date, date]:
        raw = m.group(1).lower()
        count = int(raw) if raw.isdigit() else _NUMBERS[raw]
        unit = 7 if m.group(2).lower().startswith("week") else 1
        return today - timedelta(days=count * unit - 1), tomorrow

    def month_year(m: re.Match[str]) -> tuple[date, date]:
        month, year = _MONTHS[m.group(1).lower()], int(m.group(2))
        return date(year, month, 1), _month_end(year, month)

    def month_alone(m: re.Match[str]) -> tuple[date, date]:
        month = _MONTHS[m.group(1).lower()]
        year = _recent_month(month, today)
        return date(year, month, 1), _month_end(year, month)

    def year_alone(m: re.Match[str]) -> tuple[date, date]:
        year = int(m.group(1))
        return date(year, 1, 1), date(year + 1, 1, 1)

    def day_month_year(m: re.Match[str]) -> tuple[date, date] | None:
        groups = m.groupdict()
        month = _MONTHS[groups["month"].lower()]
        year = int(groups["year"]) if groups.get("year") else _recent_month(month, today)
        day = _day(year, month, int(groups["day"]))
        if day is None:
            return None
        return (day, tomorrow) if groups.get("since") else (day, day + timedelta(days=1))

    def weekday_alone(m: re.Match[str]) -> tuple[date, date]:
        back = (today.weekday() - _WEEKDAYS[m.group(1).lower()]) % 7 or 7
        day = today - timedelta(days=back)
        return day, day + timedelta(days=1)

    flags = re.IGNORECASE
    month = _MONTH.removesuffix(r"\.?")
    since = r"(?:(?P<since>since|from)\s+|on\s+)?"
    year = r"(?:,?\s+(?P<year>(?:19|20)\d\d))?"
    day = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
    day_first = rf"{since}(?:the\s+)?{day}(?:\s+of)?\s+(?P<month>{month[1:-1]})\.?{year}"
    month_first = rf"{since}(?P<month>{month[1:-1]})\.?\s+{day}{year}"
    return [
        (re.compile(r"\btoday\b", flags), fixed(today, tomorrow)),
        (re.compile(r"\byesterday\b", flags), fixed(today - timedelta(days=1), today)),
        (re.compile(r"\bthis\s+week\b", flags), fixed(monday, tomorrow)),
        (re.compile(r"\blast\s+week\b", flags), fixed(monday - timedelta(days=7), monday)),
        (re.compile(r"\bthis\s+month\b", flags), fixed(first, tomorrow)),
        (re.compile(r"\blast\s+month\b", flags), fixed(previous_first, first)),
        (re.compile(r"\bthis\s+year\b", flags), fixed(date(today.year, 1, 1), tomorrow)),
        (
            re.compile(r"\blast\s+year\b", flags),
            fixed(date(today.year - 1, 1, 1), date(today.year, 1, 1)),
        ),
        (
            re.compile(
                r"\b(?:in\s+the\s+|over\s+the\s+|during\s+the\s+)?(?:last|past)\s+"
                r"(\d{1,3}|one|two|three|four|five|six|seven)\s+(days?|weeks?)\b",
                flags,
            ),
            last_days,
        ),
        (
            re.compile(r"\b(?:in\s+the\s+|over\s+the\s+)?past\s+week\b", flags),
            fixed(today - timedelta(days=6), tomorrow),
        ),
        (re.compile(rf"\bsince\s+(?:last\s+)?{_WEEKDAY}\b", flags), since_weekday),
        (re.compile(rf"\b{day_first}\b", flags), day_month_year),
        (re.compile(rf"\b{month_first}\b", flags), day_month_year),
        (re.compile(rf"\b(?:in\s+)?{_MONTH}\s+(?:of\s+)?{_YEAR}\b", flags), month_year),
        (re.compile(rf"\bin\s+{_MONTH}(?!\s+\d)\b", flags), month_alone),
        (re.compile(rf"\bin\s+{_YEAR}\b", flags), year_alone),
        (re.compile(rf"\bon\s+{_WEEKDAY}\b", flags), weekday_alone),
    ]


def find_period(question: str, today: date) -> Period | None:
    """The period a question names, if it names exactly one."""
    found: list[Period] = []
    for pattern, rule in _rules(today):
        for match in pattern.finditer(question):
            span = rule(match)
            if span is None:
                continue
            start, end = span
            found.append(Period(start, end, match.group(0).strip()))
    if not found:
        return None
    # Overlapping matches of one phrase ("in August 2024" and "August 2024") are one period;
    # two different periods are ambiguous, and none is applied.
    periods = {(p.start, p.end) for p in found}
    if len(periods) > 1:
        longest = max(found, key=lambda p: len(p.phrase))
        if all(p.phrase in longest.phrase for p in found):
            return longest
        return None
    return max(found, key=lambda p: len(p.phrase))


def without_phrase(question: str, period: Period) -> str:
    """The question with the time phrase taken out, for searching."""
    cleaned = re.sub(r"\s+", " ", question.replace(period.phrase, " "))
    cleaned = re.sub(r"\s+([?.!,;:])", r"\1", cleaned).strip(" ,")
    return cleaned if re.search(r"\w", cleaned) else question
