"""A country's holidays over a span of years, as plain dates and names.

The `holidays` package answers any year, but asking it once imports every country it knows
(about 300 modules, 8 to 11 MB of a proxy's memory) for the one it serves. So the policy carries
its calendar as a table: the long-running processes have it computed in a child process
(`addon.settings.holidays_apart`), the CLI computes it here, and only a year outside the
table (a proxy running years without a reload) is asked of the package in the process.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

LANGUAGE = "pt_BR"  # the names people read on block pages and in `guarita check`


class NoCalendar(ValueError):
    """The package has no calendar for this country or subdivision."""


@dataclass(frozen=True)
class HolidayTable:
    country: str
    subdivision: str | None
    years: frozenset[int]
    public: Mapping[dt.date, str]  # national and the subdivision's
    optional: Mapping[dt.date, str]  # "pontos facultativos": kept only when the policy names them

    def covers(self, year: int) -> bool:
        return year in self.years

    def public_of(self, year: int) -> dict[dt.date, str]:
        return {day: name for day, name in self.public.items() if day.year == year}

    def optional_of(self, year: int) -> dict[dt.date, str]:
        return {day: name for day, name in self.optional.items() if day.year == year}

    def optional_names(self) -> frozenset[str]:
        return frozenset(self.optional.values())

    def to_json(self) -> str:
        return json.dumps({
            "country": self.country, "subdivision": self.subdivision,
            "years": sorted(self.years),
            "public": {d.isoformat(): n for d, n in sorted(self.public.items())},
            "optional": {d.isoformat(): n for d, n in sorted(self.optional.items())},
        }, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> HolidayTable:
        raw = json.loads(text)
        return cls(raw["country"], raw["subdivision"], frozenset(raw["years"]),
                   {dt.date.fromisoformat(d): n for d, n in raw["public"].items()},
                   {dt.date.fromisoformat(d): n for d, n in raw["optional"].items()})


def compute(country: str, subdivision: str | None, years: Iterable[int]) -> HolidayTable:
    """The table from the `holidays` package, in this process; NoCalendar when it has none."""
    import holidays  # here, not at the top: a process that never computes never imports it

    span = sorted(set(years))
    try:
        public = holidays.country_holidays(country, subdiv=subdivision, years=span,
                                           language=LANGUAGE)
    except NotImplementedError as exc:
        raise NoCalendar(f"no holiday calendar for {country}/{subdivision}") from exc
    optional: dict[dt.date, str] = {}
    try:
        optional.update(holidays.country_holidays(country, subdiv=subdivision, years=span,
                                                  categories=("optional",), language=LANGUAGE))
    except (NotImplementedError, ValueError):  # a country with no optional category
        pass
    return HolidayTable(country, subdivision, frozenset(span), dict(public), optional)
