"""Options and output shared by every verb: --config, --operator, times, tables."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from addon.errors import GuaritaError
from addon.policy.model import Policy
from addon.service.exports import write_csv
from addon.settings.load import DEFAULT_POLICY, load_policy
from addon.state import db
from addon.state.history import default_operator
from addon.store import ready

F = TypeVar("F", bound=Callable[..., Any])


SYSTEM_POLICY = Path("/etc/guarita/policy.yaml")


def find_policy(given: Path | None) -> Path:
    """--config, else $GUARITA_CONFIG (click reads it), else /etc/guarita/policy.yaml when it
    exists (an installed proxy, whatever folder the CLI runs in), else config/policy.yaml."""
    if given is not None and str(given):
        return given
    return SYSTEM_POLICY if SYSTEM_POLICY.is_file() else DEFAULT_POLICY


def config_option(f: F) -> F:
    return click.option(
        "--config", "config", type=click.Path(path_type=Path), default=None,
        envvar="GUARITA_CONFIG", show_default=f"$GUARITA_CONFIG, {SYSTEM_POLICY}, {DEFAULT_POLICY}",
        callback=lambda ctx, param, value: find_policy(value),
        help="Policy file (YAML): the first of these that is set or exists.",
    )(f)


def operator_option(f: F) -> F:
    return click.option(
        "--operator", default=default_operator, show_default="the OS user",
        help="Login recorded in the admin history as who did this (Art. 11 §5).",
    )(f)


def policy_of(config: Path) -> Policy:
    return load_policy(config)


C = TypeVar("C", bound=Any)


def closing(conn: C) -> C:
    """`conn`, closed when the command ends (click's `call_on_close`), however it ends."""
    click.get_current_context().call_on_close(conn.close)
    return conn


def ready_of(config: Path) -> Policy:
    """The policy, with its databases at this guarita's schema (a command is a start-up:
    a new folder gets its databases here, an older schema its revisions)."""
    policy = load_policy(config)
    ready.ensure(policy.paths)
    return policy


def state_of(policy: Policy) -> Any:
    """The state database for this command (made or brought up to date first), closed
    when the command ends."""
    ready.ensure(policy.paths)
    return closing(db.connect(policy.paths))


def audit_of(policy: Policy) -> Any:
    """The audit log for reading, closed when the command ends."""
    from addon.audit import query

    ready.ensure(policy.paths)
    return closing(query.connect_readonly(policy.paths))


def parse_time(text: str, tz: ZoneInfo, what: str = "time") -> float:
    """ISO-8601 to POSIX seconds; a time with no offset is local to the policy's zone."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise GuaritaError(f"invalid {what} {text!r}: use ISO-8601, e.g. 2026-11-24T14:00") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.timestamp()


def fmt_time(ts: float | None, tz: ZoneInfo) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


def format_option(f: F) -> F:
    return click.option(
        "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
        show_default=True, help="Output: an aligned table, CSV with a header, or one JSON array.",
    )(f)


def emit(rows: Iterable[dict[str, Any]], columns: Sequence[str], fmt: str = "table") -> None:
    """Print rows as a table, CSV or a JSON array (streaming, so big results stay cheap)."""
    out = sys.stdout
    if fmt == "json":
        out.write("[")
        for i, row in enumerate(rows):
            out.write(("," if i else "") + "\n" + json.dumps(row, ensure_ascii=False, default=str))
        out.write("\n]\n")
        return
    if fmt == "csv":
        write_csv(out, rows, columns)  # formulas neutralised: auditors open it in a spreadsheet
        return
    materialised = [{c: "" if row.get(c) is None else str(row.get(c)) for c in columns}
                    for row in rows]
    widths = {c: max([len(c)] + [len(r[c]) for r in materialised]) for c in columns}
    buf = io.StringIO()
    buf.write("  ".join(c.ljust(widths[c]) for c in columns).rstrip() + "\n")
    for r in materialised:
        buf.write("  ".join(r[c].ljust(widths[c]) for c in columns).rstrip() + "\n")
    out.write(buf.getvalue())


class _Silent:
    """A progress bar that draws nothing: output piped to a file or another program."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n_steps: int, current_item: object = None) -> None:
        return None


def progress(label: str, length: int) -> Any:
    """A progress bar on stderr when it is a terminal, nothing when piped (scripts, cron)."""
    if not sys.stderr.isatty():
        return _Silent()
    return click.progressbar(length=length, label=label, file=sys.stderr, show_eta=True)
