"""formats: OCSF and CEF bodies, RFC 5424 framing, escaping of whatever a client sent."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from addon.audit.schema import COLUMNS
from addon.forward.formats import Shape, _json, cef_audit, message, ocsf_audit
from addon.settings.forward import FIELDS

ROW = {"id": 7, "ts": 1764680000.25, "ref": "ab12-1", "user": "servidor", "client_ip": "10.0.0.5",
       "machine_level": 2, "user_level": 2, "level": 2, "method": "GET", "scheme": "https",
       "host": "www.facebook.com", "port": 443, "path": "/", "status": 403, "decision": "block",
       "rule": "category.blocked", "categories": '["social_networks"]', "release_id": None,
       "bytes_in": 0, "bytes_out": 512, "duration_ms": 1.5, "source": "basic"}


def unframe(data: bytes) -> str:
    length, _, rest = data.partition(b" ")
    assert int(length) == len(rest)  # octet counting: the count is the message's bytes
    return rest.decode()


def test_the_fields_a_target_may_choose_are_the_logs_columns() -> None:
    assert FIELDS == ("id", *COLUMNS)


def test_a_refusal_in_ocsf_http_activity() -> None:
    body = ocsf_audit(ROW)
    assert (body["class_uid"], body["activity_id"], body["type_uid"]) == (4002, 3, 400203)
    assert body["action_id"] == 2 and body["disposition_id"] == 2  # denied, blocked
    assert body["time"] == 1764680000250 and body["metadata"]["uid"] == "audit:7"
    assert body["http_request"]["url"]["hostname"] == "www.facebook.com"
    assert body["unmapped"]["categories"] == ["social_networks"]
    assert "release_id" not in body["unmapped"]  # absent, not null


def test_the_syslog_frame_has_priority_time_kind_and_id() -> None:
    text = unframe(message("audit", ROW, Shape(hostname="proxy1")))
    assert re.match(r'<133>1 2025-12-02T12:53:20\.250Z proxy1 guarita - audit '
                    r'\[guarita@32473 kind="audit" id="7"\] \{', text)  # local0.notice
    assert json.loads(text.split("] ", 1)[1])["actor"]["user"]["name"] == "servidor"


def test_fields_kept_and_the_user_hashed_with_the_key() -> None:
    shape = Shape(fields=frozenset({"id", "ts", "user", "host"}), hash_key=b"k",
                  hashed=frozenset({"user"}))
    body = json.loads(unframe(message("audit", ROW, shape)).split("] ", 1)[1])
    assert "src_endpoint" not in body and "http_response" not in body
    name = body["actor"]["user"]["name"]
    assert name.startswith("pseud:") and "servidor" not in name
    assert name == json.loads(unframe(message("audit", ROW, shape)).split("] ", 1)[1])[
        "actor"]["user"]["name"]  # one person, one pseudonym
    other = Shape(hash_key=b"another key", hashed=frozenset({"user"}))
    assert json.loads(unframe(message("audit", ROW, other)).split("] ", 1)[1])[
        "actor"]["user"]["name"] != name  # the key is what makes it


def test_an_admin_operation_pseudonymised_loses_what_names_people() -> None:
    row = {"id": 3, "at": 1764680000.0, "operator": "ti.ana", "action": "block.add",
           "subject": "user:joao", "before": None, "after": '{"user": "joao"}'}
    text = unframe(message("admin", row, Shape(format="cef", hash_key=b"k")))
    assert "ti.ana" not in text and "joao" not in text and "externalId=admin:3" in text


def cef_parts(text: str) -> tuple[list[str], dict[str, str]]:
    """A CEF line read as a receiver reads it: seven header fields, then key=value pairs."""
    header, field, i = [], "", 0
    while len(header) < 7:
        c = text[i]
        if c == "\\":
            field, i = field + text[i + 1], i + 2
            continue
        if c == "|":
            header.append(field)
            field = ""
        else:
            field += c
        i += 1
    ext: dict[str, str] = {}
    for m in re.finditer(r"(\w+)=((?:\\.|[^\\=])*?)(?= \w+=|$)", text[i:]):
        ext[m.group(1)] = re.sub(r"\\(.)", lambda e: {"n": "\n", "r": "\r"}.get(
            e.group(1), e.group(1)), m.group(2))
    return header, ext


@given(st.text())
def test_cef_escapes_anything_a_client_sent(value: str) -> None:
    text = cef_audit({**ROW, "path": value, "host": value})
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", text)  # no raw control character
    header, ext = cef_parts(text)
    assert header[0] == "CEF:0" and header[4] == "category.blocked" and header[6] == "5"
    if not re.search(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]", value):
        assert ext["dhost"] == value  # what the receiver reads back is what was sent
    assert ext["externalId"] == "audit:7" and ext["cn2"] == "403"


@given(st.text())
def test_json_bodies_stay_one_line_and_parse(value: str) -> None:
    text = unframe(message("audit", {**ROW, "path": value}, Shape()))
    assert "\n" not in text and "\r" not in text
    body = json.loads(text.split("] ", 1)[1])
    assert body["http_request"]["url"].get("path", "") == value or value == ""


def test_json_bodies_are_the_standard_librarys_text_even_where_orjson_refuses() -> None:
    body = ocsf_audit(ROW)
    assert _json(body) == json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    odd = {**body, "unmapped": {"path": "\\udcff", "big": 2**70}}
    odd["unmapped"]["path"] = "\udcff"  # a lone surrogate orjson will not write
    assert json.loads(_json(odd))["unmapped"]["big"] == 2**70
