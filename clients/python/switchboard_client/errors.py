"""Typed errors from the gateway's error shapes (OpenAI's, Anthropic's or the task API's)."""
from __future__ import annotations

from typing import Any, Mapping, Optional


class SwitchboardError(Exception):
    """An error answer: its HTTP status, message, type and code, and the response headers."""

    def __init__(self, status: int, message: str, *, type: Optional[str] = None, code: Optional[str] = None,
                 headers: Optional[Mapping[str, str]] = None, body: Any = None) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.headers = dict(headers or {})
        self.body = body


class BadRequestError(SwitchboardError):
    """400: a field the gateway refuses, named in the message."""


class AuthenticationError(SwitchboardError):
    """401: no key, or a key the gateway does not know."""


class PermissionDeniedError(SwitchboardError):
    """403: a model the key may not use, or a route that needs the master key."""


class NotFoundError(SwitchboardError):
    """404: an unknown model, response or key."""


class RateLimitError(SwitchboardError):
    """429: a rate limit; `retry_after` seconds until it allows another request."""

    @property
    def retry_after(self) -> Optional[float]:
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class BudgetExceededError(RateLimitError):
    """429 with code budget_exceeded: a spending budget is used up."""


class ServerError(SwitchboardError):
    """5xx: the gateway or the provider behind it failed."""


def error_from(status: int, body: Any, headers: Mapping[str, str]) -> SwitchboardError:
    """The typed error for an error answer, whichever dialect its body is in."""
    message, type_, code = f"HTTP {status}", None, None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):  # OpenAI's and Anthropic's shapes
            message = err.get("message") or message
            type_, code = err.get("type"), err.get("code")
        elif isinstance(err, str):  # the task API's shape
            message = body.get("message") or err
            type_ = body.get("error_type")
            code = "budget_exceeded" if type_ == "budget_exceeded" else None
    elif isinstance(body, str) and body:
        message = body
    kind: type[SwitchboardError]
    if status == 429:
        kind = BudgetExceededError if code == "budget_exceeded" else RateLimitError
    else:
        kind = {400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError}.get(
            status, ServerError if status >= 500 else SwitchboardError)
    return kind(status, message, type=type_, code=code, headers=headers, body=body)
