"""Sending one message by SMTP (standard library `smtplib` and `email`), STARTTLS and login.

The password is read from the environment variable the policy names, never from the
policy. Every failure becomes one `NotifyError` line: the outbox keeps the message.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from addon.errors import GuaritaError
from addon.settings.deployment import SmtpSettings


class NotifyError(GuaritaError):
    """The mail server did not take a message; `down` when it could not be reached at all."""

    def __init__(self, message: str, down: bool = False) -> None:
        super().__init__(message)
        self.down = down


def message_id(key: str, sender: str) -> str:
    """The same key always gives the same Message-ID: a resend after a crash between the
    server's 250 and our bookkeeping is recognisable as the same message."""
    domain = sender.rpartition("@")[2].strip("> ") or "guarita"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build(settings: SmtpSettings, to: list[str], subject: str, body: str,
          key: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = message_id(key, settings.sender)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to this
    msg.set_content(body)
    return msg


class Session:
    """One SMTP connection for a batch of messages, opened on the first send."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        try:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
            user = os.environ.get(s.username_env) if s.username_env else None
            if user:
                smtp.login(user, os.environ.get(s.password_env or "", ""))
        except (OSError, smtplib.SMTPException) as exc:
            raise NotifyError(f"mail server {s.host}:{s.port}: {_text(exc)}", down=True) from exc
        return smtp

    def send(self, msg: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._open()
        try:
            self._smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise NotifyError(f"recipient refused: {', '.join(exc.recipients)}") from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            self._smtp = None
            raise NotifyError(f"mail server {self.settings.host}:{self.settings.port}: "
                              f"{_text(exc)}", down=True) from exc
        except smtplib.SMTPException as exc:
            raise NotifyError(_text(exc)) from exc

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._smtp = None


def _text(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        said = exc.smtp_error
        return f"{exc.smtp_code} {said.decode('utf-8', 'replace') if isinstance(said, bytes) else said}"
    return " ".join(str(exc).split()) or type(exc).__name__
