"""What each notification says, in Portuguese, to the person who reads it.

Subjects name the event; bodies say what happened, what it means and what to do. No
internal wording: rule names and CLI options are for IT, not for the user or the chief.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from addon.store.seam import Row as StoredRow

SIGNATURE = "\n\n--\nguarita, filtro de acesso à internet\nMensagem automática: não responda."

Message = tuple[str, str]  # subject, body
Row = Mapping[str, Any] | StoredRow  # a releases row, or a dict of one


def _when(ts: float, tz: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(ts, tz).strftime("%d/%m/%Y %H:%M")


def _what(row: Row) -> str:
    kinds = {"domain": "o site", "category": "a categoria", "event": "a plataforma",
             "level": "o nível"}
    return f"{kinds.get(row['kind'], '')} {row['obj']}".strip()


def request_filed(row: Row, tz: ZoneInfo) -> Message:
    event = f" para o evento de {row['event_date']}" if row["kind"] == "event" else ""
    return (f"Novo pedido de liberação nº {row['id']}: {row['obj']}",
            f"{row['requested_by']} pediu a liberação de {_what(row)}{event} em "
            f"{_when(row['created'], tz)}.\n\nJustificativa: {row['reason']}\n\n"
            f"Para decidir: guarita release requests --ref {row['ref'] or row['id']}"
            + SIGNATURE)


def appeal_filed(row: Row, reason: str) -> Message:
    return (f"Recurso contra a negativa do pedido nº {row['id']}: {row['obj']}",
            f"{row['requested_by']} recorreu da negativa do pedido nº {row['id']} "
            f"({_what(row)}), para decisão da Subprocuradoria-Geral de Justiça para Assuntos "
            f"Administrativos (Art. 9 §12).\n\nMotivo do recurso: {reason}" + SIGNATURE)


def approved(row: Row, start: float, end: float, tz: ZoneInfo) -> Message:
    return (f"Pedido nº {row['id']} aprovado: {row['obj']}",
            f"Seu pedido de liberação de {_what(row)} foi aprovado.\n\nO acesso está liberado "
            f"de {_when(start, tz)} até {_when(end, tz)}. Depois disso ele volta a ser "
            "bloqueado; se ainda precisar, peça a prorrogação antes do fim (uma vez, Art. 9 §10)."
            + SIGNATURE)


def denied(row: Row, reason: str) -> Message:
    return (f"Pedido nº {row['id']} negado: {row['obj']}",
            f"Seu pedido de liberação de {_what(row)} foi negado.\n\nMotivo: {reason}\n\n"
            "Você pode recorrer uma vez à Subprocuradoria-Geral de Justiça para Assuntos "
            f"Administrativos (Art. 9 §12): procure a TI informando o pedido nº {row['id']}."
            + SIGNATURE)


def expiring(row: Row, tz: ZoneInfo) -> Message:
    return (f"Sua liberação de {row['obj']} termina em {_when(row['end'], tz)}",
            f"A liberação de {_what(row)} (nº {row['id']}) termina em {_when(row['end'], tz)}. "
            + ("Ela ainda pode ser prorrogada uma vez, por até uma semana: peça à TI antes do "
               "fim." if not row["extended"] else "Ela já foi prorrogada e não pode ser "
               "prorrogada de novo.") + SIGNATURE)


def _lines(items: Iterable[Mapping[str, Any]], tz: ZoneInfo) -> str:
    return "\n".join(
        f"- {v['user']}: {v['attempts']} tentativa(s) ({v['rule_label']}), sites: "
        f"{', '.join(v['hosts'][:5])}{' …' if len(v['hosts']) > 5 else ''}; "
        f"de {_when(v['first'], tz)} a {_when(v['last'], tz)}"
        for v in items)


def digest_chief(period: str, items: Sequence[Mapping[str, Any]], tz: ZoneInfo,
                 justified: Sequence[Mapping[str, Any]] = ()) -> Message:
    tried = ("Art. 19 da Ordem de Serviço 03/2018: como chefe imediato, você é informado das "
             "tentativas de acesso a conteúdo proibido feitas por sua equipe no período "
             f"{period}.\n\n{_lines(items, tz)}\n\n" if items else
             f"Nenhuma tentativa de acesso proibido da sua equipe no período {period}.\n\n")
    opened = ("Acessos justificados (Art. 10 §1: proibidos exceto em objeto de serviço), "
              "abertos pela própria pessoa com a justificativa abaixo; no console, em "
              "\"Acessos justificados\", você pode revogar um e, com um motivo, contá-lo como "
              "violação:\n\n" + "\n".join(
                  f"- {j['login']}: {j['domain']}, de {_when(j['start'], tz)} a "
                  f"{_when(j['end'], tz)} (nº {j['id']}): \"{j['reason']}\""
                  + (" — revogado" if j.get("revoked") else "") for j in justified)
              + "\n\n" if justified else "")
    return (f"Uso da internet da sua equipe: {len(items)} pessoa(s) com tentativas "
            f"proibidas, {len(justified)} acesso(s) justificado(s) ({period})",
            tried + opened + "Os registros completos estão no log de auditoria; a TI pode "
            "orientar sobre as providências." + SIGNATURE)


def digest_office(period: str, items: Sequence[Mapping[str, Any]], tz: ZoneInfo,
                  proposals: list[str]) -> Message:
    extra = ("\n\nA TI propõe bloquear as contas abaixo (nenhum bloqueio é feito sem a "
             "confirmação de uma pessoa):\n" + "\n".join(f"- {p}" for p in proposals)
             if proposals else "")
    return (f"Violações da política de acesso à internet ({period}): {len(items)} usuário(s)",
            "Art. 19 da Ordem de Serviço 03/2018: violações encontradas no período "
            f"{period}, pela gravidade definida na política.\n\n{_lines(items, tz)}{extra}"
            + SIGNATURE)


def digest_user(period: str, items: Sequence[Mapping[str, Any]], tz: ZoneInfo) -> Message:
    attempts = sum(int(i["attempts"]) for i in items)
    return (f"Tentativas de acesso a conteúdo proibido ({period})",
            f"No período {period}, o filtro registrou {attempts} tentativa(s) de acesso a "
            "conteúdo proibido pela Ordem de Serviço 03/2018 com o seu usuário:\n\n"
            f"{_lines(items, tz)}\n\nSe não foi você, troque a sua senha e avise a TI. Se o "
            "acesso é necessário para o seu trabalho, peça a liberação pela página de "
            "bloqueio." + SIGNATURE)


def digest_checkpoints(period: str, lines: Sequence[str], keys: Sequence[str]) -> Message:
    return (f"Pontos de verificação do registro de auditoria ({period})",
            f"Os pontos de verificação assinados do registro de auditoria no período {period}, "
            "um por cadeia, e as declarações de poda. Guarde esta mensagem: ela é uma "
            "testemunha fora do servidor. Para conferir o registro com ela, copie as linhas "
            "entre os traços para um arquivo e rode `guarita audit verify --witness ARQUIVO`"
            " (docs/audit.md).\n\nChaves (impressões digitais): " + ", ".join(keys)
            + "\n\n-----\n" + "\n".join(lines) + "\n-----" + SIGNATURE)


def test_message() -> Message:
    return ("Teste de notificação do guarita",
            "Se você recebeu esta mensagem, o guarita consegue enviar e-mails por este "
            "servidor." + SIGNATURE)
