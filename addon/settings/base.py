"""The house rules of every declared model, and the scalar types they use.

A typo must never change what is allowed: an unknown key is an error, not a default. A number
or a yes/no written as text is an error too (YAML's `"5"` or `yes` in the wrong place is a
mistake to show, not a value to guess), while a YAML list fills a tuple or a set as expected.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Strict, model_validator

Int = Annotated[int, Strict()]  # refuses True and "5"
Float = Annotated[float, Strict()]  # accepts 5, refuses "5"
Bool = Annotated[bool, Strict()]  # refuses 1 and "yes"


class Declared(BaseModel):
    """A section of a settings file: known keys only, read-only once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def one_or_many(value: object) -> object:
    """`x` means `[x]`: sections that name one group or address may name a list."""
    return [value] if isinstance(value, str) else value


def refused(key: str, why: str) -> Any:
    """A model validator refusing `key` with `why`: a key people write by mistake (a secret in
    the file, a level on a user) deserves its reason, not "unknown key"."""

    def check(cls: type, data: Any) -> Any:
        if isinstance(data, dict) and key in data:
            raise ValueError(f"{key}: {why}")
        return data

    return model_validator(mode="before")(classmethod(check))  # type: ignore[arg-type]
