import assert from "node:assert/strict";
import { type RedisHttp, startRedisHttp } from "../../bridge/redis_http.ts";
import { upstashClient } from "../cache/upstash_store.ts";
import { OmniError } from "../errors.ts";
import { DEFAULT_BUDGETS, type EdgeBudgets, spendEdgeBudgets } from "./budgets.ts";
import type { Redis } from "@upstash/redis";
import { MemoryRateLimiter } from "./limiter.ts";
import { UpstashRateLimiter } from "./upstash_limiter.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function refusal(p: Promise<unknown>): Promise<OmniError> {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof OmniError, `expected a refusal, got ${err}`);
  return err;
}

/** A test against real Redis through the Upstash bridge. */
function onRedis(name: string, fn: (bridge: RedisHttp) => Promise<void>): void {
  Deno.test(name, opts, async () => {
    const bridge = await startRedisHttp({ token: "bridge-token" });
    try {
      await fn(bridge);
    } finally {
      await bridge.close();
    }
  });
}

for (const kind of ["fixed", "rolling"] as const) {
  onRedis(
    `each edge budget level refuses on real Redis, naming its level, with its wait (${kind})`,
    async (bridge) => {
      const limiter = new UpstashRateLimiter({
        redis: upstashClient(bridge), // url + token
        prefix: `omnisql-test-${crypto.randomUUID()}`,
        window: kind,
      });
      const window = { windowMs: 60_000 };
      const budgets: EdgeBudgets = {
        user: { tokens: 2, ...window },
        tenant: { tokens: 3, ...window },
        global: { tokens: 4, ...window },
      };
      const spend = (tenant: string, user: string) =>
        spendEdgeBudgets(limiter, tenant, user, budgets);

      assert.equal((await spend("a", "u1")).remaining, 1);
      await spend("a", "u1");
      const user = await refusal(spend("a", "u1"));
      assert.equal(user.code, "RATE_LIMIT_EXHAUSTED");
      assert.equal(user.details?.level, "user");
      assert.ok(user.retryAfterMs! > 0 && user.retryAfterMs! <= 60_000);

      await spend("a", "u2"); // the tenant's third
      const tenant = await refusal(spend("a", "u3"));
      assert.equal(tenant.details?.level, "tenant");

      await spend("b", "u1"); // the deployment's fourth
      const global = await refusal(spend("c", "u1"));
      assert.equal(global.details?.level, "global");
      assert.ok(global.retryAfterMs! <= 60_000);
    },
  );
}

Deno.test("the Upstash limiter fails open when Redis cannot be reached", opts, async () => {
  const limiter = new UpstashRateLimiter({
    redis: upstashClient({ url: "http://127.0.0.1:9", token: "t" }),
    prefix: "omnisql-test-down",
  });
  const r = await limiter.limit("user:a:u", { tokens: 1, windowMs: 60_000 });
  assert.equal(r.success, true);
});

Deno.test("the edge's budgets pass when the store's answer is not the script's (fail open, no 500)", async () => {
  const redis = { eval: () => Promise.resolve([1, 4]) } as unknown as Redis;
  const limiter = new UpstashRateLimiter({ redis, window: "rolling" });
  const reading = await spendEdgeBudgets(limiter, "a", "u1");
  assert.equal(reading.remaining, DEFAULT_BUDGETS.user.tokens);
});

onRedis(
  "a rolling request budget holds over any window, across a fixed window's edge",
  async (bridge) => {
    const windowMs = 10_000;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
    const toEdge = () => windowMs - (Date.now() % windowMs);
    const make = (window: "fixed" | "rolling") =>
      new UpstashRateLimiter({
        redis: upstashClient(bridge),
        prefix: `omnisql-test-${crypto.randomUUID()}`,
        window,
      });
    const rolling = make("rolling");
    const fixed = make("fixed");
    const budget = { tokens: 2, windowMs };
    const spend = async (l: UpstashRateLimiter) => (await l.limit("user:a:u", budget)).success;
    // Spend the budget 2 s before a fixed window's edge…
    if (toEdge() < 2_000) await sleep(toEdge() + 20);
    await sleep(toEdge() - 2_000);
    for (const l of [rolling, fixed]) {
      assert.deepEqual([await spend(l), await spend(l), await spend(l)], [true, true, false]);
    }
    const refused = await rolling.limit("user:a:u", budget);
    assert.ok(refused.reset - Date.now() > 7_000, "the wait is until the oldest leaves");
    // …then, just past the edge, the fixed window starts afresh; the rolling one still holds.
    await sleep(toEdge() + 20);
    assert.equal(await spend(fixed), true);
    assert.equal(await spend(rolling), false);
  },
);

onRedis(
  "the edge's three request budgets are one round trip, and a request one refuses spends none",
  async (bridge) => {
    // Scripts Redis has run (EVAL or EVALSHA), from its own statistics.
    const scripts = async () => {
      const stats = new TextDecoder().decode(
        await bridge.redis("INFO", "commandstats") as Uint8Array,
      );
      return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)]
        .reduce((n, m) => n + Number(m[1]), 0);
    };
    const limiter = new UpstashRateLimiter({
      redis: upstashClient(bridge),
      prefix: `omnisql-test-${crypto.randomUUID()}`,
      window: "rolling",
    });
    const window = { windowMs: 60_000 };
    const budgets: EdgeBudgets = {
      user: { tokens: 5, ...window },
      tenant: { tokens: 2, ...window },
      global: { tokens: 100, ...window },
    };
    const spend = (user: string) => spendEdgeBudgets(limiter, "a", user, budgets);
    const before = await scripts();
    assert.equal((await spend("u1")).remaining, 1);
    assert.equal(await scripts() - before, 1, "three levels, one script");
    await spend("u2");
    const refused = await refusal(spend("u1"));
    assert.equal(refused.details?.level, "tenant");
    // The tenant's refusal spent nothing of u1's budget, nor of the deployment's.
    const user = { key: "user:a:u1", budget: budgets.user };
    const global = { key: "global", budget: budgets.global! };
    const [u1, all] = await limiter.admit([user, global]);
    assert.equal(u1.remaining, 5 - 2, "u1's own two requests, not the refused one");
    assert.equal(all.remaining, 100 - 3);
  },
);

Deno.test("budgets in memory admit a request into every level or none, as on Redis", async () => {
  const limiter = new MemoryRateLimiter();
  const budgets: EdgeBudgets = {
    user: { tokens: 5, windowMs: 60_000 },
    tenant: { tokens: 1, windowMs: 60_000 },
  };
  await spendEdgeBudgets(limiter, "a", "u1", budgets);
  const refused = await refusal(spendEdgeBudgets(limiter, "a", "u1", budgets));
  assert.equal(refused.details?.level, "tenant");
  const [u1] = await limiter.admit([{ key: "user:a:u1", budget: budgets.user }]);
  assert.equal(u1.remaining, 5 - 2, "the refused request spent none of the user's budget");
});
