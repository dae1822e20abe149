"""A client for the Switchboard gateway: Hugging Face style tasks, billing, model mappings, lanes and keys."""
from ._client import AsyncSwitchboard, RateLimit, Result, Switchboard
from .errors import (AuthenticationError, BadRequestError, BudgetExceededError, NotFoundError, PermissionDeniedError,
                     RateLimitError, ServerError, SwitchboardError)

__all__ = ["Switchboard", "AsyncSwitchboard", "Result", "RateLimit", "SwitchboardError", "BadRequestError", "AuthenticationError",
           "PermissionDeniedError", "NotFoundError", "RateLimitError", "BudgetExceededError", "ServerError"]
