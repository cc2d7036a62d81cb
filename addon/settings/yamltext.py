"""The policy file's YAML -> a tree, with YAML's own mistakes named where they are made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from addon.errors import PolicyError


def parse_yaml(path: Path, text: str) -> dict[str, Any]:
    try:
        tree = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        quote = unclosed_quote(text, mark.line) if mark else None
        raise PolicyError(f"{path}: invalid YAML{where}: {problem}{quote or ''}") from exc
    if not isinstance(tree, dict):
        raise PolicyError(f"{path}: the policy must be a YAML mapping")
    return tree


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
