/**
 * Helpers of the reliability suites (faults, fuzz, load): a local stack on Postgres when
 * `DATABASE_URL` is set (as in CI) or PGlite otherwise, tokens, and audit look-ups by trace id.
 *
 * @module
 */
import { eq } from "drizzle-orm";
import type { LocalStack, LocalStackOptions } from "../edge/local_stack.ts";
import { auditLog, type TenantSettings } from "../src/catalog/schema.ts";
import { startTestStack } from "./_stack.ts";

/**
 * Starts a stack for a reliability suite: on a fresh database of the Postgres at `DATABASE_URL`
 * when set (as in CI), else on PGlite. Stacks never share a catalog, so one suite's job runners,
 * seeds and tenants never touch another's.
 */
export function startReliabilityStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  return startTestStack({ postgres: Deno.env.has("DATABASE_URL"), stack: options });
}

/** The audit rows written for one trace id. */
export async function auditRows(stack: LocalStack, traceId: string) {
  await stack.auditSettled();
  return await stack.catalog.db.select().from(auditLog).where(eq(auditLog.traceId, traceId));
}

/**
 * Memory this test's isolate holds (V8 heap and the buffers it owns), MB. Not the process's RSS:
 * under `deno test --parallel` other test modules run in the same process, and their stacks
 * come and go.
 */
export function memoryMb(): number {
  const { heapUsed, external } = Deno.memoryUsage();
  return (heapUsed + external) / 1_048_576;
}

/** The codes an answer may carry: the vocabulary's, never INTERNAL. */
export const VOCABULARY = new Set([
  "UNAUTHENTICATED",
  "INVALID_REQUEST",
  "PLAN_FAILED",
  "ENTITLEMENT_DENIED",
  "RATE_LIMIT_EXHAUSTED",
  "STALE_DATA",
  "SOURCE_TIMEOUT",
  "QUERY_TIMEOUT",
  "RESOURCE_EXHAUSTED",
  "SOURCE_ERROR",
  "REGION_UNAVAILABLE",
  "NOT_FOUND",
]);

/**
 * A fresh tenant cloned from a demo tenant (same zone, connections and users), with its own
 * settings — so a suite's caches, breakers and budgets start empty and its settings (a tiny
 * cache TTL, say) touch no other test sharing the catalog.
 */
export async function cloneTenant(
  stack: LocalStack,
  from: "acme" | "globex",
  settings: TenantSettings = {},
): Promise<string> {
  const { catalog } = stack;
  const source = await catalog.getTenant(from);
  if (!source) throw new Error(`no demo tenant ${from}`);
  const id = `${from}-${crypto.randomUUID().slice(0, 8)}`;
  await catalog.createTenant({ id, name: id, zone: source.zone, settings });
  for (const user of await catalog.listUsers(from)) {
    await catalog.upsertUser({ ...user, tenantId: id });
  }
  for (const conn of await catalog.listConnections(from)) {
    await catalog.addConnection({
      tenantId: id,
      connector: conn.connector,
      name: conn.name,
      baseUrl: conn.baseUrl,
      credentials: conn.credentials,
      config: conn.config,
    });
  }
  return id;
}

/** Budgets that never bind, for suites that measure something other than rate limiting. */
export const UNBOUNDED_BUDGETS: TenantSettings["rateLimits"] = {
  userPerMinute: 1_000_000,
  tenantPerMinute: 1_000_000,
};

/** A seeded PRNG (mulberry32): the same seed replays the same run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A duration from the environment (ms), or the default. */
export function envMs(name: string, fallback: number): number {
  const v = Number(Deno.env.get(name));
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
