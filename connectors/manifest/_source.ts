/**
 * How a manifest reads an app's answers: auth headers, and its rate-limit headers and error
 * bodies as the SDK's protocol declaration (the SDK reads them; nothing is parsed here).
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import type { AppProtocol, Connection, ConnectionSchema, SettingSpec } from "../sdk/mod.ts";
import type { AuthSpec, Manifest } from "./manifest.ts";

/** The auth spec a connection uses: the first whose credential it has. */
export function pickAuth(manifest: Manifest, connection: Connection): AuthSpec | undefined {
  if (manifest.auth.length === 0) return undefined;
  const found = manifest.auth.find((a) => connection.credentials?.[a.credential]);
  if (!found) {
    const names = [...new Set(manifest.auth.map((a) => a.credential))].join(" or ");
    throw new OmniError(
      "SOURCE_ERROR",
      `${connection.name}: the ${manifest.id} connection has no credentials (${names})`,
      { details: { source: connection.name, connector: manifest.id } },
    );
  }
  return found;
}

/** Auth headers of a connection (query-parameter keys are added per request instead). */
export function authHeaders(manifest: Manifest, connection: Connection): Record<string, string> {
  const auth = pickAuth(manifest, connection);
  if (!auth) return {};
  const secret = connection.credentials[auth.credential];
  switch (auth.style) {
    case "header":
      return { [auth.header]: `${auth.prefix ?? ""}${secret}` };
    case "bearer":
      return { authorization: `Bearer ${secret}` };
    case "api_key_header":
      return { [auth.header]: secret };
    case "api_key_query":
      return {};
  }
}

/** Query parameters that authenticate (for `api_key_query`). */
export function authQuery(manifest: Manifest, connection: Connection): Record<string, string> {
  const auth = pickAuth(manifest, connection);
  return auth?.style === "api_key_query"
    ? { [auth.param]: connection.credentials[auth.credential] }
    : {};
}

/**
 * The manifest's `rate_limit` and `errors` sections as the SDK's protocol declaration, which
 * reads them exactly as it reads the hand-written connectors'.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { manifestProtocol } from "./_source.ts";
 * const protocol = manifestProtocol({
 *   rate_limit: { buckets: [{ remaining: "x-left" }], reset_unit: "epoch_ms", retry_after: true },
 *   errors: { messages: ["errors[].message"], codes: ["errors[].extensions.code"],
 *     rate_limited: ["RATELIMITED"] },
 * });
 * assert.equal(protocol.rateLimit.resetUnit, "epoch_ms");
 * assert.deepEqual(protocol.errors.rateLimitedCodes, ["RATELIMITED"]);
 * ```
 */
export function manifestProtocol(manifest: Pick<Manifest, "rate_limit" | "errors">): AppProtocol {
  const { rate_limit: rl, errors } = manifest;
  return {
    rateLimit: { buckets: rl.buckets, resetUnit: rl.reset_unit, retryAfter: rl.retry_after },
    errors: {
      messages: errors.messages,
      codes: errors.codes,
      rateLimitedCodes: errors.rate_limited,
    },
  };
}

const AUTH_SAYS: Record<AuthSpec["style"], (a: AuthSpec) => string> = {
  header: (a) => `sent as the ${(a as { header: string }).header} header`,
  bearer: () => "sent as a Bearer token",
  api_key_header: (a) => `an API key sent as the ${(a as { header: string }).header} header`,
  api_key_query: (a) => `an API key sent as the ?${(a as { param: string }).param}= parameter`,
};

/**
 * What a connection of a manifest's app holds: one credential per auth style it lists, and the
 * `{config.x}` settings its requests name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { manifestConnectionSchema } from "./_source.ts";
 * import { validateManifest } from "./manifest.ts";
 * const schema = manifestConnectionSchema(validateManifest({
 *   id: "demo", version: 1, description: "d", api: { style: "rest" },
 *   auth: [{ style: "bearer", credential: "token" }],
 *   tables: [{ name: "things", description: "t", request: { path: "/sites/{config.site}/things" },
 *     columns: [{ name: "id", type: "integer", description: "Id.", path: "id" }] }],
 * }));
 * assert.deepEqual(schema.config.map((s) => s.name), ["site"]);
 * assert.deepEqual(schema.example.credentials, { token: "…" });
 * ```
 */
export function manifestConnectionSchema(manifest: Manifest): ConnectionSchema {
  const names = new Set<string>();
  for (const t of manifest.tables) {
    const templates = [t.request?.path ?? "", ...Object.values(t.request?.query ?? {})];
    for (const text of templates) {
      for (const m of text.matchAll(/\{config\.([A-Za-z0-9_]+)\}/g)) names.add(m[1]);
    }
  }
  const config: SettingSpec[] = [...names].map((name) => ({
    name,
    type: "string",
    required: true,
    description: "Named in the app's request paths or queries.",
  }));
  const credentials = manifest.auth.map((a): SettingSpec[] => [{
    name: a.credential,
    type: "string",
    required: true,
    description: AUTH_SAYS[a.style](a),
  }]);
  return {
    baseUrl: manifest.api.style === "graphql"
      ? `The API's origin (the GraphQL endpoint is ${manifest.api.path} under it)`
      : "The API's base URL (request paths are relative to it)",
    config,
    credentials,
    example: {
      baseUrl: "https://api.example.com",
      config: Object.fromEntries(config.map((c) => [c.name, "…"])),
      credentials: credentials.length ? { [credentials[0][0].name]: "…" } : {},
    },
  };
}
