/**
 * Freshness and budgets end to end, against the machine's real Redis through the Upstash REST
 * bridge: result and source caches by staleness, entitlements never shared, ETag revalidation,
 * single-flight, STALE_DATA / allow_stale, the user budget's refusal, and no plaintext source
 * data in Redis.
 */
import assert from "node:assert/strict";
import { startLocalStack } from "../edge/local_stack.ts";
import { DEMO_GITHUB } from "../src/catalog/demo.ts";
import { loadConfig } from "../src/config.ts";
import { postQuery, tokenFor } from "./_stack.ts";
import { startRedisHttp } from "../bridge/redis_http.ts";
import { replyText } from "../bridge/resp.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("freshness and budgets against real Redis", opts, async (t) => {
  const bridge = await startRedisHttp({ token: "bridge-token" });
  const prefix = `omnisql-test-${crypto.randomUUID()}`;
  const stack = await startLocalStack(
    loadConfig({
      PORT: "0",
      OMNISQL_ENGINE_WARMUP_MS: "0",
      UPSTASH_REDIS_REST_URL_US: bridge.url,
      UPSTASH_REDIS_REST_TOKEN_US: bridge.token,
      UPSTASH_REDIS_REST_URL_EU: bridge.url,
      UPSTASH_REDIS_REST_TOKEN_EU: bridge.token,
    }),
    { cachePrefix: prefix },
  );
  const gh = stack.sandboxes.github;
  // Globex's users may run 2 queries a minute: set before any globex query reads its settings.
  await stack.catalog.setTenantSettings("globex", {
    budgets: { user: { tokens: 2, windowMs: 60_000 } },
  });
  try {
    const dev = await tokenFor(stack, "acme", "dev@acme");
    const webdev = await tokenFor(stack, "acme", "webdev@acme");
    const query = (token: string, sql: string, metadata: Record<string, unknown> = {}) =>
      postQuery(stack.edgeUrl, token, { sql, metadata });
    // Answered from the sources (no cached result is fresh enough); it must succeed.
    const queryFresh = async (token: string, sql: string) => {
      const res = await query(token, sql, { max_staleness_ms: 0 });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res;
    };
    const seen: string[] = [];

    await t.step("a result is served from cache only within max_staleness_ms", async () => {
      const sql = "SELECT pr_id, title, branch FROM github.pull_requests WHERE status = 'open'";
      const fresh = await queryFresh(dev, sql);
      assert.equal(fresh.body.from_cache, false);
      for (const row of fresh.body.rows as { title: string; branch: string }[]) {
        seen.push(row.title, row.branch);
      }
      const before = gh.requests.length;
      const cached = await query(dev, sql, { max_staleness_ms: 60_000 });
      assert.equal(cached.body.from_cache, true);
      assert.deepEqual(cached.body.rows, fresh.body.rows);
      assert.ok((cached.body.freshness_ms as number) >= (fresh.body.freshness_ms as number));
      assert.equal(gh.requests.length, before, "a cache hit reached GitHub");
      const live = await query(dev, sql, { max_staleness_ms: 0 });
      assert.equal(live.body.from_cache, false);
    });

    await t.step("queries that differ in a literal never share a cached result", async () => {
      // Issue 20: the old text key lowercased what followed a quote inside a comment.
      const done = "SELECT count(*) AS n FROM jira.issues /* it's */ WHERE status = 'Done'";
      const first = await queryFresh(dev, done);
      assert.ok((first.body.rows as { n: number }[])[0].n > 0);
      const upper = await query(dev, done.replace("'Done'", "'DONE'"), {
        max_staleness_ms: 60_000,
      });
      assert.equal(upper.body.from_cache, false);
      assert.deepEqual(upper.body.rows, [{ n: 0 }]);
      const dollar = await query(dev, done.replace("'Done'", () => "$$DONE$$"), {
        max_staleness_ms: 60_000,
      });
      assert.equal(dollar.body.from_cache, false);
      assert.deepEqual(dollar.body.rows, [{ n: 0 }]);
      // The same query written differently (case, spacing, comments) is the same entry.
      const again = await query(
        dev,
        "select count(*) as n\n from jira.issues where status = 'Done' -- it's",
        { max_staleness_ms: 60_000 },
      );
      assert.equal(again.body.from_cache, true);
      assert.deepEqual(again.body.rows, first.body.rows);
    });

    await t.step("users whose entitlements differ never share a cached result", async () => {
      const sql = "SELECT pr_id, team_id FROM github.pull_requests";
      const mobile = await query(dev, sql, { max_staleness_ms: 0 });
      const web = await query(webdev, sql, { max_staleness_ms: 60_000 });
      assert.equal(mobile.status, 200, JSON.stringify(mobile.body));
      assert.equal(web.status, 200, JSON.stringify(web.body));
      const teams = (r: typeof mobile) =>
        new Set((r.body.rows as { team_id: string }[]).map((x) => x.team_id));
      assert.deepEqual([...teams(mobile)], ["mobile"]);
      assert.deepEqual([...teams(web)], ["web"]);
    });

    await t.step("a looser cached fetch serves a stricter query (subset rule)", async () => {
      await query(dev, "SELECT pr_id, status, repo FROM github.pull_requests", {
        max_staleness_ms: 0,
      });
      const before = gh.requests.length;
      const res = await query(
        dev,
        "SELECT pr_id FROM github.pull_requests WHERE status = 'closed'",
        { max_staleness_ms: 60_000 },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const [source] = res.body.sources as { from_cache: boolean; calls: number }[];
      assert.equal(source.from_cache, true);
      assert.equal(gh.requests.length, before);
    });

    await t.step(
      "an entry too old is revalidated with If-None-Match: 304s cost nothing",
      async () => {
        const sql = "SELECT pr_id, updated_at FROM github.pull_requests WHERE status = 'merged'";
        const first = await queryFresh(dev, sql);
        const used = async () => {
          const res = await fetch(`${gh.url}/rate_limit`, {
            headers: { authorization: `Bearer ${DEMO_GITHUB.acme.credentials.token}` },
          });
          return (await res.json()).resources.core.used as number;
        };
        const usedBefore = await used();
        const requestsBefore = gh.requests.length;
        const again = await query(dev, sql, { max_staleness_ms: 0 });
        assert.equal(again.status, 200);
        assert.equal(again.body.from_cache, false);
        assert.deepEqual(again.body.rows, first.body.rows);
        assert.ok(gh.requests.length > requestsBefore + 1, "the revalidation sent no requests");
        assert.equal(await used(), usedBefore, "a 304 was charged against the rate limit");
      },
    );

    await t.step("identical concurrent queries make one fetch (single-flight)", async () => {
      const sql = "SELECT pr_id, author FROM github.pull_requests WHERE status = 'open'";
      gh.inject({ latencyMs: 300, times: 1000 });
      let before = gh.requests.length;
      await query(dev, sql, { max_staleness_ms: 0 });
      const one = gh.requests.length - before;
      before = gh.requests.length;
      const all = await Promise.all(
        Array.from({ length: 5 }, () => query(dev, sql, { max_staleness_ms: 0 })),
      );
      const five = gh.requests.length - before;
      gh.reset();
      for (const r of all) assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(five, one);
    });

    await t.step(
      "a source that cannot answer: STALE_DATA, or stale rows when allowed",
      async () => {
        const sql = "SELECT pr_id, title FROM github.pull_requests WHERE repo = 'mobile-app'";
        const fresh = await queryFresh(dev, sql);
        gh.inject({ status: 503, times: 50 });
        try {
          const refused = await query(dev, sql, { max_staleness_ms: 1 });
          assert.equal(refused.status, 503, JSON.stringify(refused.body));
          const error = refused.body.error as { code: string; details: Record<string, number> };
          assert.equal(error.code, "STALE_DATA");
          assert.ok(error.details.available_age_ms >= 1);
          const stale = await query(dev, sql, { max_staleness_ms: 1, allow_stale: true });
          assert.equal(stale.status, 200, JSON.stringify(stale.body));
          assert.equal(stale.body.stale, true);
          assert.deepEqual(stale.body.rows, fresh.body.rows);
        } finally {
          gh.reset();
        }
      },
    );

    await t.step("a tenant's user budget refuses with 429, its level and Retry-After", async () => {
      const globex = await tokenFor(stack, "globex", "dev@globex");
      const sql = "SELECT pr_id FROM github.pull_requests LIMIT 1";
      // The first runs in the zone, which folds in the budget the edge spent; the second may be
      // the edge's cache hit. Either shows the caller's budget, the one closer to running out.
      for (const remaining of [1, 0]) {
        const answer = await query(globex, sql);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        const budget = answer.body.rate_limit_status as Record<string, unknown>;
        assert.deepEqual([budget.level, budget.remaining], ["user", remaining]);
      }
      const refused = await query(globex, sql);
      assert.equal(refused.status, 429);
      const error = refused.body.error as Record<string, unknown>;
      assert.equal(error.code, "RATE_LIMIT_EXHAUSTED");
      assert.equal((error.details as Record<string, unknown>).level, "user");
      const retryAfter = Number(refused.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.ok((error.retry_after_ms as number) <= 60_000);
    });

    await t.step("Redis holds no source data in the clear", async () => {
      const keys: string[] = [];
      let cursor = "0";
      do {
        const reply = await bridge.redis("SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", "1000");
        const [next, batch] = reply as [Uint8Array, Uint8Array[]];
        cursor = replyText(next);
        keys.push(...batch.map(replyText));
      } while (cursor !== "0");
      assert.ok(keys.some((k) => k.includes(":s:e:")), "no source cache entry was written");
      assert.ok(keys.some((k) => k.includes(":r:")), "no result cache entry was written");
      const needles = seen.filter((s) => s && s.length >= 6);
      assert.ok(needles.length > 0);
      for (const key of keys) {
        const value = replyText(await bridge.redis("GET", key));
        for (const needle of needles) {
          assert.ok(!key.includes(needle) && !value.includes(needle), `${needle} in ${key}`);
        }
      }
      for (const key of keys) await bridge.redis("DEL", key);
    });
  } finally {
    await stack.close();
    await bridge.close();
  }
});
