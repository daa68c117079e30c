/**
 * Claims fail closed. A validly signed token can still carry a claim a policy would misread: a
 * `role` of `["qa"]`, `"QA"`, `null` or `1` matches no `FOR role:qa` rule and so used to skip the
 * rules written for that role. Every claim a policy reads is therefore checked for its type (and
 * the role for its value) before any guard is built; a bad one is `UNAUTHENTICATED` naming it.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import type { UserClaims } from "./user_token.ts";

/** What a tenant accepts in its users' tokens. */
export interface ClaimRules {
  /** The role strings the tenant knows (its policy's roles and its directory's). */
  roles: ReadonlySet<string>;
  /** Attributes its policy reads besides `role` (`team_id`, custom ones). */
  attributes: Iterable<string>;
}

/** Claims OmniSQL itself reads as identifiers: they must be strings when present. */
const STRING_CLAIMS: readonly string[] = ["email", "team_id"];

/**
 * Throws `UNAUTHENTICATED` naming the first claim of a bad type or value: a `role` that is not
 * one of the known role strings (case-sensitive; arrays, numbers and `null` included), an
 * `email` or `team_id` that is neither a string nor (for `team_id`) `null`, or any attribute the
 * policy reads that is not a string, number, boolean or `null`. An absent claim passes: it reads
 * as NULL, which no row rule matches and every `FOR ALL` rule covers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkClaims } from "./claims.ts";
 * const rules = { roles: new Set(["qa", "admin"]), attributes: ["team_id"] };
 * checkClaims({ sub: "qa@acme", tenant: "acme", role: "qa" }, rules);
 * assert.throws(
 *   () => checkClaims({ sub: "qa@acme", tenant: "acme", role: "QA" }, rules),
 *   /token claim role/,
 * );
 * ```
 */
export function checkClaims(user: UserClaims, rules: ClaimRules): void {
  if ("role" in user && user.role !== undefined) {
    if (typeof user.role !== "string" || !rules.roles.has(user.role)) {
      throw refused("role", "is not one of the tenant's roles");
    }
  }
  for (const name of STRING_CLAIMS) {
    const value = user[name];
    if (value === undefined || typeof value === "string") continue;
    if (name === "team_id" && value === null) continue;
    throw refused(name, "must be a string");
  }
  for (const name of rules.attributes) {
    if (name === "role" || STRING_CLAIMS.includes(name)) continue;
    const value = user[name];
    if (
      value === undefined || value === null || typeof value === "string" ||
      typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value))
    ) continue;
    throw refused(name, "must be a string, number or boolean");
  }
}

function refused(claim: string, what: string): OmniError {
  return new OmniError(
    "UNAUTHENTICATED",
    `token claim ${claim} ${what}: ask your identity provider for a corrected token`,
    { details: { claim } },
  );
}
