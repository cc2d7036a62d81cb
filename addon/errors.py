"""Domain exceptions. Each becomes one line of CLI output at the edge, never a traceback."""


class GuaritaError(Exception):
    """Base of every error guarita reports to a person as one line.

    The message is for IT, who know the CLI and the policy's texts; `for_user`, when given,
    is what a page or the API shows instead: Portuguese, no command-line flag, no code.
    """

    for_user: str | None = None

    def __init__(self, message: str = "", for_user: str | None = None) -> None:
        super().__init__(message)
        if for_user is not None:
            self.for_user = for_user


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

    for_user = "O diretório não conhece este usuário."


class DirectoryUnavailable(GuaritaError):
    """No directory server answered; callers fail closed."""

    for_user = "O diretório não respondeu; tente de novo em instantes."


class ReleaseError(GuaritaError):
    """A release request breaks a rule of Art. 9 §10–12 or seed 000 (the message says which)."""
