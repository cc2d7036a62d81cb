"""Domain exceptions. Each becomes one line of CLI output at the edge, never a traceback."""


class GuaritaError(Exception):
    """Base of every error guarita reports to a person as one line."""


class PolicyError(GuaritaError):
    """The policy file is missing, unreadable, or says something invalid; the message names file and key."""


class HostError(GuaritaError):
    """A host name, address or URL that cannot be parsed into a canonical host."""


class CategoryError(GuaritaError):
    """A category list or index problem: unknown category, unreadable list, broken index file."""


class StateError(GuaritaError):
    """A state database problem (sessions, blocks, releases) that the operator must fix."""


class UnknownUser(GuaritaError):
    """The directory has no such user."""


class DirectoryUnavailable(GuaritaError):
    """No directory server answered; callers fail closed."""


class ReleaseError(GuaritaError):
    """A release request breaks a rule of Art. 9 §10–12 or seed 000 (the message says which).

    The message is for IT, who know the CLI and the policy's texts; `for_user` is what the
    person on the request form reads, in Portuguese and without internal references.
    """

    def __init__(self, message: str, for_user: str | None = None) -> None:
        super().__init__(message)
        self.for_user = for_user
