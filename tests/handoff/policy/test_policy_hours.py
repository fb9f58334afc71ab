"""Business hours: open or closed at a moment, the next opening in the organization's time
zone (across weekends and daylight-saving changes), and what a bad schedule is told."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handoff.policy.hours import parse_schedule

WEEKDAYS = {day: [["09:00", "12:30"], ["13:30", "17:00"]] for day in ("mon", "tue", "wed")}
BERLIN = parse_schedule(WEEKDAYS, "Europe/Berlin")


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# 2026-03-02 is a Monday; Berlin is UTC+1 until 2026-03-29, UTC+2 after.
@pytest.mark.parametrize(
    ("moment", "is_open", "next_opening"),
    [
        (utc(2, 8, 0), True, "today at 13:30 (Europe/Berlin time)"),
        (utc(2, 7, 59), False, "today at 09:00 (Europe/Berlin time)"),
        (utc(2, 11, 30), False, "today at 13:30 (Europe/Berlin time)"),  # lunch
        (utc(2, 16, 0), False, "tomorrow at 09:00 (Europe/Berlin time)"),
        (utc(4, 16, 0), False, "Monday at 09:00 (Europe/Berlin time)"),  # Wednesday evening
        (utc(7, 12, 0), False, "Monday at 09:00 (Europe/Berlin time)"),  # Saturday
    ],
)
def test_open_and_next_opening(moment: datetime, is_open: bool, next_opening: str) -> None:
    opening = BERLIN.next_opening(moment)

    assert BERLIN.is_open(moment) is is_open
    assert opening is not None and BERLIN.describe(opening, moment) == next_opening


def test_the_next_opening_follows_daylight_saving_time() -> None:
    after_the_change = BERLIN.next_opening(utc(25, 18))  # Wednesday; clocks change Sunday

    assert after_the_change is not None
    assert after_the_change.astimezone(UTC) == utc(30, 7)  # 09:00 CEST


def test_an_empty_schedule_is_always_open_and_all_closed_days_never_open() -> None:
    assert parse_schedule({}, "UTC").is_open(utc(7, 3))
    closed = parse_schedule({"mon": []}, "UTC")
    assert not closed.is_open(utc(2, 10)) and closed.next_opening(utc(2, 10)) is None


@pytest.mark.parametrize(
    ("hours", "zone", "message"),
    [
        ({"mon": [["09:00", "17:00"]]}, "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ({"monday": []}, "UTC", "unknown day 'monday'"),
        ({"mon": [["9:00", "17:00"]]}, "UTC", "times are written HH:MM"),
        ({"mon": [["09:00", "25:00"]]}, "UTC", "'25:00' is not a time of day"),
        ({"mon": [["22:00", "06:00"]]}, "UTC", "cannot cross midnight"),
        ({"mon": ["09:00-17:00"]}, "UTC", "each range is a [start, end] pair"),
        ([], "UTC", "business_hours must be an object"),
    ],
)
def test_a_bad_schedule_is_refused_by_name(hours: object, zone: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_schedule(hours, zone)
