"""Typed access to a policy's YAML tree, reporting every problem as `file: key: problem`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from addon.errors import PolicyError


class Reader:
    """Typed access to the YAML tree that reports `file: key: problem`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> PolicyError:
        return PolicyError(f"{self.path}: {key}: {problem}")

    def get(self, tree: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str,
            default: Any = ...) -> Any:
        full = f"{where}.{key}" if where else key
        if key not in tree or tree[key] is None:
            if default is ...:
                raise self.fail(full, "missing")
            return default
        value = tree[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(full, f"must be {name}, got {type(value).__name__}")
        return value

    def time(self, tree: dict[str, Any], key: str, where: str) -> dt.time:
        raw = self.get(tree, key, str, where)
        try:
            return dt.time.fromisoformat(raw)
        except ValueError as exc:
            raise self.fail(f"{where}.{key}", f"invalid time {raw!r} (use HH:MM)") from exc

    def categories(self, value: Any, key: str, known: dict[str, str]) -> frozenset[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of category names")
        for c in value:
            if c not in known:
                raise self.fail(key, f"unknown category {c!r} (declare it under 'categories')")
        return frozenset(value)


def unclosed_quote(text: str, problem_line: int) -> str | None:
    """Where the real mistake is when a missing quote swallowed the lines after it.

    YAML reports such an error where the runaway quoted text finally ends, often a hundred
    lines later (a quote in a comment closes it); the line to fix is where it began.
    """
    try:
        for token in yaml.scan(text):
            if (isinstance(token, yaml.ScalarToken) and token.style in ('"', "'")
                    and token.end_mark.line == problem_line
                    and token.end_mark.line > token.start_mark.line):
                start = token.start_mark.line + 1
                return (f" (a quoted text opened at line {start} closes only at line "
                        f"{problem_line + 1}: is a quote missing on line {start}?)")
    except yaml.YAMLError:
        return None
    return None
