import assert from "node:assert/strict";
import type { ConnectorDef } from "./connector.ts";
import { SourceClient } from "./http.ts";
import { failure, FAKE_CONNECTION, FAKE_CONNECTOR, memoryValidators } from "./_testing.ts";

const connector = FAKE_CONNECTOR;
const connection = FAKE_CONNECTION;

/** A fetch answering from a script, recording each call. */
function scripted(answers: (() => Response)[]) {
  const calls: string[] = [];
  const fetch = ((input: URL | RequestInfo) => {
    calls.push(String(input));
    const next = answers.shift();
    if (!next) throw new Error("no more answers");
    return Promise.resolve(next());
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}
const ok = () => Response.json({ ok: true });
const status = (code: number, headers: Record<string, string> = {}) => () =>
  Response.json({ message: `HTTP ${code}` }, { status: code, headers });

Deno.test("request() retries a 5xx and returns the later success", async () => {
  const { fetch, calls } = scripted([status(503), ok]);
  const client = new SourceClient(connector, connection, { fetch, baseDelayMs: 1 });
  const res = await client.get("/things");
  assert.deepEqual(res.body, { ok: true });
  assert.equal(calls.length, 2);
  assert.equal(client.stats.retries, 1);
});

Deno.test("request() retries a network error", async () => {
  let first = true;
  const fetch = (() => {
    if (first) {
      first = false;
      return Promise.reject(new TypeError("connection reset by peer"));
    }
    return Promise.resolve(ok());
  }) as typeof globalThis.fetch;
  const client = new SourceClient(connector, connection, { fetch, baseDelayMs: 1 });
  assert.deepEqual((await client.get("/things")).body, { ok: true });
});

Deno.test("request() waits out a 429's Retry-After and retries when it fits the deadline", async () => {
  const { fetch, calls } = scripted([status(429, { "retry-after": "0" }), ok]);
  const client = new SourceClient(connector, connection, {
    fetch,
    deadline: Date.now() + 10_000,
  });
  assert.deepEqual((await client.get("/things")).body, { ok: true });
  assert.equal(calls.length, 2);
});

Deno.test("request() does not wait for a rate-limit reset past the deadline", async () => {
  const { fetch, calls } = scripted([status(429, { "retry-after": "30" }), ok]);
  const client = new SourceClient(connector, connection, {
    fetch,
    deadline: Date.now() + 1_000,
  });
  const err = await failure(client.get("/things"));
  assert.equal(err.code, "RATE_LIMIT_EXHAUSTED");
  assert.equal(err.retryAfterMs, 30_000);
  assert.equal(calls.length, 1);
});

Deno.test("request() does not retry a 5xx when the backoff would pass the deadline", async () => {
  const { fetch, calls } = scripted([status(502), ok]);
  const client = new SourceClient(connector, connection, {
    fetch,
    baseDelayMs: 4_000,
    deadline: Date.now() + 500,
  });
  const err = await failure(client.get("/things"));
  assert.equal(err.code, "SOURCE_ERROR");
  assert.equal(err.details?.status, 502);
  assert.equal(calls.length, 1);
});

Deno.test("request() never retries a 4xx that will not change", async () => {
  for (const code of [400, 401, 403, 404]) {
    const { fetch, calls } = scripted([status(code), ok]);
    const client = new SourceClient(connector, connection, { fetch, baseDelayMs: 1 });
    const err = await failure(client.get("/things"));
    assert.equal(err.code, "SOURCE_ERROR");
    assert.equal(calls.length, 1, `HTTP ${code} was retried`);
  }
});

Deno.test("request() gives up after maxRetries", async () => {
  const { fetch, calls } = scripted([status(500), status(500), status(500), ok]);
  const client = new SourceClient(connector, connection, { fetch, baseDelayMs: 1, maxRetries: 2 });
  const err = await failure(client.get("/things"));
  assert.equal(err.code, "SOURCE_ERROR");
  assert.equal(calls.length, 3);
});

Deno.test("request() answers SOURCE_TIMEOUT when the query's signal aborts a wait", async () => {
  const controller = new AbortController();
  const { fetch } = scripted([status(503, { "retry-after": "3" }), ok]);
  const client = new SourceClient(connector, connection, { fetch, signal: controller.signal });
  const pending = failure(client.get("/things"));
  setTimeout(() => controller.abort(), 10);
  assert.equal((await pending).code, "SOURCE_TIMEOUT");
});

Deno.test("request() maps a truncated JSON body to SOURCE_ERROR", async () => {
  const { fetch } = scripted([() => new Response('{"items": [1, 2', { status: 200 })]);
  const client = new SourceClient(connector, connection, { fetch });
  const err = await failure(client.get("/things"));
  assert.equal(err.code, "SOURCE_ERROR");
  assert.match(err.message, /malformed/);
});

Deno.test("request() rebuilds a 304 without Link into the stored 200, links and body included", async () => {
  const link = '<http://app.invalid/things?page=2>; rel="next"';
  const sent: Headers[] = [];
  const answers = [
    () =>
      Response.json([1, 2], {
        headers: { etag: 'W/"a"', link, "x-remaining": "9" },
      }),
    () => new Response(null, { status: 304, headers: { etag: 'W/"a"', "x-remaining": "8" } }),
  ];
  const fetch = ((_input: URL | RequestInfo, init?: RequestInit) => {
    sent.push(new Headers(init?.headers));
    return Promise.resolve(answers.shift()!());
  }) as typeof globalThis.fetch;
  const { store } = memoryValidators();
  const remaining: ConnectorDef = {
    ...connector,
    readRateLimit: (h) => h.has("x-remaining") ? { remaining: Number(h.get("x-remaining")) } : {},
  };
  const client = new SourceClient(remaining, connection, { fetch, conditional: store });
  await client.get("/things");
  const again = await client.get("/things");
  assert.equal(sent[1].get("if-none-match"), 'W/"a"');
  assert.equal(again.status, 200);
  assert.equal(again.revalidated, true);
  assert.deepEqual(again.body, [1, 2]);
  assert.equal(again.headers.get("link"), link);
  assert.deepEqual(client.lastRateLimit, { remaining: 8 }, "the 304's budget is the newer one");
  assert.deepEqual(client.stats, { calls: 1, retries: 0, revalidated: 1 });
});

Deno.test("request() asks again in full when a 304's stored page is gone or of another validator", async () => {
  const sent: Headers[] = [];
  const answers = [
    () => new Response(null, { status: 304, headers: { etag: 'W/"a"' } }),
    () => Response.json([3], { headers: { etag: 'W/"b"' } }),
  ];
  const fetch = ((_input: URL | RequestInfo, init?: RequestInit) => {
    sent.push(new Headers(init?.headers));
    return Promise.resolve(answers.shift()!());
  }) as typeof globalThis.fetch;
  // The validator says "a", while the page stored beside it is version "z"'s.
  const stale = { etag: 'W/"z"', body: [1, 2], headers: {} };
  const stored = new Map<string, unknown>();
  const conditional = {
    lookup: () => ({ etag: 'W/"a"' }),
    entry: () => stale,
    store: (url: string, entry: unknown) => void stored.set(url, entry),
  };
  const client = new SourceClient(connector, connection, { fetch, conditional });
  const res = await client.get("/things");
  assert.equal(sent[0].get("if-none-match"), 'W/"a"');
  assert.equal(sent[1].get("if-none-match"), null, "the second request is unconditional");
  assert.equal(res.status, 200);
  assert.equal(res.revalidated, undefined);
  assert.deepEqual(res.body, [3]);
  assert.deepEqual(stored.get("http://app.invalid/things"), {
    etag: 'W/"b"',
    body: [3],
    headers: { "content-type": "application/json", etag: 'W/"b"' },
  });
  assert.deepEqual(client.stats, { calls: 1, retries: 0, revalidated: 0 });
});

Deno.test("request() returns a 200 whole but stores what `keep` keeps, which a 304 rebuilds", async () => {
  const full = [{ id: 1, title: "a", repo: { big: "x".repeat(100) } }];
  const { fetch } = scripted([
    () => Response.json(full, { headers: { etag: 'W/"a"' } }),
    () => new Response(null, { status: 304, headers: { etag: 'W/"a"' } }),
  ]);
  const { entries, store } = memoryValidators();
  const client = new SourceClient(connector, connection, { fetch, conditional: store });
  const keep = (body: unknown) =>
    (body as { id: number; title: string }[]).map(({ id, title }) => ({ id, title }));
  const first = await client.request("GET", "/pulls", { keep });
  assert.deepEqual(first.body, full);
  assert.deepEqual(entries.get("http://app.invalid/pulls")!.body, [{ id: 1, title: "a" }]);
  const again = await client.request("GET", "/pulls", { keep });
  assert.equal(again.revalidated, true);
  assert.deepEqual(again.body, [{ id: 1, title: "a" }]);
});

Deno.test("request() revalidates a Last-Modified-only answer with If-Modified-Since", async () => {
  const sent: Headers[] = [];
  const lastModified = "Wed, 02 Dec 2026 10:00:00 GMT";
  const answers = [
    () => Response.json({ v: 1 }, { headers: { "last-modified": lastModified } }),
    () => new Response(null, { status: 304 }),
  ];
  const fetch = ((_input: URL | RequestInfo, init?: RequestInit) => {
    sent.push(new Headers(init?.headers));
    return Promise.resolve(answers.shift()!());
  }) as typeof globalThis.fetch;
  const { store } = memoryValidators();
  const client = new SourceClient(connector, connection, { fetch, conditional: store });
  await client.get("/thing");
  const again = await client.get("/thing");
  assert.equal(sent[0].get("if-modified-since"), null);
  assert.equal(sent[1].get("if-modified-since"), lastModified);
  assert.equal(sent[1].get("if-none-match"), null);
  assert.deepEqual(again.body, { v: 1 });
});

Deno.test("request() stores no validator for an answer without one, and no cookies with one", async () => {
  const { fetch } = scripted([
    ok,
    () => Response.json({}, { headers: { etag: '"x"', "set-cookie": "s=1" } }),
  ]);
  const { entries, store } = memoryValidators();
  const client = new SourceClient(connector, connection, { fetch, conditional: store });
  await client.get("/a");
  await client.get("/b");
  assert.deepEqual([...entries.keys()], ["http://app.invalid/b"]);
  assert.equal(entries.get("http://app.invalid/b")!.headers["set-cookie"], undefined);
});

Deno.test("request() keeps the main budget as the source's when an answer reads a side budget", async () => {
  const answers = [
    () => Response.json([], { headers: { "x-left": "90", "x-res": "core" } }),
    () => Response.json([], { headers: { "x-left": "2", "x-res": "search" } }),
  ];
  const fetch = (() => Promise.resolve(answers.shift()!())) as typeof globalThis.fetch;
  const sided: ConnectorDef = {
    ...connector,
    readRateLimit: (h) => ({
      remaining: Number(h.get("x-left")),
      ...(h.get("x-res") === "search" ? { side: true } : {}),
    }),
  };
  const client = new SourceClient(sided, connection, { fetch });
  await client.get("/a");
  await client.get("/search");
  assert.deepEqual(client.lastRateLimit, { remaining: 90 });
});

Deno.test("send() retries a 5xx, authenticates, and returns the answer undecoded", async () => {
  const seen: Headers[] = [];
  const answers = [status(502), () => new Response("event: message\ndata: {}\n\n")];
  const fetch = ((_input: URL | RequestInfo, init?: RequestInit) => {
    seen.push(new Headers(init?.headers));
    return Promise.resolve(answers.shift()!());
  }) as typeof globalThis.fetch;
  const client = new SourceClient(connector, connection, { fetch, baseDelayMs: 1 });
  const res = await client.send("http://app.invalid/mcp", { method: "POST", body: "{}" });
  assert.equal(await res.text(), "event: message\ndata: {}\n\n");
  assert.equal(client.stats.calls, 2);
  assert.equal(client.stats.retries, 1);
  assert.equal(seen[1].get("authorization"), "Bearer t");
  // A request with its own credentials (an OAuth token) keeps them.
  answers.push(() => ok());
  await client.send("http://app.invalid/mcp", { headers: { authorization: "Bearer other" } });
  assert.equal(seen[2].get("authorization"), "Bearer other");
});

Deno.test("send() hands back the statuses the caller reads and maps the others", async () => {
  const { fetch } = scripted([status(404), status(404), status(429, { "retry-after": "7" })]);
  const client = new SourceClient(connector, connection, { fetch, maxRetries: 0 });
  const res = await client.send("http://app.invalid/mcp", {}, { passThrough: [404] });
  assert.equal(res.status, 404);
  await res.body?.cancel();
  const notFound = await failure(client.send("http://app.invalid/mcp"));
  assert.equal(notFound.code, "SOURCE_ERROR");
  assert.equal(notFound.details?.status, 404);
  const limited = await failure(client.send("http://app.invalid/mcp"));
  assert.equal(limited.code, "RATE_LIMIT_EXHAUSTED");
  assert.equal(limited.retryAfterMs, 7000);
});
