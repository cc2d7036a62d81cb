"""What a SIEM receives: one syslog message (RFC 5424) per audit record or admin operation,
its body JSON mapped to OCSF (HTTP Activity, API Activity) or CEF, octet-counted (RFC 6587
§3.4.1, the framing RFC 5425 uses over TLS too).

Records carry their id (`kind:id` in OCSF's `metadata.uid`, CEF's `externalId`, and the
structured data), so a receiver drops what it already has: forwarding is at least once.
Control characters never reach a receiver raw: JSON escapes them, CEF gets its own escapes
(`\\n`, `\\r`, and `\\xNN` for the rest), and the octet count makes a newline in a field
harmless to the framing anyway.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from addon import __version__

Row = Mapping[str, Any]
OCSF_VERSION = "1.3.0"
# RFC 5424 SD-ID: a name@enterprise-number; 32473 is the number RFC 5612 sets aside for
# examples and documentation, as guarita has none of its own.
SD_ID = "guarita@32473"
HTTP_ACTIVITY = {"CONNECT": 1, "DELETE": 2, "GET": 3, "HEAD": 4, "OPTIONS": 5, "POST": 6,
                 "PUT": 7, "TRACE": 8, "PATCH": 9}


@dataclass(frozen=True)
class Shape:
    """How one target wants its messages: the format, the fields kept, who is hashed."""

    format: str = "json"  # or "cef"
    fields: frozenset[str] | None = None  # None: all
    hash_key: bytes | None = None  # pseudonymise with this key
    hashed: frozenset[str] = frozenset({"user"})
    facility: int = 16  # local0
    hostname: str = "-"

    def pseudonym(self, value: object) -> str | None:
        if value is None or self.hash_key is None:
            return None if value is None else str(value)
        digest = hmac.new(self.hash_key, str(value).encode("utf-8", "surrogatepass"),
                          hashlib.sha256).hexdigest()
        return "pseud:" + digest[:32]


def local_hostname() -> str:
    """This node's name as RFC 5424 allows it (printable ASCII, at most 255)."""
    name = "".join(c for c in socket.gethostname() if "!" <= c <= "~")[:255]
    return name or "-"


# ------------------------------------------------------------------ the records
def audit_fields(row: Row, shape: Shape) -> dict[str, Any]:
    """The record as the target may see it: its fields, personal ones hashed if asked."""
    out = {k: v for k, v in row.items() if shape.fields is None or k in shape.fields}
    if shape.hash_key is not None:
        for name in shape.hashed:
            if name in out:
                out[name] = shape.pseudonym(out[name])
    return out


def admin_fields(row: Row, shape: Shape) -> dict[str, Any]:
    """An admin operation; a pseudonymised target gets the operator and the subject hashed
    and no before/after (they name people in ways no hash can follow)."""
    out = dict(row)
    if shape.hash_key is not None:
        out["operator"] = shape.pseudonym(out.get("operator"))
        out["subject"] = shape.pseudonym(out.get("subject"))
        out.pop("before", None)
        out.pop("after", None)
    return out


def _pruned(value: dict[str, Any]) -> dict[str, Any]:
    """Leave out what is absent: None, and objects left empty by it."""
    out: dict[str, Any] = {}
    for k, v in value.items():
        if v is None:
            continue
        if type(v) is dict:
            v = _pruned(v)
            if not v:
                continue
        out[k] = v
    return out


def _categories(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _ms(ts: Any) -> int | None:
    return int(float(ts) * 1000) if isinstance(ts, int | float) else None


def ocsf_audit(r: Row) -> dict[str, Any]:
    method = str(r.get("method") or "").upper()
    activity = HTTP_ACTIVITY.get(method, 99 if method else 0)
    decision = r.get("decision")
    blocked = decision == "block"
    return _pruned({
        "class_uid": 4002, "class_name": "HTTP Activity",
        "category_uid": 4, "category_name": "Network Activity",
        "activity_id": activity, "type_uid": 400200 + activity,
        "time": _ms(r.get("ts")),
        "severity_id": 3 if blocked else 1,
        "action_id": None if decision is None else (2 if blocked else 1),
        "disposition_id": None if decision is None else (2 if blocked else 1),
        "status_id": None if decision is None else (2 if decision == "error" else 1),
        "metadata": {"version": OCSF_VERSION, "log_name": "audit",
                     "uid": f"audit:{r['id']}", "correlation_uid": r.get("ref"),
                     "product": {"name": "guarita", "vendor_name": "guarita",
                                 "version": __version__}},
        "actor": {"user": {"name": r.get("user")}},
        "src_endpoint": {"ip": r.get("client_ip")},
        "dst_endpoint": {"hostname": r.get("host"), "port": r.get("port")},
        "http_request": {"http_method": method or None,
                         "url": {"scheme": r.get("scheme"), "hostname": r.get("host"),
                                 "port": r.get("port"), "path": r.get("path")}},
        "http_response": {"code": r.get("status")},
        "traffic": {"bytes_in": r.get("bytes_in"), "bytes_out": r.get("bytes_out")},
        "duration": r.get("duration_ms"),
        "unmapped": {"decision": decision, "rule": r.get("rule"),
                     "categories": _categories(r.get("categories")), "level": r.get("level"),
                     "user_level": r.get("user_level"), "machine_level": r.get("machine_level"),
                     "release_id": r.get("release_id"), "identity_source": r.get("source")},
    })


def ocsf_admin(r: Row) -> dict[str, Any]:
    return _pruned({
        "class_uid": 6003, "class_name": "API Activity",
        "category_uid": 6, "category_name": "Application Activity",
        "activity_id": 99, "type_uid": 600399, "time": _ms(r.get("at")), "severity_id": 2,
        "metadata": {"version": OCSF_VERSION, "log_name": "admin", "uid": f"admin:{r['id']}",
                     "product": {"name": "guarita", "vendor_name": "guarita",
                                 "version": __version__}},
        "actor": {"user": {"name": r.get("operator")}},
        "api": {"operation": r.get("action")},
        "resources": [{"name": r.get("subject")}] if r.get("subject") is not None else None,
        "unmapped": {"before": r.get("before"), "after": r.get("after")},
    })


# ------------------------------------------------------------------ CEF
_CEF_HEADER = re.compile(r"[\\|\x00-\x1f\x7f-\x9f]")
_CEF_VALUE = re.compile(r"[\\=\x00-\x1f\x7f-\x9f]")
_CEF_ESCAPES = {"\\": "\\\\", "|": "\\|", "=": "\\=", "\n": "\\n", "\r": "\\r"}


def _cef_escape(pattern: re.Pattern[str], value: object) -> str:
    return pattern.sub(lambda m: _CEF_ESCAPES.get(m.group(), f"\\x{ord(m.group()):02x}"),
                       str(value))


def cef(signature: str, name: str, severity: int, ext: Iterable[tuple[str, object]]) -> str:
    head = "|".join(_cef_escape(_CEF_HEADER, v) for v in
                    ("CEF:0", "guarita", "guarita", __version__, signature, name, severity))
    return head + "|" + " ".join(f"{k}={_cef_escape(_CEF_VALUE, v)}" for k, v in ext
                                 if v is not None)


def _url(r: Row) -> str | None:
    host = r.get("host")
    if host is None:
        return None
    port = r.get("port")
    return f"{r.get('scheme') or 'http'}://{host}{'' if port is None else f':{port}'}" \
           f"{r.get('path') or ''}"


def cef_audit(r: Row) -> str:
    decision = str(r.get("decision") or "unknown")
    rule = str(r.get("rule") or decision)
    severity = 5 if decision == "block" else 1
    cats = _categories(r.get("categories"))
    return cef(rule, f"{decision} {r.get('host') or ''}".strip(), severity, [
        ("rt", _ms(r.get("ts"))), ("externalId", f"audit:{r['id']}"), ("suser", r.get("user")),
        ("src", r.get("client_ip")), ("requestMethod", r.get("method")),
        ("app", r.get("scheme")), ("dhost", r.get("host")), ("dpt", r.get("port")),
        ("request", _url(r) if "host" in r else None), ("act", r.get("decision")),
        ("in", r.get("bytes_in")), ("out", r.get("bytes_out")),
        ("cs1Label", "rule" if "rule" in r else None), ("cs1", r.get("rule")),
        ("cs2Label", "categories" if cats is not None else None),
        ("cs2", ",".join(cats) if cats is not None else None),
        ("cs3Label", "ref" if "ref" in r else None), ("cs3", r.get("ref")),
        ("cs4Label", "identitySource" if "source" in r else None), ("cs4", r.get("source")),
        ("cn1Label", "level" if "level" in r else None), ("cn1", r.get("level")),
        ("cn2Label", "httpStatus" if "status" in r else None), ("cn2", r.get("status")),
    ])


def cef_admin(r: Row) -> str:
    action = str(r.get("action") or "")
    return cef(f"admin.{action}", action, 3, [
        ("rt", _ms(r.get("at"))), ("externalId", f"admin:{r['id']}"),
        ("suser", r.get("operator")), ("act", action),
        ("cs1Label", "subject"), ("cs1", r.get("subject")),
        ("cs2Label", "before" if r.get("before") is not None else None), ("cs2", r.get("before")),
        ("cs3Label", "after" if r.get("after") is not None else None), ("cs3", r.get("after")),
    ])


# ------------------------------------------------------------------ syslog
def _sd_value(value: object) -> str:
    return re.sub(r'(["\\\]])', r"\\\1", str(value))


def _timestamp(ts: Any) -> str:
    try:
        when = dt.datetime.fromtimestamp(float(ts), dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return "-"
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def severity_of(kind: str, row: Row) -> int:
    """Syslog severity: blocks are notices (5), admin operations too, the rest info (6)."""
    return 5 if kind == "admin" or row.get("decision") == "block" else 6


def frame(kind: str, row: Row, body: str, shape: Shape) -> bytes:
    """One octet-counted RFC 5424 message."""
    pri = shape.facility * 8 + severity_of(kind, row)
    ts = row.get("ts") if kind == "audit" else row.get("at")
    sd = f'[{SD_ID} kind="{kind}" id="{_sd_value(row["id"])}"]'
    msg = f"<{pri}>1 {_timestamp(ts)} {shape.hostname} guarita - {kind} {sd} {body}"
    data = msg.encode("utf-8", "backslashreplace")
    return str(len(data)).encode("ascii") + b" " + data


BODIES: dict[tuple[str, str], Callable[[Row], Any]] = {
    ("json", "audit"): ocsf_audit, ("json", "admin"): ocsf_admin,
    ("cef", "audit"): cef_audit, ("cef", "admin"): cef_admin,
}


def message(kind: str, row: Row, shape: Shape) -> bytes:
    """An audit record (`kind` "audit") or an admin operation ("admin") as the target
    wants it, framed."""
    fields = audit_fields(row, shape) if kind == "audit" else admin_fields(row, shape)
    body = BODIES[(shape.format, kind)](fields)
    # the header's time and severity are the record's, whatever fields the target sees
    return frame(kind, row, body if isinstance(body, str) else _json(body), shape)


def _json(body: dict[str, Any]) -> str:
    """Compact JSON, as the standard library writes it with ensure_ascii off, ten times
    faster; what orjson refuses (a lone surrogate, an integer past 64 bits) the standard
    library writes."""
    try:
        return orjson.dumps(body, default=str).decode("utf-8")
    except (orjson.JSONEncodeError, UnicodeDecodeError):
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
