"""holidays_apart: the table from a child process is the in-process one, asked once; a child
that fails costs memory, never the answer; a daemon's process never imports `holidays`."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from addon.policy.holiday_table import NoCalendar, compute
from addon.settings import holidays_apart
from tests.conftest import Workspace


@pytest.fixture(autouse=True)
def _fresh() -> None:
    holidays_apart._asked.cache_clear()


def test_the_child_gives_the_table_this_process_would() -> None:
    assert holidays_apart.table_apart("BR", "RS", [2027, 2026]) == compute("BR", "RS", [2026, 2027])
    assert holidays_apart.table_apart("BR", None, [2026]) == compute("BR", None, [2026])


def test_a_missing_calendar_is_the_same_error_as_here() -> None:
    with pytest.raises(NoCalendar, match=r"^no holiday calendar for XX/None$"):
        holidays_apart.table_apart("XX", None, [2026])
    assert holidays_apart.main(["--country", "BR", "--subdivision", "ZZ", "--year", "2026"]) == 3


def test_each_table_is_asked_of_a_child_once(monkeypatch: pytest.MonkeyPatch) -> None:
    spawned: list[list[str]] = []
    run = subprocess.run

    def counting(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        spawned.append(args)
        return run(args, **kw)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(holidays_apart.subprocess, "run", counting)
    first = holidays_apart.table_apart("BR", "RS", range(2026, 2028))
    assert holidays_apart.table_apart("BR", "RS", [2027, 2026]) is first  # a reload: nothing
    holidays_apart.table_apart("BR", "SP", [2026])
    assert len(spawned) == 2


def test_a_child_that_cannot_run_leaves_the_answer_here(monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    monkeypatch.setattr(holidays_apart.sys, "executable", "/bin/false")
    with caplog.at_level(logging.WARNING, logger="guarita"):
        assert holidays_apart.table_apart("BR", "RS", [2026]) == compute("BR", "RS", [2026])
        with pytest.raises(NoCalendar):
            holidays_apart.table_apart("XX", None, [2026])
    assert [r.getMessage() for r in caplog.records][0] == (
        "guarita: the holiday table was computed in this process (its child process failed: "
        "exit 1)")
    monkeypatch.setattr(holidays_apart.sys, "executable", "/nonexistent/python")
    assert holidays_apart.table_apart("BR", "SP", [2026]) == compute("BR", "SP", [2026])


def test_a_daemons_runtime_never_imports_the_package(ws: Workspace) -> None:
    code = (
        "import sys, datetime as dt\n"
        "from addon.runtime import RuntimeSource\n"
        "from addon.settings.holidays_apart import table_apart\n"
        f"rt = RuntimeSource({str(ws.config)!r}, holidays=table_apart).current\n"
        "cal = rt.policy.calendar\n"
        "print(cal.holiday_name(dt.date(2026, 9, 20)),"
        " cal.is_business_time(dt.datetime(2026, 11, 24, 10, tzinfo=cal.tz).timestamp()),"
        " 'holidays' in sys.modules, sep='|')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ws.root).stdout.strip()
    assert out == "Dia do Gaúcho|True|False"
