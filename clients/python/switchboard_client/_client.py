"""Sync and async clients for the Switchboard gateway's own APIs (tasks, billing, models, lanes, keys)."""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, Iterator, List, Mapping, Optional

import httpx

from .errors import RateLimitError, ServerError, SwitchboardError, error_from

DEFAULT_BASE_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class RateLimit:
    """The tightest rate limit that applied to a request."""
    limit: int
    remaining: int
    reset: int


@dataclass
class Result:
    """An answer: its JSON, and what its headers say (cost, rate limit, ids)."""
    data: Any
    headers: Dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: Any) -> Any:
        return self.data[key]

    @property
    def cost_nano_usd(self) -> Optional[int]:
        value = self.headers.get("x-switchboard-cost-nano-usd")
        return int(value) if value and value.isdigit() else None

    @property
    def cost_usd(self) -> Optional[str]:
        value = self.headers.get("x-switchboard-cost-usd")
        return None if value in (None, "unknown") else value

    @property
    def rate_limit(self) -> Optional[RateLimit]:
        try:
            return RateLimit(int(self.headers["x-ratelimit-limit"]), int(self.headers["x-ratelimit-remaining"]),
                             int(self.headers["x-ratelimit-reset"]))
        except (KeyError, ValueError):
            return None

    @property
    def request_id(self) -> Optional[str]:
        return self.headers.get("x-request-id")

    @property
    def inference_id(self) -> Optional[str]:
        return self.headers.get("inference-id")


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    json: Any = None
    params: Optional[Mapping[str, Any]] = None


def _task(task: str, inputs: Any, model: Optional[str], parameters: Optional[Mapping[str, Any]], **fields: Any) -> _Call:
    body: Dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    if inputs is not None:
        body["inputs"] = inputs
    if model is not None:
        body["model"] = model
    if parameters:
        body["parameters"] = dict(parameters)
    return _Call("POST", f"/hf/tasks/{task}", body)


class _Methods:
    """Every method, as the call it makes; the sync and async clients differ only in how they send it."""

    def _send(self, call: _Call) -> Any:  # pragma: no cover - implemented by the clients
        raise NotImplementedError

    # Hugging Face style tasks
    def text_generation(self, inputs: str, *, model: Optional[str] = None, parameters: Optional[Mapping[str, Any]] = None) -> Any:
        return self._send(_task("text-generation", inputs, model, parameters))

    def conversational(self, text: str, *, past_user_inputs: Optional[List[str]] = None, generated_responses: Optional[List[str]] = None,
                       model: Optional[str] = None, parameters: Optional[Mapping[str, Any]] = None) -> Any:
        return self._send(_task("conversational", None, model, parameters, text=text, past_user_inputs=past_user_inputs,
                                generated_responses=generated_responses))

    def summarization(self, inputs: str, *, model: Optional[str] = None, parameters: Optional[Mapping[str, Any]] = None) -> Any:
        return self._send(_task("summarization", inputs, model, parameters))

    def translation(self, inputs: str, *, target_language: str, source_language: Optional[str] = None, model: Optional[str] = None,
                    parameters: Optional[Mapping[str, Any]] = None) -> Any:
        return self._send(_task("translation", inputs, model, parameters, target_language=target_language, source_language=source_language))

    def question_answering(self, question: str, context: str, *, model: Optional[str] = None,
                           parameters: Optional[Mapping[str, Any]] = None) -> Any:
        return self._send(_task("question-answering", None, model, parameters, question=question, context=context))

    def text_classification(self, inputs: str, *, model: Optional[str] = None, parameters: Optional[Mapping[str, Any]] = None) -> Any:
        return self._send(_task("text-classification", inputs, model, parameters))

    def token_classification(self, inputs: str, *, model: Optional[str] = None, parameters: Optional[Mapping[str, Any]] = None) -> Any:
        return self._send(_task("token-classification", inputs, model, parameters))

    def embedding(self, inputs: Any, *, model: Optional[str] = None, parameters: Optional[Mapping[str, Any]] = None) -> Any:
        return self._send(_task("embedding", inputs, model, parameters))

    def image_generation(self, inputs: str, *, model: Optional[str] = None, parameters: Optional[Mapping[str, Any]] = None) -> Any:
        return self._send(_task("image-generation", inputs, model, parameters))

    def run(self, task: str, inputs: Any, *, model: Optional[str] = None, parameters: Optional[Mapping[str, Any]] = None) -> Any:
        call = _task("run", inputs, model, parameters)
        return self._send(_Call("POST", call.path, dict(call.json, task=task)))

    # Models, mappings, billing, lanes
    def models(self, *, task_type: Optional[str] = None) -> Any:
        return self._send(_Call("GET", "/hf/tasks/models", params={"task_type": task_type} if task_type else None))

    def map_model(self, task_type: str, hub_model_id: str, provider_model_id: str, *, parameters: Optional[Mapping[str, Any]] = None) -> Any:
        body: Dict[str, Any] = {"task_type": task_type, "hub_model_id": hub_model_id, "provider_model_id": provider_model_id}
        if parameters:
            body["parameters"] = dict(parameters)
        return self._send(_Call("POST", "/hf/tasks/models/map", body))

    def calculate_cost(self, requests: List[Mapping[str, Any]]) -> Any:
        return self._send(_Call("POST", "/hf/tasks/billing/cost", {"requests": [dict(r) for r in requests]}))

    def usage_page(self, *, limit: int = 100, offset: int = 0) -> Any:
        return self._send(_Call("GET", "/hf/tasks/billing/usage", params={"limit": limit, "offset": offset}))

    def lanes(self) -> Any:
        return self._send(_Call("GET", "/v1/lanes"))

    # Keys (master key)
    def list_keys(self) -> Any:
        return self._send(_Call("GET", "/v1/keys"))

    def create_key(self, name: str, *, user: Optional[str] = None, models: Optional[List[str]] = None, rpm: Optional[int] = None,
                   tpm: Optional[int] = None, tpd: Optional[int] = None, budget_usd: Optional[str] = None,
                   budget_period: Optional[str] = None) -> Any:
        body = {k: v for k, v in dict(name=name, user=user, models=models, rpm=rpm, tpm=tpm, tpd=tpd, budget_usd=budget_usd,
                                      budget_period=budget_period).items() if v is not None}
        return self._send(_Call("POST", "/v1/keys", body))

    def revoke_key(self, key_id: str) -> Any:
        return self._send(_Call("DELETE", f"/v1/keys/{key_id}"))


def _headers(api_key: Optional[str]) -> Dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _parse(response: httpx.Response) -> Result:
    headers = {k.lower(): v for k, v in response.headers.items()}
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        raise error_from(response.status_code, body, headers)
    return Result(body, headers)


def _wait(error: SwitchboardError, attempt: int) -> Optional[float]:
    """How long to wait before retrying `error` (Retry-After when it says), or None when it is not retried."""
    if isinstance(error, RateLimitError) or (isinstance(error, ServerError) and error.status in (502, 503, 504)):
        after = error.retry_after if isinstance(error, RateLimitError) else None
        return after if after is not None else min(8.0, 0.5 * (2 ** attempt))
    return None


def _tokens(lines: Iterator[str]) -> Iterator[Dict[str, Any]]:
    for line in lines:
        if line.startswith("data:"):
            data = line[5:].strip()
            if data and data != "[DONE]":
                event = json.loads(data)
                if isinstance(event, dict) and "error" in event and "token" not in event:
                    raise error_from(500, event, {})
                yield event


class Switchboard(_Methods):
    """A synchronous client. `max_retries` retries rate limits and transient server errors, honouring Retry-After."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, api_key: Optional[str] = None, *, timeout: float = 60.0,
                 max_retries: int = 0, http_client: Optional[httpx.Client] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self._http = http_client or httpx.Client(timeout=timeout)
        self._auth = _headers(api_key)

    def _send(self, call: _Call) -> Result:
        attempt = 0
        while True:
            response = self._http.request(call.method, self.base_url + call.path, json=call.json, params=call.params, headers=self._auth)
            try:
                return _parse(response)
            except SwitchboardError as error:
                delay = _wait(error, attempt)
                if delay is None or attempt >= self.max_retries:
                    raise
                attempt += 1
                time.sleep(delay)

    def text_generation_stream(self, inputs: str, *, model: Optional[str] = None,
                               parameters: Optional[Mapping[str, Any]] = None) -> Iterator[Dict[str, Any]]:
        """The tokens as they come (`{"token": {...}}`), the last carrying `generated_text`."""
        call = _task("text-generation", inputs, model, parameters, stream=True)
        with self._http.stream("POST", self.base_url + call.path, json=call.json, headers=self._auth) as response:
            if response.status_code >= 400:
                response.read()
                _parse(response)
            yield from _tokens(response.iter_lines())

    def usage(self, *, page_size: int = 100) -> Iterator[Dict[str, Any]]:
        """Every ledger record the key may see, page by page."""
        offset = 0
        while True:
            page = self.usage_page(limit=page_size, offset=offset)
            yield from page["records"]
            if len(page["records"]) < page_size:
                return
            offset += page_size

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Switchboard":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncSwitchboard(_Methods):
    """The same methods, awaited."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, api_key: Optional[str] = None, *, timeout: float = 60.0,
                 max_retries: int = 0, http_client: Optional[httpx.AsyncClient] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self._auth = _headers(api_key)

    async def _send(self, call: _Call) -> Result:  # type: ignore[override]
        attempt = 0
        while True:
            response = await self._http.request(call.method, self.base_url + call.path, json=call.json, params=call.params,
                                                headers=self._auth)
            try:
                return _parse(response)
            except SwitchboardError as error:
                delay = _wait(error, attempt)
                if delay is None or attempt >= self.max_retries:
                    raise
                attempt += 1
                await asyncio.sleep(delay)

    async def text_generation_stream(self, inputs: str, *, model: Optional[str] = None,
                                     parameters: Optional[Mapping[str, Any]] = None) -> AsyncIterator[Dict[str, Any]]:
        call = _task("text-generation", inputs, model, parameters, stream=True)
        async with self._http.stream("POST", self.base_url + call.path, json=call.json, headers=self._auth) as response:
            if response.status_code >= 400:
                await response.aread()
                _parse(response)
            async for line in response.aiter_lines():
                for event in _tokens(iter([line])):
                    yield event

    async def usage(self, *, page_size: int = 100) -> AsyncIterator[Dict[str, Any]]:
        offset = 0
        while True:
            page = await self.usage_page(limit=page_size, offset=offset)
            for record in page["records"]:
                yield record
            if len(page["records"]) < page_size:
                return
            offset += page_size

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncSwitchboard":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
