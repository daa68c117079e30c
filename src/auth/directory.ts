/**
 * A verified token completed from the tenant's user directory (`admin users set`): the role and
 * team when the token has no role, and every directory attribute the token does not carry.
 * The identity provider stays the authority for what it asserts: a claim in the token is never
 * replaced, and the directory never sets the claims that say who the caller is.
 *
 * @module
 */
import type { UserClaims } from "./user_token.ts";

/** A user's directory entry, as the catalog stores it. */
export interface DirectoryEntry {
  role: string;
  teamId: string | null;
  attributes?: Record<string, unknown> | null;
}

/**
 * Claims the directory never sets: the caller's identity, the token's own, and OmniSQL's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NOT_FROM_DIRECTORY } from "./directory.ts";
 * assert.ok(NOT_FROM_DIRECTORY.has("tenant"));
 * ```
 */
export const NOT_FROM_DIRECTORY: ReadonlySet<string> = new Set([
  "sub",
  "tenant",
  "email",
  "role",
  "team_id",
  "iss",
  "aud",
  "exp",
  "iat",
  "nbf",
  "jti",
  "passthrough_token",
]);

/** The names an attribute may have: what a policy can read as `user.<name>`. */
export const ATTRIBUTE_NAME: RegExp = /^[a-z_][a-z0-9_]*$/;

/**
 * The claims with the directory's gaps filled in. An attribute is taken under its exact name, as
 * a token's claim is (a policy reads `user.Region` as `region`; an entry named `REGION` is not
 * read); a token claim of the same name, even `null`, wins.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completeFromDirectory } from "./directory.ts";
 * const user = completeFromDirectory(
 *   { sub: "ana@acme", tenant: "acme", region: "us" },
 *   { role: "analyst", teamId: "ops", attributes: { region: "emea", clearance: 2, sub: "x", Zone: "eu" } },
 * );
 * assert.deepEqual(user, {
 *   sub: "ana@acme", tenant: "acme", region: "us", role: "analyst", team_id: "ops", clearance: 2,
 * });
 * ```
 */
export function completeFromDirectory(
  user: UserClaims,
  entry: DirectoryEntry | undefined,
): UserClaims {
  if (!entry) return user;
  const completed: UserClaims = user.role === undefined
    ? { ...user, role: entry.role, team_id: entry.teamId }
    : { ...user };
  for (const [name, value] of Object.entries(entry.attributes ?? {})) {
    if (!ATTRIBUTE_NAME.test(name) || NOT_FROM_DIRECTORY.has(name) || name in completed) continue;
    completed[name] = value;
  }
  return completed;
}
