"""Business days and main business hours (Art. 9 §4 III), in the policy's time zone.

Weekends and Brazilian national and state holidays (the `holidays` package, through the
policy's `HolidayTable`) are never business days; nor are the optional holidays ("ponto
facultativo": Carnaval, Corpus Christi, ...) the institution keeps, named in the policy, nor
its extra dates (recesses). The per-minute answer is cached because every
request asks it: the cost on the hot path is one dict lookup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from addon.policy.holiday_table import HolidayTable, compute


@dataclass(frozen=True)
class BusinessCalendar:
    """Business hours `start`–`end` (local time) on `weekdays` (0=Monday) that are not holidays."""

    tz: ZoneInfo
    start: dt.time
    end: dt.time
    weekdays: frozenset[int] = frozenset(range(5))
    country: str = "BR"
    subdivision: str | None = "RS"
    optional: frozenset[str] = frozenset()  # optional holidays kept, by their pt_BR name
    extra_dates: frozenset[dt.date] = frozenset()
    # computed at load; a year it lacks is computed here (and so is every year without one)
    table: HolidayTable | None = field(default=None, compare=False, repr=False)
    _minute_cache: dict[int, bool] = field(default_factory=dict, compare=False, repr=False)
    _holiday_cache: dict[int, dict[dt.date, str]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # The last minute asked, as one tuple in a one-slot list (the dataclass is frozen): readers
    # on other threads see either the old or the new minute whole, never a mix of the two.
    _last: list[tuple[float, float, bool]] = field(
        default_factory=lambda: [(0.0, 0.0, False)], compare=False, repr=False
    )

    def holidays_of(self, year: int) -> dict[dt.date, str]:
        """Every non-business date of `year` with its name: public, kept optional, extra."""
        cal = self._holiday_cache.get(year)
        if cal is None:
            table = self.table
            if table is None or not table.covers(year):
                table = compute(self.country, self.subdivision, (year,))
            cal = table.public_of(year)
            if self.optional:
                for day, name in table.optional_of(year).items():
                    if name in self.optional:
                        cal.setdefault(day, f"{name} (ponto facultativo)")
            for day in self.extra_dates:
                if day.year == year:
                    cal.setdefault(day, "dia não útil da instituição")
            self._holiday_cache[year] = cal
        return cal

    def holiday_name(self, day: dt.date) -> str | None:
        return self.holidays_of(day.year).get(day)

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays_of(day.year)

    def is_business_time(self, ts: float) -> bool:
        """True when `ts` (POSIX seconds) falls inside main business hours."""
        start, end, last_hit = self._last[0]
        if start <= ts < end:
            return last_hit
        minute = int(ts // 60)
        hit = self._minute_cache.get(minute)
        if hit is None:
            local = dt.datetime.fromtimestamp(minute * 60, self.tz)
            hit = self.is_business_day(local.date()) and self.start <= local.time() < self.end
            if len(self._minute_cache) > 4096:
                self._minute_cache.clear()
            self._minute_cache[minute] = hit
        self._last[0] = (minute * 60.0, minute * 60.0 + 60.0, hit)
        return hit

    def business_days_between(self, first: dt.date, last: dt.date) -> int:
        """Business days strictly between `first` and `last` (neither counted)."""
        count = 0
        day = first + dt.timedelta(days=1)
        while day < last:
            count += self.is_business_day(day)
            day += dt.timedelta(days=1)
        return count

    def earliest_event_date(self, requested_on: dt.date, business_days: int) -> dt.date:
        """The first date with at least `business_days` business days strictly between."""
        day = requested_on + dt.timedelta(days=1)
        seen = 0
        while seen < business_days:
            seen += self.is_business_day(day)
            day += dt.timedelta(days=1)
        return day
