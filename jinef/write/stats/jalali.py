"""The Solar Hijri calendar for the dashboard: plans' deadlines, snapshot dates and monthly series (jdatetime)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jdatetime

from jinef.common.messages import MessageError, message

try:
    TEHRAN: timezone | ZoneInfo = ZoneInfo("Asia/Tehran")
except ZoneInfoNotFoundError:  # no tz database on the machine: Iran keeps +03:30 all year since 2022
    TEHRAN = timezone(timedelta(hours=3, minutes=30))

_JALALI = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})\s*$")
_TO_LATIN = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def parse_jalali(text: str) -> date:
    """A Solar Hijri date written ``1405-06-31`` (or with ``/``, in any digits) as its Gregorian date."""
    m = _JALALI.match(str(text).translate(_TO_LATIN))
    if not m:
        raise MessageError(message("stats.deadline.form", text=text))
    y, mo, d = (int(g) for g in m.groups())
    try:
        return jdatetime.date(y, mo, d).togregorian()
    except ValueError:
        raise MessageError(message("stats.deadline.day", text=text)) from None


def jalali(day: date) -> str:
    """A Gregorian date in the Solar Hijri calendar, ``YYYY-MM-DD`` with Latin digits."""
    j = jdatetime.date.fromgregorian(date=day)
    return f"{j.year:04d}-{j.month:02d}-{j.day:02d}"


def tehran_day(moment: datetime) -> date:
    """The day in Tehran at an aware moment."""
    return moment.astimezone(TEHRAN).date()


def jalali_month_of_utc_hour(hour: str) -> str:
    """The Solar Hijri month (``YYYY-MM``) in Tehran of a UTC hour written ``2026-03-20T21`` (the log's ``at``)."""
    moment = datetime.fromisoformat(hour + ":00").replace(tzinfo=UTC)
    return jalali(tehran_day(moment))[:7]
