"""The policy's Art. 19 sections, declared: which refusals are violations and who is told
(`violations`), and the e-mail the proxy sends (`notifications`); built into
`addon.policy.notify_settings`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from addon.settings.base import Bool, Declared, Float, Int, one_or_many

Recipient = Literal["user", "chief", "director_general", "deputy_attorney_general",
                    "inspector_general"]
Office = Literal["director_general", "deputy_attorney_general", "inspector_general"]


class ViolationRuleSpec(Declared):
    name: str
    rules: tuple[str, ...] = ("category.blocked",)
    categories: tuple[str, ...] = ()
    attempts: Annotated[Int, Field(ge=1)] = 1
    severity: str = "media"
    propose_block: Bool = False


class Violations(Declared):
    rules: tuple[ViolationRuleSpec, ...] | None = None  # None: the defaults
    # one attempt: a person on one site within this many minutes, however many records
    window_minutes: Annotated[Int, Field(ge=1, le=1440)] = 10
    severities: dict[str, tuple[Recipient, ...]] = {
        "baixa": ("user",),
        "media": ("user", "chief"),
        "alta": ("user", "chief", "director_general"),
        "grave": ("user", "chief", "director_general", "deputy_attorney_general",
                  "inspector_general"),
    }


def _addresses(value: Any) -> Any:
    items = one_or_many(value)
    if not isinstance(items, list | tuple) or not all(isinstance(a, str) and "@" in a
                                                      for a in items):
        raise ValueError("must be an e-mail address or a list of them")
    return tuple(items)


Addresses = Annotated[tuple[str, ...], BeforeValidator(_addresses)]


class Notifications(Declared):
    enabled: Bool = True
    committee: Annotated[tuple[str, ...], BeforeValidator(lambda v: _addresses(v) if v else ())] = ()
    offices: dict[Office, Addresses] = {}
    digest: Literal["daily", "weekly"] = "daily"
    digest_hour: Annotated[Int, Field(ge=0, le=23)] = 8
    per_recipient_per_hour: Annotated[Int, Field(ge=1)] = 20
    expiry_warning_hours: Annotated[Float, Field(ge=0)] = 24.0
    max_tries: Annotated[Int, Field(ge=1)] = 12
