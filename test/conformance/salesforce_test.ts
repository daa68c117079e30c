/** The Salesforce connector against its REST/SOQL sandbox (OAuth client credentials). */
import { demoSalesforce } from "../../connectors/demo/world.ts";
import { salesforce, salesforceTokens } from "../../connectors/salesforce/mod.ts";
import { startSalesforceSandbox } from "../../connectors/salesforce/sandbox/mod.ts";
import type { Predicate } from "../../connectors/sdk/mod.ts";
import { cmp, conformanceSandbox, conformanceSuite } from "./kit.ts";
import { acmeConnectionOf } from "../../connectors/sdk/_testing.ts";

const sf = demoSalesforce("acme");
const users = new Map(sf.users.map((u) => [u.Id, u]));
const iso = (s: string) =>
  new Date(Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"))).toISOString();
const ownerOf = (id: string) => users.get(id)!;

const textSets: Predicate[][] = [
  [cmp("owner_department", "=", "web")],
  [{ column: "name", op: "like", pattern: "Northwind%" }],
  [cmp("name", "=", "O'Brien \\' OR Name != '' --")],
  [cmp("created_date", ">=", "2025-01-01T00:00:00Z")],
  [cmp("created_date", "<", "2025-03-01T12:00:00.500Z")],
  [{ column: "owner_email", op: "is null" }],
];

conformanceSuite({
  name: "salesforce",
  connector: salesforce,
  async start() {
    salesforceTokens.clear();
    // Batches of 10 so scans cross `nextRecordsUrl` boundaries (24 accounts, 67 opportunities).
    const sb = await startSalesforceSandbox({
      org: "acme",
      clientId: "conf-client",
      clientSecret: "conf-secret",
      maxBatchSize: 10,
    });
    return conformanceSandbox(
      sb,
      acmeConnectionOf("salesforce", "conf-sf", sb.url, {
        clientId: "conf-client",
        clientSecret: "conf-secret",
      }),
    );
  },
  tables: [
    {
      name: "opportunities",
      key: ["id"],
      expected: () =>
        sf.opportunities.map((o) => ({
          id: o.Id,
          account_id: o.AccountId,
          name: o.Name,
          amount: o.Amount,
          stage_name: o.StageName,
          close_date: `${o.CloseDate}T00:00:00.000Z`,
          is_closed: o.IsClosed,
          is_won: o.IsWon,
          owner_email: ownerOf(o.OwnerId).Email,
          owner_department: ownerOf(o.OwnerId).Department,
          created_date: iso(o.CreatedDate),
          jira_issue_key: o.Jira_Issue_Key__c,
        })),
      predicateSets: [
        ...textSets,
        [{ column: "stage_name", op: "in", values: ["Closed Won", "Prospecting"] }],
        [cmp("amount", ">", 100000), cmp("is_won", "=", false)],
        [cmp("amount", "!=", 173000)],
        [{ column: "amount", op: "not in", values: [173000, 5000] }],
        [{ column: "amount", op: "is null" }],
        [cmp("close_date", ">=", "2026-01-01T00:00:00Z")],
        [cmp("close_date", "<", "2026-02-01T13:00:00Z")],
        [{ column: "jira_issue_key", op: "is not null" }, cmp("probability", "<=", 40)],
        [{ column: "account_id", op: "=", value: sf.accounts[0].Id }],
        [cmp("account_id", "=", "not-an-id'")],
        [cmp("stage_name", "!=", "closed won")],
      ],
      empty: [cmp("stage_name", "=", "No such stage")],
    },
    {
      name: "accounts",
      key: ["id"],
      expected: () =>
        sf.accounts.map((a) => ({
          id: a.Id,
          name: a.Name,
          industry: a.Industry,
          annual_revenue: a.AnnualRevenue,
          owner_id: a.OwnerId,
          owner_name: ownerOf(a.OwnerId).Name,
          created_date: iso(a.CreatedDate),
        })),
      predicateSets: [
        ...textSets,
        [{ column: "industry", op: "in", values: ["Finance", "Retail"] }],
        [cmp("annual_revenue", ">=", 10_000_000)],
        [{ column: "industry", op: "is null" }],
      ],
      empty: [cmp("annual_revenue", "<", 0)],
    },
  ],
  rateLimitHeaders: [
    {
      headers: { "sforce-limit-info": "api-usage=10018/100000" },
      expect: { limit: 100000, remaining: 89982 },
    },
    { headers: {}, expect: { limit: undefined, remaining: undefined } },
  ],
});
