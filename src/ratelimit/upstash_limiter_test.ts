import assert from "node:assert/strict";
import { startRedisHttp } from "../../bridge/redis_http.ts";
import { upstashClient } from "../cache/upstash_store.ts";
import { OmniError } from "../errors.ts";
import { type EdgeBudgets, spendEdgeBudgets } from "./budgets.ts";
import { UpstashRateLimiter } from "./upstash_limiter.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function refusal(p: Promise<unknown>): Promise<OmniError> {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof OmniError, `expected a refusal, got ${err}`);
  return err;
}

Deno.test(
  "each edge budget level refuses on real Redis, naming its level, with its wait",
  opts,
  async () => {
    const bridge = await startRedisHttp({ token: "bridge-token" });
    try {
      const limiter = new UpstashRateLimiter({
        redis: upstashClient(bridge), // url + token
        prefix: `omnisql-test-${crypto.randomUUID()}`,
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
    } finally {
      await bridge.close();
    }
  },
);

Deno.test("the Upstash limiter fails open when Redis cannot be reached", opts, async () => {
  const limiter = new UpstashRateLimiter({
    redis: upstashClient({ url: "http://127.0.0.1:9", token: "t" }),
    prefix: "omnisql-test-down",
  });
  const r = await limiter.limit("user:a:u", { tokens: 1, windowMs: 60_000 });
  assert.equal(r.success, true);
});

Deno.test(
  "a sliding request budget holds across a window's edge; a fixed one would start afresh",
  opts,
  async () => {
    const bridge = await startRedisHttp({ token: "bridge-token" });
    const windowMs = 4000;
    const nextWindow = () =>
      new Promise((r) => setTimeout(r, windowMs - (Date.now() % windowMs) + 20));
    try {
      const make = (window: "fixed" | "sliding") =>
        new UpstashRateLimiter({
          redis: upstashClient(bridge),
          prefix: `omnisql-test-${crypto.randomUUID()}`,
          window,
        });
      const sliding = make("sliding");
      const fixed = make("fixed");
      const budget = { tokens: 2, windowMs };
      const spend = async (l: UpstashRateLimiter) => (await l.limit("user:a:u", budget)).success;
      await nextWindow();
      for (const l of [sliding, fixed]) {
        assert.deepEqual([await spend(l), await spend(l), await spend(l)], [true, true, false]);
      }
      await nextWindow();
      // Just past the edge, nearly all of the last window still counts against the sliding one.
      assert.deepEqual([await spend(sliding), await spend(sliding)], [true, false]);
      assert.deepEqual([await spend(fixed), await spend(fixed)], [true, true]);
    } finally {
      await bridge.close();
    }
  },
);
