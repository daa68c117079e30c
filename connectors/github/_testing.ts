/**
 * Shared fixtures of the GitHub connector's tests: the demo connection and a sandbox with the
 * demo tokens.
 *
 * @module
 */
import type { Connection } from "../sdk/mod.ts";
import {
  type GithubSandbox,
  type GithubSandboxOptions,
  startGithubSandbox,
} from "./sandbox/mod.ts";

/** The acme demo token, as the catalog seeds it. */
export const ACME_TOKEN = "ghp_demo_acme_0123456789";
/** The globex demo token. */
export const GLOBEX_TOKEN = "ghp_demo_globex_0123456789";
/** Acme's configured repos, in catalog order. */
export const ACME_REPOS = ["mobile-app", "ios-app", "web-app", "web-dashboard"];
/** Acme's repo → team mapping. */
export const ACME_TEAMS: Record<string, string> = {
  "mobile-app": "mobile",
  "ios-app": "mobile",
  "web-app": "web",
  "web-dashboard": "web",
};

/** A sandbox with the demo tokens (plus any options). */
export function demoSandbox(options: Partial<GithubSandboxOptions> = {}): Promise<GithubSandbox> {
  return startGithubSandbox({
    tokens: { [ACME_TOKEN]: ["acme"], [GLOBEX_TOKEN]: ["globex"] },
    ...options,
  });
}

/**
 * Runs `fn` against a {@link demoSandbox}, closed whatever `fn` does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withDemoSandbox } from "./_testing.ts";
 * await withDemoSandbox(async (gh) => {
 *   assert.equal((await fetch(`${gh.url}/rate_limit`)).status, 401);
 * });
 * ```
 */
export async function withDemoSandbox(
  fn: (gh: GithubSandbox) => Promise<void>,
  options: Partial<GithubSandboxOptions> = {},
): Promise<void> {
  const gh = await demoSandbox(options);
  try {
    await fn(gh);
  } finally {
    await gh.close();
  }
}

/** The acme demo connection against a base URL; `config` overrides merge in. */
export function acmeConnection(
  baseUrl: string,
  config: Record<string, unknown> = {},
  token = ACME_TOKEN,
): Connection {
  return {
    id: "c1",
    tenantId: "acme",
    connector: "github",
    name: "github",
    baseUrl,
    credentials: { token },
    config: { owner: "acme", repos: ACME_REPOS, teams: ACME_TEAMS, ...config },
  };
}

/** Authorization header for raw sandbox calls. */
export function auth(token = ACME_TOKEN): HeadersInit {
  return { authorization: `Bearer ${token}` };
}

/**
 * A fetch that asks for `size`-row pages instead of 100, so a list takes several pages and
 * follows `Link`s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { smallPages } from "./_testing.ts";
 * let asked = "";
 * const fetchSmall = smallPages(5, (input) => {
 *   asked = String(input);
 *   return Promise.resolve(new Response("[]"));
 * });
 * await fetchSmall("https://api.github.com/repos/o/r/pulls?per_page=100");
 * assert.equal(new URL(asked).searchParams.get("per_page"), "5");
 * ```
 */
export function smallPages(size: number, send: typeof fetch = fetch): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.searchParams.get("per_page") === "100") url.searchParams.set("per_page", String(size));
    return send(url, init);
  };
}
