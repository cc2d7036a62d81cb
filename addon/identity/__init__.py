"""Who is asking: static directory, LDAP, login sessions, blocks, and their caches."""
