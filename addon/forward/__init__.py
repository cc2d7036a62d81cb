"""Streaming the audit log and the admin history to SIEMs (issue 29)."""
