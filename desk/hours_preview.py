"""Business hours as an admin reads them: the weekly schedule checked with problems said
in plain words ("Monday: 18:00 is not before 09:00"), the time zones an admin may pick
(IANA names from the system's zone database, each with its current UTC offset), and the
preview the weekly editor shows: open or closed now, and when that changes next
("Closed now. Opens Monday at 09:00 (in 14 hours)").

The policy itself (`handoff.policy.hours`) decides when the organization is open; this
module only reads its `Schedule`, so the preview says exactly what the policy will do."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

from gateway.errors import BadInput
from handoff.policy.hours import DAY_NAMES, DAYS, Schedule, parse_schedule

DAY_MINUTES = 24 * 60
# Region names of the zone database; the rest (Etc/GMT+5, US/Eastern, posixrules…) are
# aliases or legacy names that only confuse a picker.
REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)
MAX_RANGES_PER_DAY = 6


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    names = {name for name in available_timezones() if name.split("/", 1)[0] in REGIONS}
    return ("UTC", *sorted(names))


def utc_offset(zone: ZoneInfo, now: datetime) -> str:
    """ "UTC+05:30", "UTC-03:00" or "UTC" for `zone` at `now`."""
    offset = now.astimezone(zone).utcoffset() or timedelta(0)
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def zone_choices(now: datetime) -> list[dict[str, str]]:
    return [
        {
            "name": name,
            "label": name
            if name == "UTC"
            else f"{name.replace('_', ' ')} ({utc_offset(ZoneInfo(name), now)})",
        }
        for name in zone_names()
    ]


def _time(text: object, day: str) -> int:
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise BadInput(f"{day}: write times as hours and minutes, like 09:00.")
    hours, minutes = text[:2], text[3:]
    if not (text.isascii() and hours.isdigit() and minutes.isdigit()) or int(minutes) > 59:
        raise BadInput(f"{day}: {text} is not a time of day.")
    value = int(hours) * 60 + int(minutes)
    if value > DAY_MINUTES:
        raise BadInput(f"{day}: {text} is not a time of day.")
    return value


def _day(key: str, raw: object) -> None:
    name = DAY_NAMES[DAYS.index(key)]
    if not isinstance(raw, list) or len(raw) > MAX_RANGES_PER_DAY:
        raise BadInput(f"{name}: give at most {MAX_RANGES_PER_DAY} opening times.")
    ranges = []
    for pair in raw:
        if not isinstance(pair, list) or len(pair) != 2:
            raise BadInput(f"{name}: each opening time needs a start and an end.")
        start, end = _time(pair[0], name), _time(pair[1], name)
        if start >= end:
            raise BadInput(
                f"{name}: {pair[0]} is not before {pair[1]}. Opening times can't cross "
                "midnight: end the day at 24:00 and start the next at 00:00."
            )
        ranges.append((start, end, f"{pair[0]} to {pair[1]}"))
    ranges.sort()
    for before, after in pairwise(ranges):
        if after[0] < before[1]:
            raise BadInput(f"{name}: {before[2]} and {after[2]} overlap.")


def checked_schedule(hours: object, time_zone: object) -> Schedule:
    """The schedule the policy will use, or BadInput saying in words what is wrong."""
    if not isinstance(time_zone, str) or time_zone not in zone_names():
        try:
            ZoneInfo(str(time_zone))
        except (ValueError, KeyError, OSError):
            raise BadInput("Pick a time zone from the list.") from None
    if not isinstance(hours, dict):
        raise BadInput("Business hours must list the days of the week.")
    for key, raw in hours.items():
        if key not in DAYS:
            raise BadInput("Business hours must list the days of the week, Monday to Sunday.")
        _day(key, raw)
    try:
        return parse_schedule(hours, time_zone)
    except ValueError:  # a case the checks above missed: still no 500
        raise BadInput("These business hours can't be used; check each day.") from None


def relative(delta: timedelta) -> str:
    """ "in 45 minutes", "in 3 hours 20 minutes", "in 14 hours", "in 3 days"."""
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 60:
        return f"in {_count(minutes, 'minute')}"
    hours, rest = divmod(minutes, 60)
    if hours < 10 and rest:
        return f"in {_count(hours, 'hour')} {_count(rest, 'minute')}"
    if minutes < 48 * 60:
        return f"in {_count(round(minutes / 60), 'hour')}"
    return f"in {_count(round(minutes / DAY_MINUTES), 'day')}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _when(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    days = (local.date() - today).days
    day = {0: "today", 1: "tomorrow"}.get(days, DAY_NAMES[local.weekday()])
    if days >= 7:
        day = f"next {DAY_NAMES[local.weekday()]}"
    return f"{day} at {local:%H:%M}"


def next_closing(schedule: Schedule, now: datetime) -> datetime | None:
    """When an open schedule next closes, following ranges that run on past midnight
    (24:00 then 00:00); None if it never closes."""
    local = now.astimezone(schedule.zone).replace(second=0, microsecond=0)
    midnight = local.replace(hour=0, minute=0, tzinfo=None)
    minute = local.hour * 60 + local.minute
    for offset in range(8):
        day = midnight + timedelta(days=offset)
        for start, end in schedule.weekly[day.weekday()]:
            if start <= minute < end:
                if end < DAY_MINUTES:
                    return (day + timedelta(minutes=end)).replace(tzinfo=schedule.zone)
                minute = 0  # open until midnight: look for a range from 00:00 tomorrow
                break
        else:
            return (day + timedelta(minutes=minute)).replace(tzinfo=schedule.zone)
    return None


def preview(schedule: Schedule, now: datetime) -> dict[str, object]:
    """What the editor shows under the schedule: open now or not, and the next change."""
    zone = schedule.zone
    if schedule.always_open:
        return {"open_now": True, "text": "Open around the clock: no business hours are set."}
    if schedule.is_open(now):
        closing = next_closing(schedule, now)
        if closing is None:
            return {"open_now": True, "text": "Open now, around the clock every day."}
        when = _when(closing, now, zone)
        text = f"Open now. Closes {when} ({relative(closing - now)})."
        return {"open_now": True, "text": text}
    opening = schedule.next_opening(now)
    if opening is None:
        return {
            "open_now": False,
            "text": "Closed every day: every handoff counts as outside business hours.",
        }
    when = _when(opening, now, zone)
    text = f"Closed now. Opens {when} ({relative(opening - now)})."
    return {"open_now": False, "text": text}
