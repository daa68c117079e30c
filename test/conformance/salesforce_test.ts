/** The Salesforce connector against its REST/SOQL sandbox (OAuth client credentials). */
import { demoSalesforce } from "../../connectors/demo/world.ts";
import { salesforce, salesforceTokens } from "../../connectors/salesforce/mod.ts";
import { startSalesforceSandbox } from "../../connectors/salesforce/sandbox/mod.ts";
import type { Predicate } from "../../connectors/sdk/mod.ts";
import { conformanceSandbox, conformanceSuite } from "./kit.ts";
import { acmeConnectionOf } from "../../connectors/sdk/_testing.ts";

const sf = demoSalesforce("acme");
const users = new Map(sf.users.map((u) => [u.Id, u]));
const iso = (s: string) =>
  new Date(Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"))).toISOString();
const ownerOf = (id: string) => users.get(id)!;

const textSets: Predicate[][] = [
  [{ column: "owner_department", op: "=", value: "web" }],
  [{ column: "name", op: "like", pattern: "Northwind%" }],
  [{ column: "name", op: "=", value: "O'Brien \\' OR Name != '' --" }],
  [{ column: "created_date", op: ">=", value: "2025-01-01T00:00:00Z" }],
  [{ column: "created_date", op: "<", value: "2025-03-01T12:00:00.500Z" }],
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
        [{ column: "amount", op: ">", value: 100000 }, { column: "is_won", op: "=", value: false }],
        [{ column: "amount", op: "!=", value: 173000 }],
        [{ column: "amount", op: "not in", values: [173000, 5000] }],
        [{ column: "amount", op: "is null" }],
        [{ column: "close_date", op: ">=", value: "2026-01-01T00:00:00Z" }],
        [{ column: "close_date", op: "<", value: "2026-02-01T13:00:00Z" }],
        [{ column: "jira_issue_key", op: "is not null" }, {
          column: "probability",
          op: "<=",
          value: 40,
        }],
        [{ column: "account_id", op: "=", value: sf.accounts[0].Id }],
        [{ column: "account_id", op: "=", value: "not-an-id'" }],
        [{ column: "stage_name", op: "!=", value: "closed won" }],
      ],
      empty: [{ column: "stage_name", op: "=", value: "No such stage" }],
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
        [{ column: "annual_revenue", op: ">=", value: 10_000_000 }],
        [{ column: "industry", op: "is null" }],
      ],
      empty: [{ column: "annual_revenue", op: "<", value: 0 }],
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
