/**
 * `salesforce.accounts`: the org's Account records.
 *
 * @module
 */
import type { ConnectorDef, TableDef } from "../sdk/mod.ts";
import { salesforceTable } from "./_table.ts";
import { OWNER_COLUMNS } from "./_owner.ts";

/**
 * The accounts table (built with its connector, which it calls through).
 *
 * @example
 * ```ts ignore
 * const table = accountsTable(() => salesforce);
 * ```
 */
export function accountsTable(connector: () => ConnectorDef): TableDef {
  return salesforceTable(connector, {
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
}
