"""The round calendar of an inspection schedule: which rounds are due when.

A round is one doing of a schedule's checklist at its position, with a
window of local time in the deployment's zone: the day for a daily
schedule, each given weekday for a weekly one, the calendar month for a
monthly one, each named shift (a time window within a day, possibly past
midnight) for a shift schedule. Windows are cut in local time and answered
as UTC instants, so a day is 23 or 25 hours long across a DST change.

Pure functions of the schedule's terms: every round is known in advance and
the same for every process (its key names it: the local day, the month, or
the day and shift)."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

# How often, the most often first: daily and shift alike (a round every day),
# then weekly, then monthly. The one order a universal checklist's required
# frequency is compared by.
RANK = {"daily": 0, "shift": 0, "weekly": 1, "monthly": 2}
EVERY_DAY = frozenset(range(1, 8))


def rank_of(terms):
    """How often a schedule's rounds come, as a RANK: a weekly schedule on
    all seven days comes daily; a shift schedule on some weekdays only, weekly."""
    frequency, weekdays = terms["frequency"], set(terms["weekdays"])
    if frequency == "weekly" and weekdays == EVERY_DAY:
        return RANK["daily"]
    if frequency == "shift" and weekdays and weekdays != EVERY_DAY:
        return RANK["weekly"]
    return RANK[frequency]


def at_least_as_often(terms, required_frequency):
    """Whether a schedule of `terms` meets a required frequency (None: any does)."""
    return required_frequency is None or rank_of(terms) <= RANK[required_frequency]


@dataclass(frozen=True)
class Round:
    key: str                 # "2026-12-03", "2026-12", or "2026-12-03/早班"
    starts_at: datetime      # UTC
    ends_at: datetime        # UTC, exclusive
    shift: str = None

    def contains(self, moment):
        return self.starts_at <= moment < self.ends_at


def _instant(day, clock, zone):
    return datetime.combine(day, clock, zone).astimezone(timezone.utc)


def _clock(text):
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _next_month(day):
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def rounds_of_day(terms, day, zone):
    """The rounds of `terms` whose window begins on local `day`."""
    frequency = terms["frequency"]
    if frequency == "daily" or (frequency == "weekly"
                                and day.isoweekday() in terms["weekdays"]):
        return [Round(day.isoformat(), _instant(day, time(), zone),
                      _instant(day + timedelta(days=1), time(), zone))]
    if frequency == "monthly" and day.day == 1:
        return [Round(day.strftime("%Y-%m"), _instant(day, time(), zone),
                      _instant(_next_month(day), time(), zone))]
    if frequency == "shift" and (not terms["weekdays"]
                                 or day.isoweekday() in terms["weekdays"]):
        found = []
        for shift in terms["shifts"]:
            start, end = _clock(shift["start"]), _clock(shift["end"])
            end_day = day + timedelta(days=1) if end <= start else day
            found.append(Round("%s/%s" % (day.isoformat(), shift["name"]),
                               _instant(day, start, zone), _instant(end_day, end, zone),
                               shift["name"]))
        return found
    return []


def rounds_between(terms, first_day, last_day, zone):
    """The rounds whose window begins on a local day from `first_day` to
    `last_day` (both included), within the schedule's own days (from its
    `starts_on`, before its `ends_on` if ended), in order. A monthly
    schedule starting mid-month has that month's round, from its first day."""
    starts_on, ends_on = terms["starts_on"], terms.get("ends_on")
    day = max(first_day, starts_on)
    if terms["frequency"] == "monthly" and day.day != 1 and day == starts_on:
        found = [Round(day.strftime("%Y-%m"), _instant(day, time(), zone),
                       _instant(_next_month(day), time(), zone))]
        day = _next_month(day)
    else:
        found = []
    while day <= last_day and (ends_on is None or day < ends_on):
        found.extend(rounds_of_day(terms, day, zone))
        day += timedelta(days=1)
    return found


def rounds_ending_by(terms, since, now, zone):
    """The rounds whose window has ended by `now` and ended after `since`
    (None: any since the schedule's start): those a sweep at `now` decides."""
    first = terms["starts_on"] if since is None else (
        since.astimezone(zone).date() - timedelta(days=32))
    return [each for each in rounds_between(terms, first, now.astimezone(zone).date(), zone)
            if each.ends_at <= now and (since is None or each.ends_at > since)]


def round_at(terms, moment, zone):
    """The round whose window holds `moment`, or None (several shifts may
    overlap: the first listed)."""
    day = moment.astimezone(zone).date()
    first = day - timedelta(days=31) if terms["frequency"] == "monthly" else (
        day - timedelta(days=1))
    for each in rounds_between(terms, first, day, zone):
        if each.contains(moment):
            return each
    return None
