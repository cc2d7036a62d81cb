"""Mutable state in SQLite: login sessions, blocks, releases, the admin history."""
