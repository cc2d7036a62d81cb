"""The policy's holiday table computed in a child process, for the long-running processes.

Asking the `holidays` package for one country imports all of them, and a process keeps what
it imported: 8 to 11 MB of every proxy's and console's memory, for a table of a few hundred dates
that changes only when the policy names another country. `table_apart` runs
`python -m addon.settings.holidays_apart` and reads the table back as JSON; each process
asks once per country, subdivision and span (a reload of an unchanged calendar spawns
nothing). A child that cannot run costs memory, never the answer: the table is then
computed here.
"""

from __future__ import annotations

import argparse
import functools
import logging
import subprocess
import sys
from collections.abc import Iterable, Sequence

from addon.policy.holiday_table import HolidayTable, NoCalendar, compute

log = logging.getLogger("guarita")
NO_CALENDAR = 3  # the child's exit status when the package has no such calendar


def table_apart(country: str, subdivision: str | None, years: Iterable[int]) -> HolidayTable:
    """`compute` in a child process (once per process and arguments); NoCalendar as there."""
    found = _asked(country, subdivision, tuple(sorted(set(years))))
    if isinstance(found, NoCalendar):
        raise found
    return found


@functools.lru_cache(maxsize=8)
def _asked(country: str, subdivision: str | None, years: tuple[int, ...]
           ) -> HolidayTable | NoCalendar:
    args = [sys.executable, "-m", "addon.settings.holidays_apart", "--country", country]
    args += [a for y in years for a in ("--year", str(y))]
    if subdivision is not None:
        args += ["--subdivision", subdivision]
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        why = str(exc)
    else:
        if done.returncode == 0:
            return HolidayTable.from_json(done.stdout)
        lines = done.stderr.strip().splitlines()
        if done.returncode == NO_CALENDAR and lines:
            return NoCalendar(lines[-1])
        why = lines[-1] if lines else f"exit {done.returncode}"
    log.warning("guarita: the holiday table was computed in this process (its child "
                "process failed: %s)", why)
    try:
        return compute(country, subdivision, years)
    except NoCalendar as exc:
        return exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m addon.settings.holidays_apart",
                                     description="Print a holiday table as JSON.")
    parser.add_argument("--country", required=True)
    parser.add_argument("--subdivision")
    parser.add_argument("--year", type=int, action="append", required=True)
    a = parser.parse_args(argv)
    try:
        table = compute(a.country, a.subdivision, a.year)
    except NoCalendar as exc:
        print(exc, file=sys.stderr)
        return NO_CALENDAR
    print(table.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
