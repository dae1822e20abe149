"""Two checks for the run whose fake upstream takes every model name (SCHEMATHESIS_HOOKS loads this file): server
errors, and schema-valid requests served.

That fake answers every chat with the same plain sentence, so a Hugging Face task that needs the model to answer in
JSON (classification, question answering, entities) rightly gets a 502 naming the model's unusable answer. Any other
5xx is the gateway's own failure."""
import schemathesis


@schemathesis.check
def no_server_error_but_an_unusable_model_answer(ctx, response, case):
    if response.status_code < 500:
        return None
    body = response.text or ""
    unusable_answer = (response.status_code == 502 and case.operation.path.startswith("/hf/tasks/")
                       and ("the model did not answer" in body or "the model's" in body or "the model gave" in body))
    if not unusable_answer:
        raise AssertionError(f"server error {response.status_code}: {body[:500]}")
    return None


# Refusals of schema-valid requests that depend on state or on a rule between fields, which a schema cannot say.
STATE_REFUSALS = [
    ("/dashboard", "the range may span at most 366 days"),  # from and to, each a valid date
    ("/dashboard", "must not come after"),
    ("/hf/tasks/", "must alternate"),  # past_user_inputs and generated_responses, each a valid array
    ("/hf/tasks/models/map", "no configured provider serves"),  # a model name this gateway does not serve
]


@schemathesis.check
def schema_valid_requests_are_accepted(ctx, response, case):
    """Every request schemathesis generated as valid gets a 2xx, or a refusal a schema cannot rule out: credentials
    (401, 403), a name that does not exist (404), a limit (429), or one of STATE_REFUSALS."""
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive:
        return None
    # Not the Responses API: what its items and tools may hold depends on whether the model's provider serves the
    # API itself, and its document does not yet spell out each item's content.
    if case.operation.path.startswith("/v1/responses"):
        return None
    status = response.status_code
    if status < 300 or status in (401, 403, 404, 429) or status >= 500:  # 5xx: the server-error check's
        return None
    body = response.text or ""
    if any(case.operation.path.startswith(path) and said in body for path, said in STATE_REFUSALS):
        return None
    raise AssertionError(f"a schema-valid request was refused with {status}: {body[:500]}")
