/**
 * OAuth 2.0 access tokens for connectors whose apps need them (Salesforce, manifests with OAuth):
 * obtained with the client-credentials or refresh-token grant, cached per connection until they
 * expire, single-flighted (N concurrent scans of one connection → one token request), and
 * refreshed once when the app says the session is invalid. Secrets never appear in errors.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import type { Connection } from "./table.ts";

/** How to obtain a token for a connection. */
export interface OAuthGrant {
  /** The token endpoint, e.g. `https://acme.my.salesforce.com/services/oauth2/token`. */
  tokenUrl: string;
  grantType: "client_credentials" | "refresh_token";
  clientId: string;
  /** Optional for a public client's refresh grant. */
  clientSecret?: string;
  /** Required for `refresh_token`. */
  refreshToken?: string;
  scope?: string;
}

/** A token as the endpoint issued it. */
export interface OAuthToken {
  accessToken: string;
  tokenType: string;
  /** Epoch ms after which it is not used any more (`expires_in`, or the default lifetime). */
  expiresAt: number;
  /** Salesforce: where the org's API lives. */
  instanceUrl?: string;
  /** The endpoint's whole answer, minus the access and refresh tokens. */
  extra: Record<string, unknown>;
}

/** Options of {@link OAuthTokens}. */
export interface OAuthTokensOptions {
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Lifetime of a token whose answer has no `expires_in` (Salesforce's). @default 3_600_000 */
  defaultTtlMs?: number;
  /** Refresh this long before expiry. @default 30_000 */
  skewMs?: number;
}

interface Entry {
  token?: OAuthToken;
  pending?: Promise<OAuthToken>;
}

/**
 * Per-connection OAuth token cache.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OAuthTokens } from "./oauth.ts";
 * let calls = 0;
 * const tokens = new OAuthTokens({
 *   fetch: () => {
 *     calls++;
 *     return Promise.resolve(Response.json({ access_token: "at", token_type: "Bearer" }));
 *   },
 * });
 * const grant = { tokenUrl: "https://x/token", grantType: "client_credentials" as const,
 *   clientId: "id", clientSecret: "s" };
 * const [a, b] = await Promise.all([tokens.get("c1", grant), tokens.get("c1", grant)]);
 * assert.ok(a.accessToken === "at" && b === a && calls === 1);
 * ```
 */
export class OAuthTokens {
  /** Token requests sent, by key (tests read it). */
  readonly requests: Map<string, number> = new Map();
  readonly #entries = new Map<string, Entry>();
  readonly #fetch: typeof fetch;
  readonly #defaultTtlMs: number;
  readonly #skewMs: number;

  constructor(options: OAuthTokensOptions = {}) {
    this.#fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
    this.#defaultTtlMs = options.defaultTtlMs ?? 3_600_000;
    this.#skewMs = options.skewMs ?? 30_000;
  }

  /** A valid token for the key: the cached one, or one request shared by every caller. */
  get(key: string, grant: OAuthGrant): Promise<OAuthToken> {
    const entry = this.#entries.get(key) ?? {};
    this.#entries.set(key, entry);
    if (entry.token && entry.token.expiresAt - this.#skewMs > Date.now()) {
      return Promise.resolve(entry.token);
    }
    if (entry.pending) return entry.pending;
    const pending = this.#request(key, grant).then(
      (token) => {
        entry.token = token;
        entry.pending = undefined;
        return token;
      },
      (err) => {
        entry.pending = undefined;
        throw err;
      },
    );
    entry.pending = pending;
    return pending;
  }

  /**
   * Forgets the key's token if it is still `stale` (the one the app refused), so that many
   * scans refused at once cause one refresh, not one each.
   */
  invalidate(key: string, stale?: string): void {
    const entry = this.#entries.get(key);
    if (!entry?.token) return;
    if (stale === undefined || entry.token.accessToken === stale) entry.token = undefined;
  }

  /**
   * Runs `call` with a token; when `isInvalidSession` says the app refused it, refreshes once
   * (single-flighted) and runs `call` again. A second refusal is the caller's error.
   */
  async withToken<T>(
    key: string,
    grant: OAuthGrant,
    call: (token: OAuthToken) => Promise<T>,
    isInvalidSession: (err: unknown) => boolean,
  ): Promise<T> {
    const token = await this.get(key, grant);
    try {
      return await call(token);
    } catch (err) {
      if (!isInvalidSession(err)) throw err;
      this.invalidate(key, token.accessToken);
      return await call(await this.get(key, grant));
    }
  }

  /** Forgets every token. */
  clear(): void {
    this.#entries.clear();
  }

  async #request(key: string, grant: OAuthGrant): Promise<OAuthToken> {
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const form = new URLSearchParams({ grant_type: grant.grantType, client_id: grant.clientId });
    if (grant.clientSecret) form.set("client_secret", grant.clientSecret);
    if (grant.grantType === "refresh_token") {
      if (!grant.refreshToken) throw tokenError("the connection has no refresh token");
      form.set("refresh_token", grant.refreshToken);
    }
    if (grant.scope) form.set("scope", grant.scope);
    let res: Response;
    try {
      res = await this.#fetch(grant.tokenUrl, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: form.toString(),
      });
    } catch (cause) {
      throw tokenError(`could not reach the token endpoint: ${(cause as Error).message}`);
    }
    let body: Record<string, unknown> | null = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    if (!res.ok || !body || typeof body.access_token !== "string" || !body.access_token) {
      const code = typeof body?.error === "string" ? body.error : `HTTP ${res.status}`;
      const why = typeof body?.error_description === "string" ? `: ${body.error_description}` : "";
      if (res.status >= 500) throw tokenError(`the token endpoint failed (${code}${why})`);
      throw tokenError(`the app refused the connection's OAuth credentials (${code}${why})`);
    }
    const expiresIn = Number(body.expires_in);
    const { access_token, refresh_token: _r, ...extra } = body;
    return {
      accessToken: access_token as string,
      tokenType: typeof body.token_type === "string" ? body.token_type : "Bearer",
      expiresAt: Date.now() +
        (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : this.#defaultTtlMs),
      ...(typeof body.instance_url === "string" ? { instanceUrl: body.instance_url } : {}),
      extra,
    };
  }
}

function tokenError(message: string): OmniError {
  return new OmniError("SOURCE_ERROR", `OAuth: ${message}`, { details: { level: "oauth" } });
}

/**
 * The cache key of a connection's token: tenant, connection, URL and a digest of the
 * credentials, so new credentials never reuse an old token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oauthKey } from "./oauth.ts";
 * const c = { id: "c", tenantId: "t", connector: "x", name: "x", baseUrl: "https://x",
 *   credentials: { clientId: "a" }, config: {} };
 * assert.ok(oauthKey(c) !== oauthKey({ ...c, credentials: { clientId: "b" } }));
 * ```
 */
export function oauthKey(connection: Connection): string {
  const creds = Object.entries(connection.credentials ?? {}).sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`).join("&");
  let h = 2166136261;
  for (let i = 0; i < creds.length; i++) h = Math.imul(h ^ creds.charCodeAt(i), 16777619);
  return [connection.tenantId, connection.id, connection.baseUrl, (h >>> 0).toString(36)].join(
    "\u0000",
  );
}
