/**
 * The connector SDK: the contract every connector implements (tables as declarations,
 * pushdown as a negotiation) and the machinery they share (HTTP, retries, error mapping,
 * pagination helpers).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describePredicate } from "./mod.ts";
 * assert.ok(describePredicate({ column: "repo", op: "=", value: "web" }) === "repo = 'web'");
 * ```
 *
 * @module
 */
export * from "./predicate.ts";
export * from "./table.ts";
export * from "./connector.ts";
export * from "./http.ts";
export * from "./protocol.ts";
export * from "./errors.ts";
export * from "./pool.ts";
export * from "./paginate.ts";
export * from "./link_header.ts";
export * from "./connection_schema.ts";
export * from "./json_path.ts";
export * from "./scan.ts";
export * from "./oauth.ts";
