"""FHIR date, dateTime and instant values as half-open UTC ranges at their own precision."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DATE_TIME = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d{1,9})?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.month - 1 + months
    return moment.replace(year=moment.year + total // 12, month=total % 12 + 1)


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
            return start, start.replace(year=year + 1) if year < 9999 else datetime.max
        month = int(parts["month"])
        if parts["day"] is None:
            start = datetime(year, month, 1)
            return start, _add_months(start, 1)
        day = int(parts["day"])
        if parts["hour"] is None:
            start = datetime(year, month, day)
            return start, start + timedelta(days=1)
        second = int(parts["second"] or 0)
        fraction = parts["fraction"] or ""
        micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
        start = datetime(year, month, day, int(parts["hour"]), int(parts["minute"]), second, micro)
    except ValueError:
        return None
    tz = parts["tz"]
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
        start = start - sign * offset
    if parts["second"] is None:
        step = timedelta(minutes=1)
    elif fraction:
        step = timedelta(microseconds=max(1, 10 ** (6 - min(len(fraction) - 1, 6))))
    else:
        step = timedelta(seconds=1)
    return start, start + step


def to_naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
