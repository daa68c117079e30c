/**
 * Test helpers: one local stack per test file (all ports chosen by the OS), tokens, and a
 * `query` helper that posts to the edge.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../edge/local_stack.ts";
import { type ScratchDatabase, scratchDatabase } from "../src/catalog/testing.ts";
import { loadConfig } from "../src/config.ts";

/** Options of {@link startTestStack}. */
export interface TestStackOptions {
  /** A fresh Postgres catalog instead of the default. @default false */
  postgres?: boolean;
  /** Options of the local stack itself. */
  stack?: LocalStackOptions;
  /** Zones given a store of their own (a fresh database each, `ZONE_<Z>_DATABASE_URL`). */
  zoneDatabases?: string[];
}

/**
 * A local stack on free ports with the catalog on PGlite, or — when asked — on a fresh database
 * of the Postgres at `DATABASE_URL` (created here, dropped on close: stacks never share state).
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<LocalStack> {
  // No warm-up, no spare, no engine before a zone's first query: each would cost seconds of CPU
  // per engine in a suite that starts hundreds (engine_test.ts runs a pool as servers do).
  const env: Record<string, string> = {
    PORT: "0",
    OMNISQL_ENGINE_WARMUP_MS: "0",
    OMNISQL_ENGINE_SPARES: "0",
  };
  const stackOptions: LocalStackOptions = { warmEngines: "none", ...options.stack };
  if (!options.postgres) return await startLocalStack(loadConfig(env), stackOptions);
  const server = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
  const scratches: ScratchDatabase[] = [];
  const fresh = async () => {
    const scratch = await scratchDatabase(server, "omnisql_s");
    scratches.push(scratch);
    return scratch.url;
  };
  env.DATABASE_URL = await fresh();
  for (const zone of options.zoneDatabases ?? []) {
    env[`ZONE_${zone.toUpperCase()}_DATABASE_URL`] = await fresh();
  }
  const drop = async () => {
    for (const scratch of scratches) await scratch.drop();
  };
  let stack: LocalStack;
  try {
    stack = await startLocalStack(loadConfig(env), stackOptions);
  } catch (err) {
    await drop();
    throw err;
  }
  return {
    ...stack,
    async close() {
      await stack.close();
      await drop();
    },
  };
}

/** Mints a token for a demo user with the stack's dev issuer. */
export async function tokenFor(stack: LocalStack, tenant: string, user: string): Promise<string> {
  const row = await stack.catalog.getUser(tenant, user);
  return await stack.devIssuer.mint({
    sub: user,
    tenant,
    ...(row ? { role: row.role, team_id: row.teamId } : {}),
  });
}

/** Posts a query to a URL and returns the status and decoded body. */
export async function postQuery(
  url: string,
  token: string | undefined,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${url}/v1/query`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** The fields every 200 answer of `POST /v1/query` carries (DESIGN.md's contract). */
export const RESPONSE_KEYS = [
  "columns",
  "rows",
  "freshness_ms",
  "from_cache",
  "rate_limit_status",
  "trace_id",
  "region",
  "timing",
  "sources",
] as const;

/** Asserts a body has every field of the query answer's contract. */
export function assertAnswerShape(body: Record<string, unknown>): void {
  for (const key of RESPONSE_KEYS) {
    if (!(key in body)) throw new Error(`response lacks ${key}: ${JSON.stringify(body)}`);
  }
}

/** Asserts that `actual` holds the items of `expected` (compared as JSON), in any order. */
export function assertSameItems(actual: unknown[], expected: unknown[]): void {
  const key = (items: unknown[]) => items.map((item) => JSON.stringify(item)).sort();
  assert.deepEqual(key(actual), key(expected));
}

/** The error a refused query answered with. */
export interface AnsweredError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * Posts a query that must be refused with `status` and `code` (and a trace id); returns the error.
 */
export async function expectQueryError(
  url: string,
  token: string | undefined,
  body: unknown,
  status: number,
  code: string,
): Promise<AnsweredError> {
  const res = await postQuery(url, token, body);
  if (res.status !== status) {
    throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  }
  const error = res.body.error as AnsweredError;
  if (error?.code !== code) throw new Error(`expected ${code}, got ${JSON.stringify(res.body)}`);
  if (typeof res.body.trace_id !== "string") throw new Error("error answer without trace_id");
  return error;
}

/** The body of a {@link stackTest}. */
export type StackTestFn = (stack: LocalStack, t: Deno.TestContext) => Promise<void>;

/**
 * A test on a stack of its own (started with `options`), closed whatever the test does. Servers keep sockets and timers
 * a moment past closing, so the sanitizers are off.
 */
export function stackTest(
  name: string,
  ...args: [StackTestFn] | [TestStackOptions, StackTestFn]
): void {
  const [options, fn] = args.length === 1 ? [{}, args[0]] : args;
  Deno.test(name, { sanitizeResources: false, sanitizeOps: false }, async (t) => {
    const stack = await startTestStack(options);
    try {
      await fn(stack, t);
    } finally {
      await stack.close();
    }
  });
}
