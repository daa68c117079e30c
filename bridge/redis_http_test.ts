import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { Ratelimit } from "@upstash/ratelimit";
import { replyText } from "./resp.ts";
import { startRedisHttp } from "./redis_http.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
/** Keys of this run only: other test runs share the machine's Redis. */
const ns = () => `bridge-test:${crypto.randomUUID()}`;

async function post(url: string, token: string, path: string, body: unknown) {
  const res = await fetch(new URL(path, url), {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

Deno.test(
  "the bridge serves @upstash/redis against real Redis: commands, pipelines, transactions",
  opts,
  async () => {
    const bridge = await startRedisHttp({ token: "t0ken" });
    const k = ns();
    try {
      const redis = new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false });
      assert.equal(await redis.set(`${k}:a`, "1", { px: 60_000 }), "OK");
      assert.equal(await redis.incr(`${k}:a`), 2);
      assert.equal(replyText(await bridge.redis("GET", `${k}:a`)), "2");

      const p = redis.pipeline();
      p.set(`${k}:b`, "x", { px: 60_000 });
      p.get(`${k}:b`);
      p.incr(`${k}:b`); // fails: not a number, the others still run
      const piped = await p.exec({ keepErrors: true });
      assert.equal(piped[1].result, "x");
      assert.ok(piped[2].error);

      const tx = redis.multi();
      tx.incr(`${k}:c`);
      tx.incr(`${k}:c`);
      tx.pexpire(`${k}:c`, 60_000);
      assert.deepEqual(await tx.exec(), [1, 2, 1]);

      // Ratelimit's scripts (their allow-key-locking flag) run on Redis 7.0 through the bridge.
      const rl = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(2, "60 s"), prefix: k });
      const spent = [];
      for (let i = 0; i < 3; i++) spent.push((await rl.limit("u")).success);
      assert.deepEqual(spent, [true, true, false]);
    } finally {
      await bridge.redis("DEL", `${k}:a`, `${k}:b`, `${k}:c`);
      await bridge.close();
    }
  },
);

Deno.test(
  "the bridge refuses a wrong token, bad bodies and connection-state commands",
  opts,
  async () => {
    const bridge = await startRedisHttp({ token: "right" });
    try {
      assert.equal((await post(bridge.url, "wrong", "/", ["PING"])).status, 401);
      assert.equal((await post(bridge.url, "right", "/", [])).status, 400);
      assert.equal((await post(bridge.url, "right", "/", { cmd: "PING" })).status, 400);
      const select = await post(bridge.url, "right", "/", ["SELECT", "3"]);
      assert.equal(select.status, 400);
      assert.match(select.body.error, /not supported/);
      assert.equal(
        (await post(bridge.url, "right", "/pipeline", [["PING"], ["BLPOP", "k", "0"]])).status,
        400,
      );
      assert.equal((await post(bridge.url, "right", "/", ["FLUSHALL"])).status, 400);
      // Administration is an operator's, not the token holder's.
      for (const admin of [["CONFIG", "SET", "maxmemory", "0"], ["FLUSHDB"], ["KEYS", "*"]]) {
        assert.equal((await post(bridge.url, "right", "/", admin)).status, 400, admin[0]);
      }
      const bad = await post(bridge.url, "right", "/", ["NOSUCHCOMMAND"]);
      assert.equal(bad.status, 400);
      assert.match(bad.body.error, /unknown command/i);
      // A failing transaction answers the error, and none of its commands ran.
      const k = ns();
      const tx = await post(bridge.url, "right", "/multi-exec", [["SET", k, "1"], ["NOSUCH"]]);
      assert.equal(tx.status, 400);
      assert.equal(await bridge.redis("EXISTS", k), 0);
    } finally {
      await bridge.close();
    }
  },
);

Deno.test("the bridge opens the database REDIS_URL names, and answers health", opts, async () => {
  const inDb9 = await startRedisHttp({ token: "t", redisUrl: "redis://127.0.0.1:6379/9" });
  const inDb0 = await startRedisHttp({ token: "t" });
  const k = ns();
  try {
    const health = await fetch(`${inDb9.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true, role: "redis-http" });
    await post(inDb9.url, "t", "/", ["SET", k, "nine", "PX", "60000"]);
    assert.equal((await post(inDb9.url, "t", "/", ["GET", k])).body.result, "nine");
    assert.equal((await post(inDb0.url, "t", "/", ["GET", k])).body.result, null);
    await post(inDb9.url, "t", "/", ["DEL", k]);
  } finally {
    await inDb9.close();
    await inDb0.close();
  }
});

Deno.test("a bridge whose Redis is down answers 503, not a hang", opts, async () => {
  const bridge = await startRedisHttp({
    token: "t",
    redisUrl: "redis://127.0.0.1:9",
    timeoutMs: 500,
  });
  try {
    assert.equal((await fetch(`${bridge.url}/healthz`)).status, 503);
    assert.equal((await post(bridge.url, "t", "/", ["PING"])).status, 503);
  } finally {
    await bridge.close();
  }
});
