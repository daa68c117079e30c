/**
 * How a manifest reads an app's answers: auth headers, and its rate-limit headers and error
 * bodies as the SDK's protocol declaration (the SDK reads them; nothing is parsed here).
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import type { AppProtocol, Connection, ConnectionSchema, SettingSpec } from "../sdk/mod.ts";
import { oauthKey, OAuthTokens } from "../sdk/oauth.ts";
import type { AuthSpec, Manifest } from "./manifest.ts";

/** The auth spec a connection uses: the first whose credential it has. */
export function pickAuth(manifest: Manifest, connection: Connection): AuthSpec | undefined {
  if (manifest.auth.length === 0) return undefined;
  const has = (name: string) => Boolean(connection.credentials?.[name]);
  const found = manifest.auth.find((a) =>
    has(a.credential) && (a.style !== "oauth2" || has(a.client_secret) || has(a.refresh_token))
  );
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

/** OAuth 2.0 tokens of every manifest connection of this process. */
export const manifestTokens: OAuthTokens = new OAuthTokens();

/** Auth headers of a connection (query-parameter keys are added per request instead). */
export async function authHeaders(
  manifest: Manifest,
  connection: Connection,
): Promise<Record<string, string>> {
  const auth = pickAuth(manifest, connection);
  if (!auth) return {};
  const secret = connection.credentials[auth.credential];
  switch (auth.style) {
    case "oauth2": {
      const creds = connection.credentials;
      const base = connection.baseUrl.endsWith("/") ? connection.baseUrl : connection.baseUrl + "/";
      const refreshToken = creds[auth.refresh_token];
      const token = await manifestTokens.get(oauthKey(connection), {
        tokenUrl: new URL(auth.token_url.replace(/^\/+/, ""), base).toString(),
        grantType: refreshToken ? "refresh_token" : "client_credentials",
        clientId: secret,
        ...(creds[auth.client_secret] ? { clientSecret: creds[auth.client_secret] } : {}),
        ...(refreshToken ? { refreshToken } : {}),
        ...(auth.scope ? { scope: auth.scope } : {}),
      });
      return { authorization: `Bearer ${token.accessToken}` };
    }
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
  oauth2: (a) => {
    const o = a as Extract<AuthSpec, { style: "oauth2" }>;
    return `the OAuth 2.0 client id (token endpoint ${o.token_url}), with ${o.client_secret} ` +
      `(client credentials) or ${o.refresh_token} (refresh token)`;
  },
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
  const credentials = manifest.auth.map((a): SettingSpec[] => [
    { name: a.credential, type: "string", required: true, description: AUTH_SAYS[a.style](a) },
    ...(a.style === "oauth2"
      ? [
        { name: a.client_secret, description: "the client secret (client credentials grant)" },
        { name: a.refresh_token, description: "a refresh token (refresh token grant)" },
      ].map(({ name, description }): SettingSpec => ({
        name,
        type: "string",
        required: false,
        description,
      }))
      : []),
  ]);
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
