/**
 * The stack the bench measures: `startLocalStack` as `deno task start` builds it (so caches,
 * policies and other features wired there are measured as they land), with budgets that never
 * bind, plus a `bench` tenant whose GitHub and Jira connections point at bench-only sandboxes
 * serving a scaled demo world (thousands of rows, several pages) with a fixed latency. The
 * sandboxes run in a child process (`sandboxes.ts`): the apps' work is not the gateway's.
 *
 * @module
 */
import { type LocalStack, startLocalStack } from "../../edge/local_stack.ts";
import { BENCH, type BenchSandboxes, startBenchSandboxes } from "./sandboxes.ts";
import { DEMO_GITHUB, DEMO_JIRA } from "../../src/catalog/demo.ts";
import { loadConfig } from "../../src/config.ts";
import { EnginePool } from "../../src/duckdb/pool.ts";
import type { MaterializedTable, RunInput } from "../../src/duckdb/engine.ts";
import type { Row } from "../../connectors/sdk/table.ts";
import { SEED_QUERIES } from "./queries.ts";
import {
  type Budget,
  type LimitResult,
  MemoryRateLimiter,
  type RateLimiter,
  type Spend,
} from "../../src/ratelimit/mod.ts";

export { BENCH };

/** A running bench stack. */
export interface BenchStack {
  stack: LocalStack;
  edgeUrl: string;
  /** Tokens: `dev@acme` on the demo data, the bench analyst on the scaled data. */
  tokens: { dev: string; bench: string };
  /** The scaled sandboxes, in their own process. */
  big: BenchSandboxes;
  close(): Promise<void>;
}

/** Spends budgets like the real limiter (same work per request) but never refuses. */
class UnboundLimiter implements RateLimiter {
  readonly #inner = new MemoryRateLimiter();
  limit(key: string, budget: Budget): Promise<LimitResult> {
    return this.#inner.limit(key, unbound(budget));
  }
  admit(spends: readonly Spend[]): Promise<LimitResult[]> {
    return this.#inner.admit(spends.map(({ key, budget }) => ({ key, budget: unbound(budget) })));
  }
}

function unbound(budget: Budget): Budget {
  return { tokens: Number.MAX_SAFE_INTEGER, windowMs: budget.windowMs };
}

/** Starts the stack, the scaled sandboxes and the bench tenant. */
export async function startBenchStack(
  options: {
    scale: number;
    latencyMs: number;
    /** The catalog's Postgres (a scratch database); absent → embedded PGlite in memory. */
    databaseUrl?: string;
    /**
     * Upstash REST credentials (the bridge in front of a real Redis) for the zone's caches and
     * every budget, as a production zone has them; the budgets then bind as configured. Absent →
     * in memory, with budgets that never bind.
     */
    upstash?: { url: string; token: string };
  },
): Promise<BenchStack> {
  // On Postgres the catalog is durable, so audit records are too: journalled as in production.
  const journalDir = options.databaseUrl ? await Deno.makeTempDir() : undefined;
  const { upstash } = options;
  const stack = await startLocalStack(
    loadConfig({
      PORT: "0",
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
      ...(upstash
        ? {
          UPSTASH_REDIS_REST_URL: upstash.url,
          UPSTASH_REDIS_REST_TOKEN: upstash.token,
          UPSTASH_REDIS_REST_URL_US: upstash.url,
          UPSTASH_REDIS_REST_TOKEN_US: upstash.token,
        }
        : {}),
    }),
    {
      ...(upstash ? {} : { rateLimiter: () => new UnboundLimiter() }),
      warmEngines: "all",
      auditJournalDir: journalDir,
    },
  );
  const closers: (() => Promise<void>)[] = [
    async () => {
      if (journalDir) await Deno.remove(journalDir, { recursive: true });
    },
    () => stack.close(),
  ];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch(() => {});
  };
  try {
    const big = await startBenchSandboxes({
      scale: options.scale,
      latencyMs: options.latencyMs,
    });
    closers.push(() => big.close());

    const { catalog } = stack;
    if (!await catalog.getTenant(BENCH.tenant)) {
      await catalog.createTenant({ id: BENCH.tenant, name: "Bench Corp", zone: "us" });
    }
    await catalog.upsertUser({
      tenantId: BENCH.tenant,
      email: BENCH.user,
      role: "admin",
      teamId: null,
    });
    await catalog.putConnection({
      tenantId: BENCH.tenant,
      connector: "github",
      name: "github",
      baseUrl: big.githubUrl,
      credentials: { token: BENCH.githubToken },
      config: DEMO_GITHUB.acme.config,
    });
    await catalog.putConnection({
      tenantId: BENCH.tenant,
      connector: "jira",
      name: "jira",
      baseUrl: big.jiraUrl,
      credentials: { email: BENCH.jiraEmail, apiToken: BENCH.jiraToken },
      config: DEMO_JIRA.acme.config,
    });

    const mint = async (tenant: string, user: string) => {
      const row = await catalog.getUser(tenant, user);
      return await stack.devIssuer.mint({
        sub: user,
        tenant,
        ...(row ? { role: row.role, team_id: row.teamId } : {}),
      });
    };
    return {
      stack,
      edgeUrl: stack.edgeUrl,
      tokens: { dev: await mint("acme", "dev@acme"), bench: await mint(BENCH.tenant, BENCH.user) },
      big,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Posts one query to the edge; returns the decoded body, status and client-side wall time. */
export async function postQuery(
  edgeUrl: string,
  token: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${edgeUrl}/v1/query`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const decoded = await res.json();
  return { status: res.status, body: decoded, ms: performance.now() - t0 };
}

/** Samples this process's RSS while a scenario runs; `stop()` gives the peak in MB. */
export function sampleRss(everyMs = 50): { stop(): number } {
  let peak = Deno.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, Deno.memoryUsage().rss);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, Deno.memoryUsage().rss);
      return Math.round(peak / 1024 / 1024);
    },
  };
}

/** A seed join's engine input, every table with its rows in. */
export interface CapturedJoin extends RunInput {
  tables: (MaterializedTable & { rows: Row[] })[];
}

/**
 * The engine inputs of the seed joins, as the worker builds them: each seed join is run once,
 * cold, through a bench stack (sandboxes without latency), and the tables and SQL it hands its
 * engine pool are kept, for replays that time the engine step alone.
 */
export async function captureJoins(): Promise<Map<string, CapturedJoin>> {
  const captured = new Map<string, CapturedJoin>();
  let current = "";
  const run = EnginePool.prototype.run;
  EnginePool.prototype.run = function (input, options) {
    const id = current;
    // Kept with their rows in: a replay hands the engine every table at once.
    if (id) {
      Promise.all(input.tables.map(async (t) => ({ ...t, rows: await t.rows }))).then(
        (tables) => captured.set(id, { ...input, tables }),
        () => {},
      );
    }
    return run.call(this, input, options);
  };
  const bench = await startBenchStack({ scale: 4, latencyMs: 0 });
  try {
    for (const q of SEED_QUERIES.filter((q) => q.join)) {
      current = q.id;
      const res = await postQuery(bench.edgeUrl, bench.tokens.bench, {
        sql: q.sql,
        metadata: { max_staleness_ms: 0 },
      });
      if (res.status !== 200) throw new Error(`${q.id}: HTTP ${res.status}`);
    }
  } finally {
    EnginePool.prototype.run = run;
    await bench.close();
  }
  return captured;
}
