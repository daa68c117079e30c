/**
 * The GitHub connector against its REST sandbox. Each configured repo is its own listing (one
 * page each at `per_page=100`), so the full scan takes one request per repo.
 */
import { demoOrg } from "../../connectors/demo/world.ts";
import { acmeConnection, demoSandbox } from "../../connectors/github/_testing.ts";
import { github } from "../../connectors/github/mod.ts";
import { cmp, conformanceSandbox, conformanceSuite } from "./kit.ts";

const acme = demoOrg("acme");

conformanceSuite({
  name: "github",
  connector: github,
  async start() {
    const sb = await demoSandbox();
    return conformanceSandbox(sb, acmeConnection(sb.url));
  },
  tables: [{
    name: "pull_requests",
    key: ["repo", "number"],
    expected: () =>
      acme.pulls.map((p) => ({
        repo: p.repo,
        number: p.number,
        title: p.title,
        branch: p.head,
        status: p.mergedAt ? "merged" : p.state,
      })),
    predicateSets: [
      [cmp("status", "=", "merged")],
      [cmp("status", "=", "open")],
      [cmp("repo", "=", "web-app")],
      [cmp("team_id", "=", "mobile"), cmp("status", "!=", "open")],
      [{ column: "branch", op: "=", value: acme.pulls[3].head }],
    ],
    empty: [cmp("repo", "=", "no-such-repo")],
  }],
  // Four repos are listed in parallel: a fault must outlast every request and its retry.
  faultTimes: 12,
  rateLimitHeaders: [{
    headers: {
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "4999",
      "x-ratelimit-reset": "1767225600",
    },
    expect: { limit: 5000, remaining: 4999, resetAt: 1767225600000 },
  }],
});
