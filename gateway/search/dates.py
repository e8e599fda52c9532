"""FHIR date, dateTime and instant values as half-open UTC ranges at their own precision."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# Where the gateway's parties are: a date without a time means a day of this calendar.
SWEDISH_TIME = ZoneInfo("Europe/Stockholm")

# A time zone offset is at most 14 hours either way, as FHIR's dateTime and instant
# patterns have it: -14:00 to +14:00, minutes 00-59 (+14:00 itself the last).
_DATE_TIME = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d{1,9})?)?"
    r"(?P<tz>Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?)?)?)?$"
)


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.month - 1 + months
    year = moment.year + total // 12
    return datetime.max if year > 9999 else moment.replace(year=year, month=total % 12 + 1)


def _shifted(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, held at the calendar's first or last moment (year 1, 9999)."""
    try:
        return moment + delta
    except OverflowError:
        return datetime.max if delta > timedelta(0) else datetime.min


def date_range(text: str) -> tuple[datetime, datetime] | None:
    """``[start, end)`` in naive UTC for a FHIR date/dateTime/instant, or None if malformed.

    A value without a time zone is read as UTC.
    """
    match = _DATE_TIME.match(text.strip())
    if not match:
        return None
    parts = match.groupdict()
    try:
        year = int(parts["year"])
        if parts["month"] is None:
            start = datetime(year, 1, 1)
            return start, _add_months(start, 12)
        month = int(parts["month"])
        if parts["day"] is None:
            start = datetime(year, month, 1)
            return start, _add_months(start, 1)
        day = int(parts["day"])
        if parts["hour"] is None:
            start = datetime(year, month, day)
            return start, _shifted(start, timedelta(days=1))
        second = int(parts["second"] or 0)
        leap = second == 60  # FHIR allows a leap second: read as the next minute's start
        fraction = parts["fraction"] or ""
        micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
        start = datetime(
            year,
            month,
            day,
            int(parts["hour"]),
            int(parts["minute"]),
            59 if leap else second,
            micro,
        )
        if leap:
            start = _shifted(start, timedelta(seconds=1))
    except ValueError:
        return None
    tz = parts["tz"]
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
        start = _shifted(start, -sign * offset)
    if parts["second"] is None:
        step = timedelta(minutes=1)
    elif fraction:
        step = timedelta(microseconds=max(1, 10 ** (6 - min(len(fraction) - 1, 6))))
    else:
        step = timedelta(seconds=1)
    return start, _shifted(start, step)


def to_naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def local_range(text: str) -> tuple[datetime, datetime] | None:
    """As :func:`date_range`, but a date without a time (year, month or day) is a span of
    the Swedish calendar: ``2026-03-31`` ends at midnight in Sweden, not in UTC."""
    span = date_range(text)
    if span is None or "T" in text:
        return span
    try:
        return _from_swedish(span[0]), _from_swedish(span[1])
    except OverflowError:  # the first or the last day of the calendar: UTC will do
        return span


def _from_swedish(moment: datetime) -> datetime:
    if moment == datetime.max:
        return moment
    return moment.replace(tzinfo=SWEDISH_TIME).astimezone(UTC).replace(tzinfo=None)
