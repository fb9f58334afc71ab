"""Business hours: an organization's weekly schedule in its own time zone, whether it is
open at a given moment, and when it next opens, said in words a customer can act on
("Monday at 09:00, Europe/Berlin time"). An empty schedule means always open.

The stored form is `{"mon": [["09:00", "17:00"]], ...}`: days absent or empty are closed,
"24:00" may end a day, and ranges do not cross midnight (write two)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
Range = tuple[int, int]  # minutes after local midnight: [start, end)


@dataclass(frozen=True, slots=True)
class Schedule:
    zone: ZoneInfo
    weekly: tuple[tuple[Range, ...], ...]  # Monday first
    always_open: bool

    def is_open(self, now: datetime) -> bool:
        if self.always_open:
            return True
        local = now.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.weekly[local.weekday()])

    def next_opening(self, now: datetime) -> datetime | None:
        """The next moment after `now` at which a range starts (None if none ever does)."""
        local = now.astimezone(self.zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        for offset in range(8):
            day = midnight + timedelta(days=offset)
            for start, _end in self.weekly[day.weekday()]:
                opening = (day + timedelta(minutes=start)).replace(tzinfo=self.zone)
                if opening > now:
                    return opening
        return None

    def describe(self, opening: datetime, now: datetime) -> str:
        """`opening` as a customer reads it, relative to `now`, in the schedule's zone."""
        local, today = opening.astimezone(self.zone), now.astimezone(self.zone).date()
        days = (local.date() - today).days
        when = {0: "today", 1: "tomorrow"}.get(days, DAY_NAMES[local.weekday()])
        return f"{when} at {local:%H:%M} ({self.zone.key} time)"


def parse_zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ValueError("time_zone must be a time zone name such as 'Europe/Berlin'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _minutes(text: object, where: str) -> int:
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise ValueError(f"{where}: times are written HH:MM, got {text!r}")
    hours, minutes = text[:2], text[3:]
    if not (hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"{where}: times are written HH:MM, got {text!r}")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise ValueError(f"{where}: {text!r} is not a time of day")
    return value


def _ranges(day: str, raw: object) -> tuple[Range, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"business_hours.{day} must be a list of [start, end] pairs")
    ranges: list[Range] = []
    for pair in raw:
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"business_hours.{day}: each range is a [start, end] pair")
        start, end = (
            _minutes(pair[0], f"business_hours.{day}"),
            _minutes(pair[1], f"business_hours.{day}"),
        )
        if start >= end:
            raise ValueError(
                f"business_hours.{day}: {pair[0]} is not before {pair[1]} "
                "(a range cannot cross midnight; write two)"
            )
        ranges.append((start, end))
    return tuple(sorted(ranges))


def parse_schedule(hours: object, time_zone: object) -> Schedule:
    """A validated schedule; ValueError names what is wrong."""
    zone = parse_zone(time_zone)
    if not isinstance(hours, dict):
        raise ValueError("business_hours must be an object of days (mon..sun)")
    unknown = sorted(set(hours) - set(DAYS))
    if unknown:
        raise ValueError(f"business_hours: unknown day {unknown[0]!r}; use {', '.join(DAYS)}")
    weekly = tuple(_ranges(day, hours.get(day, [])) for day in DAYS)
    return Schedule(zone, weekly, always_open=not hours)


ALWAYS_OPEN = Schedule(ZoneInfo("UTC"), ((),) * 7, always_open=True)
