"""pydantic's validation errors -> one line per mistake: the key's path and the problem.

A misspelt key names the key it was probably meant to be (`storgae` -> `storage`), because
"unknown key" alone sends a person hunting through the documentation for the right one.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

KINDS = {"int_type": "a whole number", "float_type": "a number", "bool_type": "true or false",
         "string_type": "text", "list_type": "a list", "tuple_type": "a list",
         "dict_type": "a mapping", "model_type": "a mapping", "frozen_set_type": "a list",
         "model_attributes_type": "a mapping", "date_type": "a date (YYYY-MM-DD)"}


class Problem(NamedTuple):
    loc: tuple[int | str, ...]  # in the file's tree
    key: str  # as a person writes it: levels.1.allow_only, machines[0].level
    problem: str


YAML_NAMES = {dict: "mapping", list: "list", str: "text", int: "number", float: "number",
              bool: "true/false", type(None): "nothing"}


def _inner(annotation: Any) -> list[Any]:
    """The types an annotation may hold, unwrapped from Annotated, Optional and unions."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _inner(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(annotation) for t in _inner(a)]
    return [annotation]


def _step(current: list[Any], part: int | str) -> list[Any]:
    nxt: list[Any] = []
    for t in current:
        if isinstance(t, type) and issubclass(t, BaseModel):
            field = t.model_fields.get(str(part)) or next(
                (f for f in t.model_fields.values() if f.alias == part), None)
            if field is not None:
                nxt += _inner(field.annotation)
        elif typing.get_origin(t) in (dict, tuple, list):
            args = typing.get_args(t)
            if args:
                nxt += _inner(args[-1] if typing.get_origin(t) is dict else args[0])
    return nxt


def _is_list(current: list[Any]) -> bool:
    return any(typing.get_origin(t) in (tuple, list) for t in current)


def path_of(model: type[BaseModel], loc: tuple[int | str, ...], prefix: str = "") -> str:
    """`levels.1.allow_only`, `machines[0].level`: a list index in brackets, a key after a dot
    (a mapping's keys may be numbers too)."""
    out, current = prefix, [model]
    for part in loc:
        if isinstance(part, int) and _is_list(current):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
        current = _step(current, part)
    return out


def keys_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys a mapping at `loc` (inside `model`) may have; empty when not a model."""
    current: list[Any] = [model]
    for part in loc:
        current = _step(current, part)
    return [f.alias or name for t in current if isinstance(t, type) and issubclass(t, BaseModel)
            for name, f in t.model_fields.items()]


def _problem(err: ErrorDetails, known: list[str]) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" (did you mean '{near[0]}'?)" if near else (
            f" (known keys: {', '.join(sorted(known))})" if known else "")
        return f"unknown key{hint}"
    if kind == "missing":
        return "missing"
    if kind in KINDS:
        return f"must be {KINDS[kind]}, got {YAML_NAMES.get(type(value), type(value).__name__)}"
    if kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        return f"must be one of {expected.replace(' or ', ', ')}, got {value!r}"
    bound = err.get("ctx") or {}
    if kind == "greater_than_equal":
        return f"must be at least {bound['ge']}, got {value!r}"
    if kind == "less_than_equal":
        return f"must be at most {bound['le']}, got {value!r}"
    message = err["msg"]
    if kind in ("value_error", "assertion_error"):
        message = message.split(", ", 1)[1] if ", " in message else message
    elif message.startswith("Input should be "):
        message = "must be " + message.removeprefix("Input should be ")
    return message


def lines(exc: ValidationError, model: type[BaseModel],
          prefix: tuple[str, ...] = (), extra_keys: dict[tuple[str, ...], list[str]] | None = None
          ) -> list[Problem]:
    """(location, key path, problem) for each error, in the file's key names. `prefix` places a model
    validated apart (a deployment section) at its path in the file; `extra_keys` adds, per
    parent path, the keys validated apart, so a near miss of them is named too. A required
    key reported missing beside the misspelling that was meant for it is left out: the
    misspelling's line names both."""
    out: list[tuple[tuple[int | str, ...], str]] = []
    meant: set[tuple[int | str, ...]] = set()
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "[key]")  # a mapping's key: its own path
        known: list[str] = []
        if err["type"] == "extra_forbidden":
            known = keys_at(model, loc[:-1]) + (extra_keys or {}).get(
                prefix + tuple(str(p) for p in loc[:-1]), [])
        problem = _problem(err, known)
        if problem.startswith("unknown key (did you mean '"):
            meant.add((*loc[:-1], problem.split("'")[1]))
        if err["type"] == "value_error" and ": " in problem and problem.split(": ", 1)[0] \
                .isidentifier():  # a validator that names the key it refused
            key, problem = problem.split(": ", 1)
            loc = (*loc, key)
        out.append((loc, problem))
    where = ".".join(prefix)
    return [Problem((*prefix, *loc), path_of(model, loc, where), problem) for loc, problem in out
            if not (problem == "missing" and loc in meant)]


def position(tree: Any, loc: tuple[int | str, ...]) -> tuple[int, ...]:
    """Where `loc` is in the file's tree, as the order of each key in its mapping: mistakes
    are listed in the order a person reads the file."""
    out: list[int] = []
    for part in loc:
        if isinstance(tree, dict):
            keys = list(tree)
            index = keys.index(part) if part in keys else len(keys)
            out.append(index)
            tree = tree.get(part)
        elif isinstance(tree, list) and isinstance(part, int) and part < len(tree):
            out.append(part)
            tree = tree[part]
        else:
            break
    return tuple(out)
