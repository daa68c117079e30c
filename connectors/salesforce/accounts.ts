/**
 * `salesforce.accounts`: the org's Account records.
 *
 * @module
 */
import type { TableDef } from "../sdk/mod.ts";
import { salesforceTable } from "./_table.ts";
import { OWNER_COLUMNS } from "./_owner.ts";

/**
 * The accounts table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accounts } from "./accounts.ts";
 * assert.ok(accounts.name === "accounts");
 * ```
 */
export const accounts: TableDef = salesforceTable({
  name: "accounts",
  object: "Account",
  description: "Salesforce accounts (SOQL over Account).",
  columns: [
    {
      name: "id",
      type: "text",
      field: "Id",
      kind: "id",
      description: "Account id (18 characters).",
    },
    { name: "name", type: "text", field: "Name", kind: "text", description: "Account name." },
    {
      name: "industry",
      type: "text",
      field: "Industry",
      kind: "text",
      description: "Industry picklist value.",
    },
    {
      name: "annual_revenue",
      type: "double",
      field: "AnnualRevenue",
      kind: "number",
      description: "Annual revenue, in the org's currency.",
    },
    {
      name: "type",
      type: "text",
      field: "Type",
      kind: "text",
      description: "Account type, e.g. Customer - Direct.",
    },
    ...OWNER_COLUMNS,
    {
      name: "created_date",
      type: "timestamp",
      field: "CreatedDate",
      kind: "datetime",
      description: "When the account was created (UTC).",
    },
  ],
});
