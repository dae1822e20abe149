/** An error answer: its HTTP status, message, type and code, and the response headers. */
export class SwitchboardError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
    readonly body: unknown = null,
  ) {
    super(`${status} ${message}`);
    this.name = new.target.name;
  }
}

/** 400: a field the gateway refuses, named in the message. */
export class BadRequestError extends SwitchboardError {}
/** 401: no key, or a key the gateway does not know. */
export class AuthenticationError extends SwitchboardError {}
/** 403: a model the key may not use, or a route that needs the master key. */
export class PermissionDeniedError extends SwitchboardError {}
/** 404: an unknown model, response or key. */
export class NotFoundError extends SwitchboardError {}
/** 429: a rate limit; `retryAfter` seconds until it allows another request. */
export class RateLimitError extends SwitchboardError {
  get retryAfter(): number | null {
    const value = this.headers["retry-after"];
    return value === undefined || Number.isNaN(Number(value)) ? null : Number(value);
  }
}
/** 429 with code budget_exceeded: a spending budget is used up. */
export class BudgetExceededError extends RateLimitError {}
/** 5xx: the gateway or the provider behind it failed. */
export class ServerError extends SwitchboardError {}

/** The typed error for an error answer, whichever dialect its body is in (OpenAI's, Anthropic's, the task API's). */
export function errorFrom(status: number, body: unknown, headers: Record<string, string>): SwitchboardError {
  let message = `HTTP ${status}`;
  let type: string | null = null;
  let code: string | null = null;
  if (body && typeof body === "object") {
    const o = body as Record<string, unknown>;
    if (o.error && typeof o.error === "object") {
      const e = o.error as Record<string, unknown>;
      message = typeof e.message === "string" ? e.message : message;
      type = typeof e.type === "string" ? e.type : null;
      code = typeof e.code === "string" ? e.code : null;
    } else if (typeof o.error === "string") {
      message = typeof o.message === "string" ? o.message : o.error;
      type = typeof o.error_type === "string" ? o.error_type : null;
      if (type === "budget_exceeded") code = "budget_exceeded";
    }
  } else if (typeof body === "string" && body) {
    message = body;
  }
  const kinds: Record<number, typeof SwitchboardError> = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError,
  };
  const Kind = status === 429
    ? (code === "budget_exceeded" ? BudgetExceededError : RateLimitError)
    : kinds[status] ?? (status >= 500 ? ServerError : SwitchboardError);
  return new Kind(status, message, type, code, headers, body);
}
