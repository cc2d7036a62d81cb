"""CSV cells a client chose never open as formulas (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

from addon.service.exports import safe_cell, write_csv


def test_formula_starts_are_prefixed_and_numbers_kept() -> None:
    for formula in ("=1+2", "+SUM(1+1)", "-2+3", "@SUM(1)", "\t=1", "\r=1"):
        assert safe_cell(formula) == "'" + formula
    assert [safe_cell(v) for v in ("GET", "a=1", -5, 2.5, None)] == ["GET", "a=1", -5, 2.5, None]


def test_rows_are_written_with_every_text_cell_neutralised() -> None:
    out = io.StringIO()
    write_csv(out, [{"method": "=1+2", "status": -1, "extra": "x"}], ["method", "status"])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["method", "status"],
                                                            ["'=1+2", "-1"]]
