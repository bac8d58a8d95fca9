"""Domain errors with stable codes. The API maps them to problem+json; the CLI prints them."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An error a person can act on: `code` is stable, `message` says what and what to do."""

    code = "domain.error"
    # not_found | conflict | forbidden | invalid | unauthenticated | throttled | too_large |
    # unsupported | precondition_required | unavailable
    kind = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.field = field
        self.extra = extra


class NotFound(DomainError):
    code = "not_found"
    kind = "not_found"


class CaseNotFound(NotFound):
    code = "case.not_found"


class StaleVersion(DomainError):
    code = "case.stale_version"
    kind = "conflict"


class VersionRequired(DomainError):
    """An action that does not say which version of the case it acts on (HTTP 428): a
    client that never read the case could otherwise overwrite what it never saw."""

    code = "case.version_required"
    kind = "precondition_required"


class Conflict(DomainError):
    code = "conflict"
    kind = "conflict"


class ScopeDenied(DomainError):
    code = "scope.denied"
    kind = "forbidden"


class Unauthenticated(DomainError):
    code = "auth.failed"
    kind = "unauthenticated"


class Throttled(DomainError):
    """Too many failed sign-ins: try again after `retry_after` seconds (in `extra`)."""

    code = "auth.throttled"
    kind = "throttled"


class Unavailable(DomainError):
    """The database refuses, drops or outlasts the request (HTTP 503 with Retry-After: the
    `retry_after` seconds in `extra`). Nothing was changed that the caller was told of."""

    code = "unavailable"
    kind = "unavailable"


class InvalidInput(DomainError):
    code = "input.invalid"
    kind = "invalid"


class TransitionError(DomainError):
    """The workflow refused the action; `code` says which rule (transition.not_allowed, ...)."""

    code = "transition.not_allowed"
    kind = "conflict"


class ConfigurationError(DomainError):
    code = "config.invalid"
    kind = "invalid"


class FileTooLarge(DomainError):
    """An upload over the configured size (HTTP 413)."""

    code = "file.too_large"
    kind = "too_large"


class UnsupportedFile(DomainError):
    """An upload whose content is no PDF, JPEG, PNG or OFD, is encrypted, or is not what its
    name says (HTTP 415)."""

    code = "file.unsupported"
    kind = "unsupported"
