"""holiday_table: the calendar as plain dates, the same as the package's, and back from JSON."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addon.policy.clock import BusinessCalendar
from addon.policy.holiday_table import HolidayTable, NoCalendar, compute

TABLE = compute("BR", "RS", range(2025, 2028))


def test_public_and_optional_holidays_by_year_in_portuguese() -> None:
    assert TABLE.covers(2026) and not TABLE.covers(2028)
    public = TABLE.public_of(2026)
    assert public[dt.date(2026, 9, 20)] == "Dia do Gaúcho"  # RS's own (Farroupilha)
    assert dt.date(2026, 11, 20) in public  # Consciência Negra, national since 2024
    assert all(day.year == 2026 for day in public)
    assert TABLE.optional_of(2026)[dt.date(2026, 2, 16)] == "Carnaval"
    assert {"Carnaval", "Corpus Christi"} <= TABLE.optional_names()
    assert dt.date(2026, 2, 16) not in public  # optional ones apart: the policy picks them


def test_a_country_or_subdivision_without_a_calendar() -> None:
    with pytest.raises(NoCalendar, match=r"^no holiday calendar for XX/None$"):
        compute("XX", None, [2026])
    with pytest.raises(NoCalendar, match=r"^no holiday calendar for BR/ZZ$"):
        compute("BR", "ZZ", [2026])
    assert compute("BR", None, [2026]).public_of(2026)  # national only
    assert dt.date(2026, 9, 20) not in compute("BR", None, [2026]).public_of(2026)


def test_json_gives_the_same_table_back() -> None:
    back = HolidayTable.from_json(TABLE.to_json())
    assert back == TABLE
    assert HolidayTable.from_json(compute("BR", None, [2026]).to_json()).subdivision is None


@given(st.integers(min_value=2025, max_value=2027), st.integers(min_value=0, max_value=364))
def test_the_calendar_answers_from_its_table_as_from_the_package(year: int, day: int) -> None:
    date = dt.date(year, 1, 1) + dt.timedelta(days=day)
    tz, start, end = ZoneInfo("America/Sao_Paulo"), dt.time(8), dt.time(18)
    kept = frozenset({"Carnaval"})
    with_table = BusinessCalendar(tz, start, end, optional=kept, table=TABLE)
    without = BusinessCalendar(tz, start, end, optional=kept)
    assert with_table.is_business_day(date) == without.is_business_day(date)
    assert with_table.holiday_name(date) == without.holiday_name(date)


def test_a_year_beyond_the_table_is_computed_not_taken_for_workdays() -> None:
    cal = BusinessCalendar(ZoneInfo("America/Sao_Paulo"), dt.time(8), dt.time(18), table=TABLE)
    assert not cal.is_business_day(dt.date(2031, 4, 11))  # Good Friday, not in the table
    assert cal.holiday_name(dt.date(2031, 4, 11)) == "Sexta-feira Santa"
    assert cal.is_business_day(dt.date(2031, 4, 10))
