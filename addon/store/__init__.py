"""Storage helpers shared by the state and audit databases."""


def dialect(conn: object) -> str:
    """`postgresql` (the adapter of addon/store/pg.py) or `sqlite`: the few statements that
    differ between the engines ask this."""
    return str(getattr(conn, "dialect", "sqlite"))
