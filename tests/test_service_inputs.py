"""Declared inputs: every malformed field is an InvalidInput naming it, in Portuguese."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addon.service.inputs import MAX_REASON, AccessRequest, Approval, InvalidInput, Reason, parse

GOOD = {"site": "WWW.YouTube.com.", "justificativa": " curso ", "dias": 3}


def test_a_good_request_is_canonical() -> None:
    req = parse(AccessRequest, {**GOOD, "ref": "3f2a1c4-1b", "csrf": "ignored"})
    assert (req.site, req.justificativa, req.dias, req.ref) == ("www.youtube.com", "curso", 3.0,
                                                                "3f2a1c4-1b")
    assert parse(AccessRequest, {**GOOD, "ref": "<script>"}).ref is None  # not ours: dropped


@pytest.mark.parametrize("data, field, text", [
    ([1], "corpo", "envie um objeto JSON"), ("x", "corpo", "objeto JSON"), (3, "corpo", "objeto"),
    ({**GOOD, "dias": "NaN"}, "dias", "deve ser um número"),
    ({**GOOD, "dias": float("nan")}, "dias", "deve ser um número"),
    ({**GOOD, "dias": float("inf")}, "dias", "deve ser um número"),
    ({**GOOD, "dias": 0}, "dias", "maior que 0"), ({**GOOD, "dias": True}, "dias", "número"),
    ({**GOOD, "ref": {"a": 1}}, "ref", "deve ser um texto"),
    ({**GOOD, "site": ""}, "site", "informe o endereço do site"),
    ({"justificativa": "x"}, "site", "campo obrigatório"),
    ({**GOOD, "site": "exa mple..com"}, "site", "endereço do site é inválido"),
    ({**GOOD, "justificativa": "   "}, "justificativa", "escreva por que"),
    ({**GOOD, "justificativa": "x" * (MAX_REASON + 1)}, "justificativa", f"no máximo {MAX_REASON}"),
    ({**GOOD, "justificativa": ["x"]}, "justificativa", "deve ser um texto"),
])
def test_malformed_requests_name_the_field(data: Any, field: str, text: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse(AccessRequest, data)
    assert exc.value.field == field and text in exc.value.for_user


def test_forms_send_numbers_as_text() -> None:
    assert parse(AccessRequest, {**GOOD, "dias": "2"}, ("dias",)).dias == 2.0
    assert parse(AccessRequest, {**GOOD, "dias": " "}, ("dias",)).dias == 1.0  # the default
    with pytest.raises(InvalidInput, match="dias"):
        parse(AccessRequest, {**GOOD, "dias": "dois"}, ("dias",))


def test_reasons_and_approvals() -> None:
    assert parse(Reason, {"motivo": " preciso "}).motivo == "preciso"
    with pytest.raises(InvalidInput, match="motivo"):
        parse(Reason, {"motivo": ""})
    assert parse(Approval, None) == Approval()
    with pytest.raises(InvalidInput, match="analise"):
        parse(Approval, {"analise": 7})


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(),
                 st.lists(st.integers()), st.dictionaries(st.text(), st.text())))
def test_any_value_of_any_field_is_accepted_or_refused_cleanly(value: Any) -> None:
    for field in ("site", "dias", "justificativa", "ref"):
        try:
            parse(AccessRequest, {**GOOD, field: value})
        except InvalidInput as exc:
            assert exc.field == field and exc.for_user
