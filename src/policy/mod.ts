/**
 * Row- and column-level security from each tenant's `policy.yaml`: parse and validate the rules
 * against the tables and user attributes the tenant has, compile them into per-user guards
 * (row rules pushed to the source where simple and always enforced on fetched rows; masked and
 * blocked values replaced before DuckDB), and provide those guards to the query services.
 *
 * @example
 * ```ts ignore
 * import { PolicySecurityProvider } from "./mod.ts";
 * const service = new QueryService({ ..., security: new PolicySecurityProvider({ catalog, connectors }) });
 * ```
 *
 * @module
 */
export { type ColumnRef, type MaskKind, parseRule, type Rule, type Subjects } from "./rule.ts";
export {
  BUILTIN_ATTRIBUTES,
  parsePolicy,
  type PolicyDocument,
  type PolicySchema,
  policySchema,
} from "./document.ts";
export { maskValue, REDACTED } from "./mask.ts";
export {
  type CompiledPolicy,
  compilePolicy,
  type GuardOptions,
  type TableEntitlement,
} from "./compile.ts";
export {
  type PolicyProviderOptions,
  PolicySecurityProvider,
  tenantPolicySchema,
} from "./provider.ts";
