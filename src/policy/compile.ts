/**
 * Compiling a validated policy into per-user guards: which rules apply to the user (by role),
 * row rules bound to the user's attributes (pushed to the source where they are simple, always
 * enforced on the fetched rows), masks and blocks per column, denied tables, and a fingerprint of
 * the effective entitlements.
 *
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import type { Predicate, Scalar } from "../../connectors/sdk/predicate.ts";
import type { ColumnType, Row } from "../../connectors/sdk/table.ts";
import { checkClaims, type ClaimRules } from "../auth/claims.ts";
import type { UserClaims } from "../auth/user_token.ts";
import { OmniError } from "../errors.ts";
import type { QueryGuard, TableRead } from "./guard.ts";
import type { PushdownLimits } from "../sql/plan.ts";
import { bindExpr, evalExpr, type Expr, namesOf, pushableConjuncts } from "./_expr.ts";
import { type PolicyDocument, type PolicySchema, tablesCovered } from "./document.ts";
import { maskValue } from "./mask.ts";
import type { MaskKind, Rule, Subjects } from "./rule.ts";

/** A policy ready to make guards. */
export interface CompiledPolicy {
  tenantId: string;
  /** The policy version in force (0: the tenant has none). */
  version: number;
  /**
   * The guard of one user (cheap: rules are parsed once, bound per user). Throws
   * `UNAUTHENTICATED` for a claim of a bad type or an unknown role ({@link checkClaims}).
   */
  guardFor(user: UserClaims, options?: GuardOptions): QueryGuard;
  /** Whether the policy has hash masks, whose guards need the tenant's mask key. */
  needsMaskKey: boolean;
  /** Throws `UNAUTHENTICATED` naming a claim this policy would misread. */
  checkClaims(user: UserClaims): void;
  /** What the user gets for every table of the tenant (`admin policies explain`). */
  explain(user: UserClaims): TableEntitlement[];
}

/** What one user gets for one table, as `admin policies explain` shows it. */
export interface TableEntitlement {
  table: string;
  access: "read" | "denied";
  /** The `DENY TABLE` rule, when denied. */
  rule?: string;
  /** Row rules (all apply), with the user's attribute values they compare with. */
  rows: { rule: string; text: string; attributes: Record<string, Scalar> }[];
  /** Masked and blocked columns (the strongest rule per column). */
  columns: { column: string; effect: "block" | MaskKind; rule: string }[];
}

/** What a guard needs besides the user. */
export interface GuardOptions {
  /**
   * The tenant's mask key (`KeyRing.maskKey`), required when {@link CompiledPolicy.needsMaskKey}:
   * hash masks are HMACs with it. @default none
   */
  maskKey?: Uint8Array;
}

type ColumnRule = { kind: "block"; rule: string } | { kind: "mask"; mask: MaskKind; rule: string };

/** Distinct users' guards a compiled policy remembers per mask key (a guard is immutable). */
const GUARDS_REMEMBERED = 1024;

/** Strongest first: a column under several rules gets the strongest. */
const STRENGTH: Record<string, number> = { block: 4, null: 3, redact: 2, sha256: 1 };

/**
 * Compiles a validated policy document.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONNECTORS } from "../../connectors/mod.ts";
 * import { parsePolicy, policySchema } from "./document.ts";
 * import { compilePolicy } from "./compile.ts";
 * const schema = policySchema(CONNECTORS);
 * const doc = parsePolicy(
 *   'policies:\n  - rule: "SELECT * FROM github.pull_requests WHERE team_id = user.team_id"\n',
 *   schema,
 * );
 * const guard = compilePolicy(doc, { tenantId: "acme", version: 1, schema })
 *   .guardFor({ sub: "dev@acme", tenant: "acme", team_id: "mobile" });
 * assert.equal(guard.rowFilters("github.pull_requests")[0].column, "team_id");
 * ```
 */
export function compilePolicy(
  doc: PolicyDocument,
  options: { tenantId: string; version: number; schema: PolicySchema },
): CompiledPolicy {
  const { tenantId, version, schema } = options;
  const attrNames = new Set<string>();
  // parsePolicy accepted only rules whose roles are among these.
  const roles = new Set([...schema.roles, ...doc.roles ?? []]);
  for (const r of doc.rules) {
    if (r.kind === "rls") namesOf(r.where).attrs.forEach((a) => attrNames.add(a));
  }
  const claimRules: ClaimRules = { roles, attributes: attrNames };
  const assignments = columnAssignments(doc, schema);
  const unmaskedGuards = new Map<string, QueryGuard>();
  const guardsByMaskKey = new WeakMap<Uint8Array, Map<string, QueryGuard>>();
  const needsMaskKey = doc.rules.some((r) => r.kind === "mask" && r.mask === "sha256") ||
    [...assignments.values()].some((list) => list.some((a) => a.mask === "sha256"));
  return {
    tenantId,
    version,
    needsMaskKey,
    checkClaims(user) {
      checkClaims(user, claimRules);
    },
    guardFor(user, options = {}) {
      checkClaims(user, claimRules);
      const { maskKey } = options;
      if (needsMaskKey && !maskKey) {
        throw new OmniError("INTERNAL", `the policy of ${tenantId} masks with a hash: no mask key`);
      }
      const attrs = (name: string): Scalar => attribute(user, name);
      const role = typeof user.role === "string" ? user.role : null;
      // Everything the entitlements depend on, and nothing else: equal inputs, equal guards.
      const inputs = {
        role,
        attrs: [...attrNames].sort().map((a) => [a, attrs(a)]),
        // Passthrough fetches with the user's own token: nobody else's results may be reused.
        // (Absent otherwise: JSON leaves an undefined field out.)
        user: typeof user.passthrough_token === "string" ? user.sub : undefined,
      };
      // Guards are remembered per mask key object: the memo goes when the key ring lets the
      // key go (rotation, shredding, expiry), so no guard outlives its key.
      let memo = maskKey ? guardsByMaskKey.get(maskKey) : unmaskedGuards;
      if (!memo) guardsByMaskKey.set(maskKey!, memo = new Map());
      const memoKey = JSON.stringify(inputs);
      const remembered = memo.get(memoKey);
      if (remembered) return remembered;
      const fingerprint = digest({
        tenantId,
        version,
        role,
        attrs: inputs.attrs,
        // Masks differ under another key (after off-boarding and a new key): so do results.
        maskKey: maskKey ? createHmac("sha256", maskKey).update("fingerprint").digest("hex") : null,
        user: inputs.user,
      });
      const guard = buildGuard(
        entitlements(
          doc.rules.filter((r) => appliesTo(r.subjects, role)),
          attrs,
          schema,
          assignments,
        ),
        schema,
        fingerprint,
        maskKey,
        doc.rules.length > 0,
      );
      if (memo.size >= GUARDS_REMEMBERED) memo.clear();
      memo.set(memoKey, guard);
      return guard;
    },
    explain(user) {
      checkClaims(user, claimRules);
      const role = typeof user.role === "string" ? user.role : null;
      const attrs = (name: string): Scalar => attribute(user, name);
      const { denied, rowRules, columnRules } = entitlements(
        doc.rules.filter((r) => appliesTo(r.subjects, role)),
        attrs,
        schema,
        assignments,
      );
      return [...schema.tables.keys()].sort().map((table): TableEntitlement => {
        const deny = denied.get(table);
        if (deny) return { table, access: "denied", rule: deny, rows: [], columns: [] };
        return {
          table,
          access: "read",
          rows: (rowRules.get(table) ?? []).map((r) => ({
            rule: r.rule,
            text: r.text,
            attributes: Object.fromEntries(r.attrs.map((a) => [a, attrs(a)])),
          })),
          columns: [...(columnRules.get(table) ?? [])].sort(([a], [b]) => a.localeCompare(b))
            .map(([column, c]) => ({
              column,
              effect: c.kind === "block" ? "block" : c.mask,
              rule: c.rule,
            })),
        };
      });
    },
  };
}

/** A row rule bound to one user: the predicate and the attributes it read. */
interface RowRule {
  rule: string;
  text: string;
  where: Expr;
  attrs: string[];
}

/** What the rules that apply to one user decide, per table key. */
interface Entitlements {
  denied: Map<string, string>;
  rowRules: Map<string, RowRule[]>;
  columnRules: Map<string, Map<string, ColumnRule>>;
}

/** A column a mask or block rule covers, and how the rule is named for it. */
interface Assignment {
  table: string;
  column: string;
  label: string;
  /** The mask this column gets instead of the rule's own (a fallback class's keyed hash). */
  mask?: MaskKind;
}

/**
 * Classes whose columns, when no rule of their own class covers them, take the rules of another
 * class: text that embeds a person's name (a branch `chloe/mob-12-login`) is hidden from whoever
 * may not see people. Where that rule redacts, the fallback is the keyed hash instead: the name
 * stays hidden and equal branches still mask equally, so joins on branches keep working.
 */
const FALLBACK_CLASS: Record<string, string> = { "pii.person_text": "pii.person" };

/**
 * The columns each mask or block rule covers: the columns it names (in every table with a bare
 * name, on every connection of a connector), every column of the class it targets — and, failing
 * closed, every classified column no rule names: a column of class C that no rule covers gets
 * every rule that covers some other column of class C (the strongest of them that applies to a
 * user wins), so a new connection or connector never brings an unmasked email.
 */
function columnAssignments(doc: PolicyDocument, schema: PolicySchema): Map<string, Assignment[]> {
  const out = new Map<string, Assignment[]>();
  const covered = new Set<string>();
  const rulesOfClass = new Map<string, string[]>();
  const classOf = (table: string, column: string) => schema.classes.get(table)?.get(column);
  for (const r of doc.rules) {
    if (r.kind !== "mask" && r.kind !== "block") continue;
    const targets: [string, string][] = [];
    const target = r.target;
    if ("classification" in target) {
      for (const [table, cols] of schema.classes) {
        for (const [column, c] of cols) {
          if (c === target.classification) targets.push([table, column]);
        }
      }
    } else {
      const tables = target.table
        ? tablesCovered(schema, target.table)
        : [...schema.tables].filter(([, cols]) => cols.has(target.column)).map(([t]) => t);
      for (const table of tables) targets.push([table, target.column]);
    }
    out.set(r.id, targets.map(([table, column]) => ({ table, column, label: r.id })));
    for (const [table, column] of targets) {
      covered.add(`${table}\n${column}`);
      const c = classOf(table, column);
      if (c && !rulesOfClass.get(c)?.includes(r.id)) {
        rulesOfClass.set(c, [...(rulesOfClass.get(c) ?? []), r.id]);
      }
    }
  }
  const kinds = new Map(doc.rules.map((r) => [r.id, r.kind === "mask" ? r.mask : undefined]));
  for (const [table, cols] of schema.classes) {
    for (const [column, c] of cols) {
      if (covered.has(`${table}\n${column}`)) continue;
      const own = rulesOfClass.get(c) ?? [];
      const from = own.length > 0 ? c : FALLBACK_CLASS[c];
      for (const id of own.length > 0 ? own : rulesOfClass.get(from) ?? []) {
        const mask = from !== c && kinds.get(id) === "redact" ? "sha256" : undefined;
        out.get(id)!.push({ table, column, label: `${id} (default for ${c})`, mask });
      }
    }
  }
  return out;
}

function entitlements(
  rules: Rule[],
  attrs: (name: string) => Scalar,
  schema: PolicySchema,
  assignments: Map<string, Assignment[]>,
): Entitlements {
  const denied = new Map<string, string>();
  const rowRules = new Map<string, RowRule[]>();
  const columnRules = new Map<string, Map<string, ColumnRule>>();
  const setColumn = (table: string, column: string, rule: ColumnRule) => {
    let cols = columnRules.get(table);
    if (!cols) columnRules.set(table, cols = new Map());
    const before = cols.get(column);
    const strength = (r: ColumnRule) => STRENGTH[r.kind === "block" ? "block" : r.mask];
    if (!before || strength(rule) > strength(before)) cols.set(column, rule);
  };
  for (const r of rules) {
    switch (r.kind) {
      case "deny":
        for (const t of tablesCovered(schema, r.table)) if (!denied.has(t)) denied.set(t, r.id);
        break;
      case "rls": {
        for (const t of tablesCovered(schema, r.table)) {
          // Bound per table: an attribute compared with a column takes that column's type.
          const columns = schema.tables.get(t);
          const where = bindExpr(r.where, attrs, (column) => columns?.get(column));
          const list = rowRules.get(t) ?? [];
          list.push({ rule: r.id, text: r.text, where, attrs: [...namesOf(r.where).attrs] });
          rowRules.set(t, list);
        }
        break;
      }
      case "mask":
      case "block": {
        for (const { table, column, label, mask } of assignments.get(r.id) ?? []) {
          setColumn(
            table,
            column,
            r.kind === "block"
              ? { kind: "block", rule: label }
              : { kind: "mask", mask: mask ?? r.mask, rule: label },
          );
        }
      }
    }
  }
  return { denied, rowRules, columnRules };
}

function buildGuard(
  { denied, rowRules, columnRules }: Entitlements,
  schema: PolicySchema,
  fingerprint: string,
  maskKey: Uint8Array | undefined,
  governed: boolean,
): QueryGuard {
  const typeOf = (key: string, column: string): ColumnType =>
    schema.tables.get(key)?.get(column) ?? "text";

  return {
    fingerprint,
    check(reads: TableRead[]) {
      for (const read of reads) {
        // A table the compiled policy has not seen (a connection added a moment ago) is refused
        // until the policy is recompiled with it: its rules might cover it.
        if (governed && !schema.tables.has(read.key)) {
          throw new OmniError(
            "ENTITLEMENT_DENIED",
            `table ${read.key} is not yet covered by the policy in force; retry in a few seconds`,
            { details: { table: read.key } },
          );
        }
        const rule = denied.get(read.key);
        if (rule) {
          throw new OmniError(
            "ENTITLEMENT_DENIED",
            `you may not read table ${read.key} (policy rule ${rule})`,
            { details: { table: read.key, rule } },
          );
        }
        const cols = columnRules.get(read.key);
        for (const column of read.columns) {
          const c = cols?.get(column.toLowerCase());
          if (c?.kind === "block") {
            throw new OmniError(
              "ENTITLEMENT_DENIED",
              `you may not read column ${column} of ${read.key} (policy rule ${c.rule})`,
              { details: { table: read.key, column, rule: c.rule } },
            );
          }
        }
      }
    },
    rowFilters(key) {
      const filters: Predicate[] = [];
      for (const { where } of rowRules.get(key) ?? []) filters.push(...pushableConjuncts(where));
      return filters;
    },
    pushdown(key): PushdownLimits {
      const exprs = (rowRules.get(key) ?? []).map((r) => r.where);
      const columns = new Set<string>();
      for (const e of exprs) namesOf(e).columns.forEach((c) => columns.add(c));
      return {
        unpushable: [...(columnRules.get(key)?.keys() ?? [])],
        columns: [...columns],
        // A source's LIMIT is safe only when every row rule is exactly its pushed conjuncts.
        limit: exprs.every((e) =>
          (e.kind === "and" ? e.args : [e]).every((c) => pushableConjuncts(c).length === 1)
        ),
      };
    },
    apply(key, rows) {
      const wheres = (rowRules.get(key) ?? []).map((r) => r.where);
      const cols = [...(columnRules.get(key) ?? [])];
      if (wheres.length === 0 && cols.length === 0) return rows;
      const out: Row[] = [];
      for (const row of rows) {
        if (!wheres.every((w) => evalExpr(w, row) === true)) continue;
        if (cols.length === 0) {
          out.push(row);
          continue;
        }
        const masked: Row = { ...row };
        for (const [column, rule] of cols) {
          if (!(column in masked)) continue;
          masked[column] = rule.kind === "block"
            ? null
            : maskValue(rule.mask, typeOf(key, column), masked[column], maskKey);
        }
        out.push(masked);
      }
      return out;
    },
  };
}

/** A user attribute from the verified claims; absent → NULL (which denies, never allows). */
function attribute(user: UserClaims, name: string): Scalar {
  const value = name === "email" ? (user.email ?? user.sub) : user[name];
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return value;
  }
  return null;
}

function appliesTo(subjects: Subjects, role: string | null): boolean {
  const listed = role !== null && subjects.roles.includes(role);
  return subjects.all ? !listed : listed;
}

function digest(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 32);
}
