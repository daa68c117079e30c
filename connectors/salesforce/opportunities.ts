/**
 * `salesforce.opportunities`: the org's Opportunity records, with their account's name and the
 * Jira issue key custom field the connection names (default `Jira_Issue_Key__c`).
 *
 * @module
 */
import type { TableDef } from "../sdk/mod.ts";
import { salesforceTable } from "./_table.ts";
import { OWNER_COLUMNS } from "./_owner.ts";
import { salesforceConfig } from "./client.ts";

/**
 * The opportunities table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { opportunities } from "./opportunities.ts";
 * assert.ok(opportunities.name === "opportunities");
 * ```
 */
export const opportunities: TableDef = salesforceTable({
  name: "opportunities",
  object: "Opportunity",
  description: "Salesforce opportunities (SOQL over Opportunity).",
  columns: [
    { name: "id", type: "text", field: "Id", kind: "id", description: "Opportunity id." },
    {
      name: "account_id",
      type: "text",
      field: "AccountId",
      kind: "id",
      description: "Its account's id.",
    },
    {
      name: "account_name",
      type: "text",
      field: "Account.Name",
      kind: "text",
      description: "Its account's name.",
    },
    { name: "name", type: "text", field: "Name", kind: "text", description: "Opportunity name." },
    {
      name: "amount",
      type: "double",
      field: "Amount",
      kind: "number",
      description: "Amount; NULL when not set.",
    },
    {
      name: "stage_name",
      type: "text",
      field: "StageName",
      kind: "text",
      description: "Sales stage, e.g. Closed Won.",
    },
    {
      name: "close_date",
      type: "timestamp",
      field: "CloseDate",
      kind: "date",
      description: "Expected or actual close date (a date: midnight UTC).",
    },
    {
      name: "is_closed",
      type: "boolean",
      field: "IsClosed",
      kind: "boolean",
      description: "Closed (won or lost).",
    },
    {
      name: "is_won",
      type: "boolean",
      field: "IsWon",
      kind: "boolean",
      description: "Closed won.",
    },
    {
      name: "probability",
      type: "double",
      field: "Probability",
      kind: "number",
      description: "Win probability, %.",
    },
    ...OWNER_COLUMNS,
    {
      name: "created_date",
      type: "timestamp",
      field: "CreatedDate",
      kind: "datetime",
      description: "When the opportunity was created (UTC).",
    },
    {
      name: "jira_issue_key",
      type: "text",
      field: (connection) => salesforceConfig(connection).jiraIssueKeyField,
      kind: "text",
      description:
        "Jira issue key, from the org's custom field the connection names (default Jira_Issue_Key__c).",
    },
  ],
});
