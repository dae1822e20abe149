import { errorFrom, RateLimitError, ServerError, SwitchboardError } from "./errors.js";

export * from "./errors.js";

/** The tightest rate limit that applied to a request. */
export interface RateLimit { limit: number; remaining: number; reset: number }

/** An answer: its JSON, and what its headers say (cost, rate limit, ids). */
export class Result<T = any> {
  constructor(readonly data: T, readonly headers: Record<string, string>) {}
  get costNanoUSD(): number | null {
    const v = this.headers["x-switchboard-cost-nano-usd"];
    return v && /^[0-9]+$/.test(v) ? Number(v) : null;
  }
  get costUSD(): string | null {
    const v = this.headers["x-switchboard-cost-usd"];
    return v === undefined || v === "unknown" ? null : v;
  }
  get rateLimit(): RateLimit | null {
    const [l, r, s] = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"].map((h) => this.headers[h]);
    return l === undefined || r === undefined || s === undefined ? null : { limit: Number(l), remaining: Number(r), reset: Number(s) };
  }
  get requestId(): string | null { return this.headers["x-request-id"] ?? null; }
  get inferenceId(): string | null { return this.headers["inference-id"] ?? null; }
}

export interface ClientOptions {
  baseURL?: string;
  apiKey?: string;
  /** Retries of rate limits and transient server errors, honouring Retry-After. */
  maxRetries?: number;
  fetch?: typeof fetch;
}

export interface TaskOptions { model?: string; parameters?: Record<string, unknown> }
export interface KeyOptions {
  user?: string; models?: string[]; rpm?: number; tpm?: number; tpd?: number; budgetUSD?: string; budgetPeriod?: "day" | "month";
}
export interface CostRequest {
  model: string; task?: string; input_tokens: number; output_tokens: number;
  cached_tokens?: number; reasoning_tokens?: number; cache_write_tokens?: number;
}

type Body = Record<string, unknown>;

/** A client for the gateway's own APIs: Hugging Face style tasks, billing, model mappings, lanes and keys. */
export class Switchboard {
  readonly baseURL: string;
  readonly maxRetries: number;
  private readonly apiKey?: string;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions = {}) {
    this.baseURL = (options.baseURL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
    this.apiKey = options.apiKey;
    this.maxRetries = options.maxRetries ?? 0;
    this.fetchImpl = options.fetch ?? fetch;
  }

  private headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.apiKey) h["authorization"] = `Bearer ${this.apiKey}`;
    if (json) h["content-type"] = "application/json";
    return h;
  }

  private url(path: string, query?: Record<string, string | number | undefined>): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
    const q = params.toString();
    return this.baseURL + path + (q ? `?${q}` : "");
  }

  private static async fail(response: Response): Promise<never> {
    const headers = Object.fromEntries(response.headers.entries());
    const text = await response.text();
    let body: unknown = text;
    try { body = JSON.parse(text); } catch { /* a body that is not JSON is its text */ }
    throw errorFrom(response.status, body, headers);
  }

  private async send<T = any>(method: string, path: string, body?: Body, query?: Record<string, string | number | undefined>): Promise<Result<T>> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.fetchImpl(this.url(path, query), {
        method, headers: this.headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (response.ok) return new Result<T>(await response.json() as T, Object.fromEntries(response.headers.entries()));
      try {
        await Switchboard.fail(response);
      } catch (error) {
        const wait = Switchboard.retryDelay(error, attempt);
        if (wait === null || attempt >= this.maxRetries) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      }
    }
  }

  private static retryDelay(error: unknown, attempt: number): number | null {
    if (error instanceof RateLimitError) return error.retryAfter ?? Math.min(8, 0.5 * 2 ** attempt);
    if (error instanceof ServerError && [502, 503, 504].includes(error.status)) return Math.min(8, 0.5 * 2 ** attempt);
    return null;
  }

  private task(task: string, inputs: unknown, options: TaskOptions, fields: Body = {}): Promise<Result> {
    const body: Body = { ...fields };
    if (inputs !== undefined) body.inputs = inputs;
    if (options.model !== undefined) body.model = options.model;
    if (options.parameters) body.parameters = options.parameters;
    return this.send("POST", `/hf/tasks/${task}`, body);
  }

  textGeneration(inputs: string, options: TaskOptions = {}) { return this.task("text-generation", inputs, options); }
  conversational(text: string, options: TaskOptions & { pastUserInputs?: string[]; generatedResponses?: string[] } = {}) {
    return this.task("conversational", undefined, options, {
      text, past_user_inputs: options.pastUserInputs, generated_responses: options.generatedResponses,
    });
  }
  summarization(inputs: string, options: TaskOptions = {}) { return this.task("summarization", inputs, options); }
  translation(inputs: string, options: TaskOptions & { targetLanguage: string; sourceLanguage?: string }) {
    return this.task("translation", inputs, options, { target_language: options.targetLanguage, source_language: options.sourceLanguage });
  }
  questionAnswering(question: string, context: string, options: TaskOptions = {}) {
    return this.task("question-answering", undefined, options, { question, context });
  }
  textClassification(inputs: string, options: TaskOptions = {}) { return this.task("text-classification", inputs, options); }
  tokenClassification(inputs: string, options: TaskOptions = {}) { return this.task("token-classification", inputs, options); }
  embedding(inputs: string | string[], options: TaskOptions = {}) { return this.task("embedding", inputs, options); }
  imageGeneration(inputs: string, options: TaskOptions = {}) { return this.task("image-generation", inputs, options); }
  run(task: string, inputs: unknown, options: TaskOptions = {}) { return this.task("run", inputs, options, { task }); }

  /** The tokens as they come (`{token: {...}}`), the last carrying `generated_text`. */
  async *textGenerationStream(inputs: string, options: TaskOptions = {}): AsyncGenerator<any> {
    const body: Body = { inputs, stream: true };
    if (options.model !== undefined) body.model = options.model;
    if (options.parameters) body.parameters = options.parameters;
    const response = await this.fetchImpl(this.url("/hf/tasks/text-generation"), {
      method: "POST", headers: this.headers(true), body: JSON.stringify(body),
    });
    if (!response.ok || !response.body) await Switchboard.fail(response);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, end).trim();
        buffered = buffered.slice(end + 1);
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (!data || data === "[DONE]") continue;
        const event = JSON.parse(data);
        if (event && typeof event === "object" && "error" in event && !("token" in event)) throw errorFrom(500, event, {});
        yield event;
      }
    }
  }

  models(taskType?: string) { return this.send("GET", "/hf/tasks/models", undefined, { task_type: taskType }); }
  mapModel(taskType: string, hubModelId: string, providerModelId: string, parameters?: Record<string, unknown>) {
    const body: Body = { task_type: taskType, hub_model_id: hubModelId, provider_model_id: providerModelId };
    if (parameters) body.parameters = parameters;
    return this.send("POST", "/hf/tasks/models/map", body);
  }
  calculateCost(requests: CostRequest[]) { return this.send("POST", "/hf/tasks/billing/cost", { requests }); }
  usagePage(limit = 100, offset = 0) { return this.send("GET", "/hf/tasks/billing/usage", undefined, { limit, offset }); }
  /** Every ledger record the key may see, page by page. */
  async *usage(pageSize = 100): AsyncGenerator<any> {
    for (let offset = 0; ; offset += pageSize) {
      const page = await this.usagePage(pageSize, offset);
      yield* page.data.records;
      if (page.data.records.length < pageSize) return;
    }
  }
  lanes() { return this.send("GET", "/v1/lanes"); }

  listKeys() { return this.send("GET", "/v1/keys"); }
  createKey(name: string, options: KeyOptions = {}) {
    const body: Body = { name, user: options.user, models: options.models, rpm: options.rpm, tpm: options.tpm, tpd: options.tpd,
      budget_usd: options.budgetUSD, budget_period: options.budgetPeriod };
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    return this.send("POST", "/v1/keys", body);
  }
  revokeKey(id: string) { return this.send("DELETE", `/v1/keys/${encodeURIComponent(id)}`); }
}

export { SwitchboardError };
