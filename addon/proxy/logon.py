"""The logon-script endpoint as an add-on: its options, and its start and stop with the proxy.

The endpoint itself (`addon.identity.logon`) runs on its own port and threads;
this module only gives it mitmproxy's option system and lifecycle, and the
current runtime's state folder and directory.
"""

from __future__ import annotations

import os
from typing import Any

from mitmproxy import ctx, exceptions

from addon.errors import GuaritaError
from addon.identity.directory import Directory
from addon.identity.logon import LogonEndpoint, Source, current_sources, read_token
from addon.proxy.metrics import Metrics
from addon.proxy.options import positive_number
from addon.proxy.reload import Reload

OPTIONS = {"guarita_session_port", "guarita_session_host", "guarita_session_hours",
           "guarita_session_token_file"}


class Logon:
    def __init__(self, reload: Reload, metrics: Metrics) -> None:
        self.reload = reload
        self.metrics = metrics
        self.endpoint: LogonEndpoint | None = None

    def load(self, loader: Any) -> None:
        loader.add_option(
            "guarita_session_port", int, 0,
            "Serve the logon-script endpoint (POST /login, /logout) on this port (0: off). "
            "Needs a shared token: GUARITA_SESSION_TOKEN or guarita_session_token_file.",
        )
        loader.add_option("guarita_session_host", str, "127.0.0.1",
                          "Address the logon-script endpoint binds to.")
        loader.add_option("guarita_session_token_file", str, "",
                          "File holding the logon-script endpoint's shared token.")
        loader.add_option("guarita_session_hours", str, "12",
                          "Hours a session announced by a logon script lasts unless renewed.")

    def configure(self, updated: set[str]) -> None:
        if not updated & OPTIONS:
            return
        hours = positive_number("guarita_session_hours")
        self.done()
        port = ctx.options.guarita_session_port
        if not port:
            return
        try:
            legacy_env = os.environ.get("GUARITA_SESSION_TOKEN")
            legacy_file = ctx.options.guarita_session_token_file or None
            if legacy_env or legacy_file:  # at start, a broken token is an error, not a log line
                read_token(legacy_env, legacy_file)
            if not self._sources():  # refuse to start rather than accept anyone's claim
                read_token(None, None)
            self.endpoint = LogonEndpoint(
                ctx.options.guarita_session_host, port, self._sources,
                self.reload.runtime.policy.paths, self._directory,
                ttl=hours * 3600,
                conflicts=lambda: self.reload.runtime.policy.logon_conflicts,
                on_event=lambda kind: self.metrics.child(self.metrics.logon_events, kind).inc(),
            ).start()
        except (GuaritaError, OSError) as exc:
            raise exceptions.OptionsError(f"session endpoint port {port}: {exc}") from exc

    def _sources(self) -> list[Source]:
        """The policy's sources and the legacy token, with their tokens as they are now."""
        return current_sources(self.reload.runtime.policy.logon_sources,
                               os.environ.get("GUARITA_SESSION_TOKEN"),
                               ctx.options.guarita_session_token_file or None)

    def _directory(self) -> Directory:
        return self.reload.runtime.directory

    def done(self) -> None:
        if self.endpoint is not None:
            self.endpoint.stop()
            self.endpoint = None
