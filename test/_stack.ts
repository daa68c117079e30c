/**
 * Test helpers: one local stack per test file (all ports chosen by the OS), tokens, and a
 * `query` helper that posts to the edge.
 *
 * @module
 */
import { type LocalStack, startLocalStack } from "../edge/local_stack.ts";
import { loadConfig } from "../src/config.ts";

/** A local stack on free ports with the catalog on PGlite (or `DATABASE_URL` when asked). */
export async function startTestStack(options: { postgres?: boolean } = {}): Promise<LocalStack> {
  const env: Record<string, string> = { PORT: "0" };
  if (options.postgres) {
    env.DATABASE_URL = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
  }
  return await startLocalStack(loadConfig(env));
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
