"""Declared settings: the models a configuration file is validated against, and the loader.

`base` holds the house rules every model follows (unknown keys are errors, values are frozen,
numbers and booleans are never guessed from text); `deployment` declares where one node runs
(storage, directory connection, mail server, keytab, cluster), apart from the policy's rules
(`addon.policy.document`); `load` reads the file and reports each mistake as one line.
"""
