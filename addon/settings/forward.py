"""`audit.forward`: the SIEMs this node streams the audit log and the admin history to.

Deployment, not rules: where a receiver listens, its CA, this node's client certificate.
Secrets stay out of the file: the pseudonymisation key is named by the environment
variable or the file that holds it, and read when forwarding starts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from addon.settings.base import Bool, Declared, Int

# What a target may choose to receive: the audit log's columns and its id (a test holds
# this equal to addon.audit.schema.COLUMNS; settings sit below the audit package).
FIELDS: tuple[str, ...] = (
    "id", "ts", "ref", "user", "client_ip", "machine_level", "user_level", "level", "method",
    "scheme", "host", "port", "path", "status", "decision", "rule", "categories",
    "release_id", "bytes_in", "bytes_out", "duration_ms", "source",
)
# Fields that name a person (LGPD): what a pseudonymised target may have hashed.
PERSONAL = ("user", "client_ip")
Facility = Literal["user", "auth", "authpriv", "local0", "local1", "local2", "local3", "local4",
                   "local5", "local6", "local7"]
FACILITIES: dict[str, int] = {"user": 1, "auth": 4, "authpriv": 10, "local0": 16, "local1": 17, "local2": 18,
              "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23}
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class Pseudonymise(Declared):
    """A keyed hash (HMAC-SHA-256) in place of each person's login or address: the SIEM can
    still follow one person across records, and nobody without the key can name them."""

    key_env: str | None = None
    key_file: str | None = None
    fields: tuple[Literal["user", "client_ip"], ...] = ("user",)

    @model_validator(mode="after")
    def _one_key(self) -> Pseudonymise:
        if (self.key_env is None) == (self.key_file is None):
            raise ValueError("name the key by exactly one of key_env or key_file")
        return self


class ForwardTarget(Declared):
    """One receiver: syslog (RFC 5424) over TCP with octet counting (RFC 6587) or over TLS
    (RFC 5425), each message JSON (OCSF HTTP Activity) or CEF."""

    name: str
    host: str
    port: Int = Field(ge=1, le=65535)
    transport: Literal["tcp", "tls"] = "tcp"
    ca_file: str | None = None  # TLS: the receiver's CA (none: the system's)
    cert_file: str | None = None  # TLS: this node's client certificate, when asked
    key_file: str | None = None
    server_name: str | None = None  # TLS: the name in the receiver's certificate (host)
    format: Literal["json", "cef"] = "json"
    facility: Facility = "local0"
    fields: tuple[str, ...] | None = None  # None: every field
    admin: Bool = True  # the admin history too (Art. 11 §4–6)
    backfill: Bool = False  # a new target gets the records already in the log, not only new ones
    pseudonymise: Pseudonymise | None = None
    batch: Int = Field(default=1000, ge=1, le=100_000)
    # records behind before a line says so (the audit log is the spool: nothing is dropped)
    warn_behind: Int = Field(default=100_000, ge=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("must be a short name: lower-case letters, digits, - or _")
        return value

    @field_validator("fields")
    @classmethod
    def _known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        unknown = [f for f in value if f not in FIELDS]
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r} (fields are {', '.join(FIELDS)})")
        return tuple(dict.fromkeys(("id", *value)))  # the id always: the SIEM drops duplicates

    @model_validator(mode="after")
    def _tls_only(self) -> ForwardTarget:
        if self.transport == "tcp" and any((self.ca_file, self.cert_file, self.key_file)):
            raise ValueError("ca_file, cert_file and key_file need transport: tls")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


def _unique_names(targets: tuple[ForwardTarget, ...]) -> tuple[ForwardTarget, ...]:
    seen: set[str] = set()
    for t in targets:
        if t.name in seen:
            raise ValueError(f"two targets named {t.name!r}: each keeps its own position")
        seen.add(t.name)
    return targets


Targets = Annotated[tuple[ForwardTarget, ...], Field(max_length=8), AfterValidator(_unique_names)]


def beside(target: ForwardTarget, folder: Path) -> ForwardTarget:
    """The target with its files resolved against the policy file's folder (they travel
    with the policy, as the keytab does)."""

    def at(name: str | None) -> str | None:
        return None if name is None else str((folder / name).resolve())

    p = target.pseudonymise
    if p is not None and p.key_file is not None:
        p = p.model_copy(update={"key_file": at(p.key_file)})
    return target.model_copy(update={"ca_file": at(target.ca_file),
                                     "cert_file": at(target.cert_file),
                                     "key_file": at(target.key_file), "pseudonymise": p})
