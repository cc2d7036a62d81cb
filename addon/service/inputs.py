"""What a person sends, declared: a wrong type, NaN, an empty site or an oversized text is an
`InvalidInput` naming the field, in Portuguese, never a 500 and never a silent cut.

Field names are the API's (Portuguese, as the institution's systems send them); a door
whose form names a field otherwise renames it before calling, nothing more.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from addon.errors import GuaritaError, HostError
from addon.policy.hosts import normalize_host

MAX_REASON = 2000
REF = re.compile(r"[0-9a-f]{4,16}-[0-9a-f]{1,16}")  # new_ref()'s shape: `3f2a1c4-1b`
M = TypeVar("M", bound=BaseModel)


class InvalidInput(GuaritaError):
    """A field of a request is wrong: `field` names it, `for_user` says why in Portuguese."""

    code = "invalid_input"
    for_user: str

    def __init__(self, field: str, for_user: str) -> None:
        super().__init__(f"{field}: {for_user}")
        self.field = field
        self.reason = for_user
        self.for_user = f"{LABELS.get(field, field)}: {for_user}"


LABELS = {"site": "Site", "dias": "Dias", "justificativa": "Justificativa", "motivo": "Motivo",
          "ref": "Referência", "analise": "Análise técnica", "comite": "Decisão do comitê",
          "corpo": "Pedido", "tipo": "Tipo", "alvo": "Conta ou máquina",
          "autorizado_por": "Autorizado por", "usuario": "Usuário", "ate": "Até",
          "desde": "De", "data": "Data do evento", "inicio": "Início do evento",
          "fim": "Fim do evento"}


def _site(value: str) -> str:
    if not value.strip():
        raise ValueError("informe o endereço do site")
    try:
        return normalize_host(value)
    except HostError:
        raise ValueError("o endereço do site é inválido") from None


def written(what: str) -> AfterValidator:
    """A text that must say something (spaces around it dropped)."""

    def check(value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(what)
        return value

    return AfterValidator(check)


def block_page_ref(value: str | None) -> str | None:
    """A block page's reference, or nothing: anything else a client sends is not stored."""
    return value.strip() if value is not None and REF.fullmatch(value.strip()) else None


def site(value: str) -> str:
    """The canonical host a person typed or a form carried, or InvalidInput."""
    try:
        return _site(value)
    except ValueError as exc:
        raise InvalidInput("site", str(exc)) from None


Site = Annotated[str, AfterValidator(_site)]
Justification = Annotated[str, Field(max_length=MAX_REASON),
                         written("escreva por que o seu trabalho precisa deste site")]
Motive = Annotated[str, Field(max_length=MAX_REASON), written("escreva o motivo")]
Ref = Annotated[str | None, AfterValidator(block_page_ref)]


class Input(BaseModel):
    # extra keys are ignored: a form carries its CSRF token and buttons beside the fields
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class AccessRequest(Input):
    site: Site
    dias: Annotated[float, Field(gt=0, le=366, allow_inf_nan=False)] = 1.0
    justificativa: Justification
    ref: Ref = None


def _iso(read: Callable[[str], object], what: str) -> BeforeValidator:
    """A date or a time as forms and the CLI write them (ISO: 2026-12-10, 14:30)."""

    def check(value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return read(value.strip())
        except ValueError:
            raise ValueError(what) from None

    return BeforeValidator(check)


class EventRequest(Input):
    """A web-conference platform other than Teams for one event (seed 000)."""

    data: Annotated[dt.date, _iso(dt.date.fromisoformat, "deve ser uma data (AAAA-MM-DD)")]
    inicio: Annotated[dt.time, _iso(dt.time.fromisoformat, "deve ser uma hora (HH:MM)")]
    fim: Annotated[dt.time, _iso(dt.time.fromisoformat, "deve ser uma hora (HH:MM)")]
    justificativa: Justification
    ref: Ref = None


class Reason(Input):
    motivo: Motive


class Approval(Input):
    analise: Annotated[str | None, Field(max_length=200)] = None
    comite: Annotated[str | None, Field(max_length=200)] = None


MESSAGES = {"missing": "campo obrigatório", "string_type": "deve ser um texto",
            "float_type": "deve ser um número", "int_type": "deve ser um número",
            "finite_number": "deve ser um número", "greater_than": "deve ser maior que {gt:g}",
            "less_than_equal": "deve ser no máximo {le:g}",
            "string_too_long": "no máximo {max_length} caracteres",
            "literal_error": "escolha uma das opções {expected}"}


def parse(model: type[M], data: Any, numbers_from_text: tuple[str, ...] = ()) -> M:
    """`data` (a JSON body or a form) as `model`, or InvalidInput for its first wrong field.
    A form sends every field as text: `numbers_from_text` names those to read as numbers."""
    data = {} if data is None else data  # no body at all: every field missing (or default)
    if not isinstance(data, dict):
        raise InvalidInput("corpo", "envie um objeto JSON com os campos do pedido")
    data = dict(data)
    for name in numbers_from_text:
        if isinstance(data.get(name), str):
            try:
                data[name] = float(data[name]) if data[name].strip() else None
            except ValueError:
                raise InvalidInput(name, "deve ser um número") from None
            if data[name] is None:
                del data[name]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "corpo"
        template = MESSAGES.get(err["type"])
        if template is not None:
            message = template.format(**(err.get("ctx") or {}))
        elif err["type"] == "value_error":
            message = err["msg"].removeprefix("Value error, ")
        else:
            message = "valor inválido"
        raise InvalidInput(field, message) from None
