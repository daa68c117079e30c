/**
 * Passthrough connections: a connection whose `config.passthrough` is `true` calls its app with
 * the querying user's own token instead of the stored credentials, so the app's own ACLs decide
 * what the user sees. The token arrives in the {@link PASSTHROUGH_HEADER} header, is carried to
 * the zone worker inside the edge's signed context (claim {@link PASSTHROUGH_CLAIM}), and is never
 * logged or audited.
 *
 * Caching: the connection handed to the connector carries the user's token as its credentials
 * and the user in `config.passthroughUser`, and the source cache keys on both; the guard's
 * fingerprint includes the user too, so no cached result is shared between users.
 *
 * @module
 */
import type { Connection } from "../../connectors/sdk/table.ts";
import { PASSTHROUGH_CLAIM, type UserClaims } from "../auth/user_token.ts";
import { OmniError } from "../errors.ts";

/** The request header carrying the user's own token for passthrough connections. */
export const PASSTHROUGH_HEADER = "x-omnisql-passthrough-token";

export { PASSTHROUGH_CLAIM };

/**
 * The tenant's connections as this user's query must use them: passthrough connections with the
 * user's token as credentials (`token` for bearer-token apps, `accessToken` for OAuth ones);
 * others unchanged. A passthrough connection without a user token keeps no credentials at all —
 * never the stored ones — and a query that reads it is refused by
 * {@link refuseWithoutPassthroughToken}; queries that do not read it are not concerned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withPassthrough } from "./passthrough.ts";
 * const [c] = withPassthrough([{ id: "1", tenantId: "acme", connector: "github", name: "github",
 *   baseUrl: "http://gh", credentials: { token: "bot" }, config: { passthrough: true } }],
 *   { sub: "ana@acme", tenant: "acme", passthrough_token: "ana-token" });
 * assert.ok(c.credentials.token === "ana-token");
 * ```
 */
export function withPassthrough(connections: Connection[], user: UserClaims): Connection[] {
  return connections.map((connection) => {
    if (connection.config.passthrough !== true) return connection;
    const token = user[PASSTHROUGH_CLAIM];
    if (typeof token !== "string" || token === "") {
      const withoutToken = { ...connection, credentials: {} };
      WITHOUT_TOKEN.add(withoutToken);
      return withoutToken;
    }
    return {
      ...connection,
      credentials: { token, accessToken: token },
      config: { ...connection.config, passthroughUser: user.sub },
    };
  });
}

/** Passthrough connections of a query whose user sent no token of their own. */
const WITHOUT_TOKEN = new WeakSet<Connection>();

/**
 * Refuses (`ENTITLEMENT_DENIED`) a query that reads a passthrough connection without the user's
 * own token (see {@link withPassthrough}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { refuseWithoutPassthroughToken, withPassthrough } from "./passthrough.ts";
 * const [c] = withPassthrough([{ id: "1", tenantId: "acme", connector: "github", name: "gh",
 *   baseUrl: "http://gh", credentials: { token: "bot" }, config: { passthrough: true } }],
 *   { sub: "ana@acme", tenant: "acme" });
 * assert.deepEqual(c.credentials, {});
 * assert.throws(() => refuseWithoutPassthroughToken(c), /uses your own github token/);
 * ```
 */
export function refuseWithoutPassthroughToken(connection: Connection): void {
  if (!WITHOUT_TOKEN.has(connection)) return;
  throw new OmniError(
    "ENTITLEMENT_DENIED",
    `connection ${connection.name} uses your own ${connection.connector} token: send it in ` +
      `the ${PASSTHROUGH_HEADER} header`,
    { details: { connection: connection.name, header: PASSTHROUGH_HEADER } },
  );
}

/**
 * The user's claims with the passthrough token taken from the request header (and only from
 * there: a claim of that name in the identity token is dropped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withPassthroughClaim } from "./passthrough.ts";
 * const user = withPassthroughClaim({ sub: "ana", tenant: "acme" }, "tok");
 * assert.ok(user.passthrough_token === "tok");
 * ```
 */
export function withPassthroughClaim(user: UserClaims, header: string | undefined): UserClaims {
  const { [PASSTHROUGH_CLAIM]: _dropped, ...rest } = user;
  const token = header?.trim();
  return token ? { ...rest, [PASSTHROUGH_CLAIM]: token } as UserClaims : rest as UserClaims;
}
