/**
 * The security provider the query services use: loads each tenant's policy in force from the
 * catalog, compiles it once per version (re-checking the version at most every `ttlMs`), and
 * makes per-user guards from it.
 *
 * @module
 */
import type { ConnectorDef } from "../../connectors/sdk/connector.ts";
import type { UserClaims } from "../auth/user_token.ts";
import type { Catalog } from "../catalog/store.ts";
import { OmniError } from "../errors.ts";
import type { QueryGuard, SecurityProvider } from "./guard.ts";
import { type CompiledPolicy, compilePolicy } from "./compile.ts";
import { parsePolicy, type PolicySchema, policySchema } from "./document.ts";

/** Options of {@link PolicySecurityProvider}. */
export interface PolicyProviderOptions {
  catalog: Pick<Catalog, "getPolicy" | "listConnectionsPublic" | "listUsers" | "keyRing">;
  connectors: Record<string, ConnectorDef>;
  /**
   * How long a compiled policy is used before the catalog is asked for the version in force
   * again: a newly applied policy takes effect within this time in every process.
   * @default 2000
   */
  ttlMs?: number;
}

interface Entry {
  policy: Promise<CompiledPolicy>;
  expires: number;
}

/**
 * Guards from the tenants' `policy.yaml` in the catalog. A tenant without a policy reads
 * everything; a stored policy that no longer validates (e.g. a connector dropped a column it
 * names) refuses every query of the tenant rather than applying part of it.
 *
 * @example
 * ```ts ignore
 * const security = new PolicySecurityProvider({ catalog, connectors: CONNECTORS });
 * const guard = await security.guardFor("acme", user);
 * ```
 */
export class PolicySecurityProvider implements SecurityProvider {
  readonly #options: PolicyProviderOptions;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Entry>();
  readonly #signatures = new Map<string, string>();
  /** The catalog's values each tenant's policy was last compiled from. */
  readonly #inputs = new Map<string, unknown[]>();

  constructor(options: PolicyProviderOptions) {
    this.#options = options;
    this.#ttlMs = options.ttlMs ?? 2000;
  }

  /** The user's guard under the tenant's policy in force. */
  async guardFor(tenantId: string, user: UserClaims): Promise<QueryGuard> {
    const policy = await this.policy(tenantId);
    // Asked of the key ring on every guard (it caches briefly), never kept with the compiled
    // policy: a shredded tenant's mask key must not outlive its keys in this process.
    const maskKey = policy.needsMaskKey
      ? await this.#options.catalog.keyRing.maskKey(tenantId)
      : undefined;
    return policy.guardFor(user, { maskKey });
  }

  /**
   * Throws `UNAUTHENTICATED` naming a claim of the user's token that the tenant's policy would
   * misread (a role it does not know, a claim of the wrong type).
   */
  async checkClaims(tenantId: string, user: UserClaims): Promise<void> {
    (await this.policy(tenantId)).checkClaims(user);
  }

  /** The tenant's compiled policy in force (cached briefly). */
  policy(tenantId: string): Promise<CompiledPolicy> {
    const now = Date.now();
    const entry = this.#entries.get(tenantId);
    if (entry && entry.expires > now) return entry.policy;
    const policy = this.#load(tenantId, entry?.policy);
    this.#entries.set(tenantId, { policy, expires: now + this.#ttlMs });
    policy.catch(() => this.#entries.delete(tenantId));
    return policy;
  }

  /**
   * Forgets a tenant's compiled policy (after `policies apply` in this process, or a notice of
   * another's change); every tenant's without one.
   */
  forget(tenantId?: string): void {
    if (tenantId === undefined) this.#entries.clear();
    else this.#entries.delete(tenantId);
  }

  async #load(tenantId: string, previous?: Promise<CompiledPolicy>): Promise<CompiledPolicy> {
    const { catalog, connectors } = this.#options;
    // Recompiled when the tenant's connections or directory change, not only its policy: a rule
    // for github.pull_requests must cover a GitHub connection added or renamed since, and a
    // class rule a column an MCP connection's mapping classified since. Read side by side.
    const inputs = await Promise.all([
      catalog.getPolicy(tenantId),
      catalog.listConnectionsPublic(tenantId),
      catalog.listUsers(tenantId),
    ]);
    const before = await previous?.catch(() => undefined);
    // The catalog's memo hands back the very values it read while nothing has changed since
    // (`ReadCache`): then there is nothing to rebuild or compare.
    const last = this.#inputs.get(tenantId);
    this.#inputs.set(tenantId, inputs);
    if (before && last?.every((value, i) => value === inputs[i])) return before;
    const [row, connections, users] = inputs;
    const schema = schemaOf(connectors, connections, users);
    const version = row?.version ?? 0;
    const signature = JSON.stringify([
      [...schema.connections].sort(),
      [...schema.roles].sort(),
      [...schema.attributes].sort(),
      [...schema.tables].map(([t, cols]) => [t, [...cols]]).sort(),
      [...schema.classes].map(([t, cols]) => [t, [...cols]]).sort(),
    ]);
    if (before && before.version === version && this.#signatures.get(tenantId) === signature) {
      return before;
    }
    this.#signatures.set(tenantId, signature);
    if (!row) return compilePolicy({ rules: [] }, { tenantId, version, schema });
    try {
      return compilePolicy(parsePolicy(row.source, schema), { tenantId, version, schema });
    } catch (cause) {
      throw new OmniError(
        "ENTITLEMENT_DENIED",
        `the policy of tenant ${tenantId} (version ${version}) no longer validates, so nothing ` +
          `may be read until an admin applies a valid one`,
        { cause },
      );
    }
  }
}

/**
 * What a tenant's rules may name: the connectors' tables (under their ids and the tenant's
 * connection names) and the attributes of its users' directory entries.
 *
 * @example
 * ```ts ignore
 * const doc = parsePolicy(source, await tenantPolicySchema(catalog, "acme", CONNECTORS));
 * ```
 */
export async function tenantPolicySchema(
  catalog: Pick<Catalog, "listConnectionsPublic" | "listUsers">,
  tenantId: string,
  connectors: Record<string, ConnectorDef>,
): Promise<PolicySchema> {
  const [connections, users] = await Promise.all([
    catalog.listConnectionsPublic(tenantId),
    catalog.listUsers(tenantId),
  ]);
  return schemaOf(connectors, connections, users);
}

function schemaOf(
  connectors: Record<string, ConnectorDef>,
  connections: Awaited<ReturnType<Catalog["listConnectionsPublic"]>>,
  users: Awaited<ReturnType<Catalog["listUsers"]>>,
): PolicySchema {
  return policySchema(connectors, {
    connections,
    attributes: users.flatMap((u) => Object.keys(u.attributes ?? {})),
    roles: users.map((u) => u.role),
  });
}
