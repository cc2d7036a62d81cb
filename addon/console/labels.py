"""What the console shows for guarita's codes: decisions, rules and request states in
Portuguese, as the people reading the pages say them (the CSV and the API keep the codes,
which other systems read)."""

from __future__ import annotations

DECISIONS = {"allow": "permitido", "block": "bloqueado", "error": "erro"}

STATUSES = {"requested": "aguardando análise", "appealed": "em recurso", "active": "liberado",
            "denied": "negado", "revoked": "encerrado"}

RULES = {
    "level.allowed": "permitido pelo nível",
    "level0.no_user": "nível 0: sem usuário identificado",
    "level1.allowlist": "nível 1: site da lista permitida",
    "level1.not_allowlisted": "nível 1: site fora da lista permitida",
    "level2.business_hours": "nível 2: fora do horário permitido",
    "level4": "nível 4 (acesso irrestrito)",
    "category.blocked": "categoria bloqueada",
    "malicious": "site malicioso",
    "release": "liberação temporária",
    "justified": "acesso justificado (objeto de serviço)",
    "transparent.no_sni": "conexão TLS sem nome do site",
    "event": "liberação de evento",
    "webconf.event_required": "videoconferência: só com evento liberado",
    "webconf.homologated": "videoconferência homologada",
    "blocked.user": "conta bloqueada",
    "blocked.machine": "máquina bloqueada",
    "destination.forbidden": "destino proibido (rede interna)",
    "ip_literal.unlisted": "endereço IP sem nome, fora da lista",
    "identity.bad_credentials": "usuário ou senha inválidos",
    "identity.bad_ticket": "bilhete Kerberos inválido",
    "identity.unknown_user": "usuário desconhecido no diretório",
    "identity.throttled": "muitas tentativas de senha",
    "identity.directory_unavailable": "o diretório não respondeu",
    "request.malformed": "pedido malformado",
    "request.too_large": "pedido grande demais",
    "request.too_long": "endereço longo demais",
    "tunnel.not_tls": "túnel sem TLS",
    "tls.ech": "ECH: site escondido atrás de outro nome",
    "tunnel.port": "porta não permitida para túnel",
    "internal.error": "erro interno (bloqueado por segurança)",
    "upstream.dns": "o site não existe (DNS)",
    "upstream.refused": "o site recusou a conexão",
    "upstream.timeout": "o site não respondeu a tempo",
    "upstream.tls": "falha no certificado do site",
    "upstream.closed": "o site fechou a conexão",
    "upstream.unreachable": "o site está inacessível",
    "upstream.failed": "falha ao falar com o site",
}


def rule(code: str | None) -> str:
    """A rule's words, or its code when it has none yet (never an empty cell)."""
    if not code:
        return "-"
    return RULES.get(code, code)
