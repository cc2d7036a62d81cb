"""Rows leaving guarita as CSV, for the spreadsheets auditors open them in.

A cell a client chose (a request's method, a path, a host) that starts with `=`, `+`, `-`,
`@`, a tab or a carriage return is a formula to Excel and LibreOffice: `=1+2` computes,
`=HYPERLINK(…)` links out. OWASP's remedy: such a text cell is prefixed with `'`, which
the spreadsheet shows as text and hides. Numbers are left as numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(out: IO[str], rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """A header, then each row's `columns`, every text cell neutralised."""
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: safe_cell(row.get(c)) for c in columns})
