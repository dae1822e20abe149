// The TypeScript client against a live gateway over the fake upstream (started by the Python suite, which passes
// SWITCHBOARD_URL and SWITCHBOARD_KEY). Node's own test runner; no other package.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Switchboard, AuthenticationError, BadRequestError, BudgetExceededError, NotFoundError, PermissionDeniedError, RateLimitError,
  ServerError,
} from "../dist/index.js";

const baseURL = process.env.SWITCHBOARD_URL;
const apiKey = process.env.SWITCHBOARD_KEY;
const sb = new Switchboard({ baseURL, apiKey });
const SENTENCE = "My name is Sarah Jessica Parker and I live in London.";
const model = "fake/fake-model";

test("every task", async () => {
  const r = await sb.textGeneration("Once upon a time", { model, parameters: { max_new_tokens: 20 } });
  assert.equal(r.data.output[0].generated_text, "Hello from the fake upstream");
  assert.ok(r.inferenceId && r.requestId);
  assert.equal(r.costUSD, null); // the fake model is unpriced
  assert.ok((await sb.summarization("A long article.", { model })).data.output.summary_text);
  assert.ok((await sb.translation("Bonjour", { model, targetLanguage: "English" })).data.output.translation_text);
  const c = await sb.conversational("And now?", { model, pastUserInputs: ["Hi"], generatedResponses: ["Hello"] });
  assert.deepEqual(c.data.conversation.past_user_inputs, ["Hi", "And now?"]);
  const qa = (await sb.questionAnswering("Where do I live?", SENTENCE, { model: "fake/qa-model" })).data.output;
  assert.equal(SENTENCE.slice(qa.start, qa.end), "London");
  const labels = (await sb.textClassification("I love this!", { model: "fake/classify-model" })).data.output;
  assert.deepEqual(labels.map((l) => l.label), ["POSITIVE", "NEGATIVE"]);
  const entities = (await sb.tokenClassification(SENTENCE, { model: "fake/ner-model" })).data.output;
  assert.deepEqual(entities.map((e) => e.entity_group), ["PER", "LOC"]);
  assert.equal((await sb.run("summarization", "text", { model })).data.task, "summarization");
  await assert.rejects(sb.embedding("hello", { model }), BadRequestError);
  await assert.rejects(sb.imageGeneration("a cat", { model }), (e) => e instanceof BadRequestError && e.message.includes("image-generation"));
});

test("streaming text generation", async () => {
  const events = [];
  for await (const e of sb.textGenerationStream("Say hi", { model })) events.push(e);
  assert.equal(events.slice(0, -1).map((e) => e.token.text).join(""), "Hello from the fake upstream");
  assert.equal(events.at(-1).generated_text, "Hello from the fake upstream");
});

test("models, mappings, cost, usage pages and lanes", async () => {
  assert.equal((await sb.mapModel("summarization", "acme/js-summarizer", model)).data.success, true);
  const listed = (await sb.models("summarization")).data.models;
  assert.ok(listed.some((m) => m.hub_model_id === "acme/js-summarizer" && m.model_id === model));
  const cost = await sb.calculateCost([{ model, input_tokens: 100, output_tokens: 50 }]);
  assert.equal(cost.data.costs[0].priced, false);
  for (let i = 0; i < 3; i++) await sb.summarization("text", { model });
  const records = [];
  for await (const r of sb.usage(2)) records.push(r);
  assert.ok(records.length >= 3);
  assert.equal(new Set(records.map((r) => r.request_id)).size, records.length);
  assert.equal((await sb.lanes()).data.object, "list");
});

test("keys and typed errors", async () => {
  const created = await sb.createKey("js-test", { user: "ann", models: [model], rpm: 1, budgetUSD: "5" });
  const { secret, id } = created.data;
  assert.equal(created.data.limits.rpm, 1);
  assert.ok((await sb.listKeys()).data.data.some((k) => k.id === id && !("secret" in k)));
  const limited = new Switchboard({ baseURL, apiKey: secret });
  const first = await limited.summarization("x", { model });
  assert.deepEqual([first.rateLimit.limit, first.rateLimit.remaining], [1, 0]);
  await assert.rejects(limited.summarization("x", { model }), (e) => e instanceof RateLimitError && e.status === 429 && e.retryAfter > 0);
  await assert.rejects(limited.listKeys(), PermissionDeniedError);
  assert.equal((await sb.revokeKey(id)).data.revoked, true);
  await assert.rejects(sb.revokeKey("no-such-key"), NotFoundError);
  await assert.rejects(new Switchboard({ baseURL, apiKey: "sk-sb-wrong" }).summarization("x", { model }), AuthenticationError);
  const poor = new Switchboard({ baseURL, apiKey: (await sb.createKey("js-poor", { budgetUSD: "1", budgetPeriod: "day" })).data.secret });
  await assert.rejects(async () => {
    for (let i = 0; i < 20; i++) {
      const spent = await poor.summarization("x", { model: "fake/json-model", parameters: { max_new_tokens: 1 } });
      assert.ok(spent.costNanoUSD > 0);
    }
  }, BudgetExceededError);
  await assert.rejects(sb.summarization("x", { model: "fake/drop-model" }), (e) => e instanceof ServerError && e.status === 502);
  await assert.rejects(sb.summarization("x", { model: "fake/missing-model" }), NotFoundError);
});

test("retries honour Retry-After", async () => {
  const answers = [
    new Response(JSON.stringify({ error: { message: "slow down", type: "rate_limit_error", code: "rate_limit_exceeded" } }),
      { status: 429, headers: { "retry-after": "0", "content-type": "application/json" } }),
    new Response(JSON.stringify({ output: { summary_text: "ok" } }), { status: 200, headers: { "x-switchboard-cost-usd": "0.01" } }),
  ];
  let calls = 0;
  const fakeFetch = async () => answers[calls++];
  const r = await new Switchboard({ baseURL: "http://gateway.test", apiKey: "sk", maxRetries: 1, fetch: fakeFetch }).summarization("x");
  assert.equal(r.data.output.summary_text, "ok");
  assert.equal(r.costUSD, "0.01");
  assert.equal(calls, 2);
});
