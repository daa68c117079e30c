/**
 * The support desk of the demo world: tickets filed by the organisation's own people and by its
 * customers, many of them escalated to a Jira issue of the same organisation (`jira_issue_key`
 * is a key of `demoOrg(owner).issues`, and a requester who works there has the email Jira
 * knows). Deterministic, from its own PRNG stream, so no other app's data moves.
 *
 * @module
 */
import { demoOrg } from "../../demo/world.ts";
import { hash, mulberry32 } from "../../demo/random.ts";

/** A support ticket, as the sandbox's tools return it. */
export interface DemoTicket {
  /** `SUP-1001`… */
  id: string;
  subject: string;
  status: "open" | "pending" | "solved" | "closed";
  priority: "low" | "normal" | "high" | "urgent";
  requester: { name: string; email: string };
  /** The Jira issue the ticket was escalated to, if any. */
  jira_issue_key: string | null;
  /** Minutes of agent time spent. */
  time_spent_minutes: number;
  created_at: string;
  updated_at: string;
}

const STATUSES: DemoTicket["status"][] = ["open", "pending", "solved", "closed"];
const PRIORITIES: DemoTicket["priority"][] = ["low", "normal", "normal", "high", "urgent"];
const PROBLEMS = [
  "Cannot log in",
  "Export is empty",
  "Notifications arrive twice",
  "Invoice shows the wrong amount",
  "Page loads slowly",
  "Dark mode breaks the chart",
  "Search misses recent items",
  "Session expires too soon",
];
const CUSTOMERS = ["initech", "umbrella", "hooli", "vandelay", "wonka", "stark"];
const NAMES = ["sam", "kim", "lee", "alex", "robin", "max", "jo", "pat"];
const EPOCH = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

/**
 * The tickets of one organisation's support desk: 420 for `acme`, 180 for `globex`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { demoTickets } from "./tickets.ts";
 * const tickets = demoTickets("acme");
 * assert.equal(tickets.length, 420);
 * assert.deepEqual(demoTickets("acme")[9], tickets[9]);
 * assert.ok(tickets.some((t) => t.jira_issue_key?.startsWith("MOB-")));
 * ```
 */
export function demoTickets(owner: string): DemoTicket[] {
  const org = demoOrg(owner);
  const count = owner === "acme" ? 420 : 180;
  const rand = mulberry32(hash(`support:${owner}`));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  const tickets: DemoTicket[] = [];
  for (let i = 0; i < count; i++) {
    const internal = rand() < 0.4;
    const requester = internal
      ? (({ name, email }) => ({ name, email }))(pick(org.people))
      : (() => {
        const name = pick(NAMES), company = pick(CUSTOMERS);
        return {
          name: `${name[0].toUpperCase()}${name.slice(1)} ${company}`,
          email: `${name}.${int(1, 40)}@${company}.example`,
        };
      })();
    const issue = rand() < 0.65 ? pick(org.issues) : null;
    const created = EPOCH - int(1, 240) * DAY + int(0, 86_399) * 1000;
    tickets.push({
      id: `SUP-${1001 + i}`,
      subject: pick(PROBLEMS),
      status: pick(STATUSES),
      priority: pick(PRIORITIES),
      requester,
      jira_issue_key: issue?.key ?? null,
      time_spent_minutes: int(0, 240),
      created_at: iso(created),
      updated_at: iso(created + int(0, 30) * DAY + int(0, 3_600) * 1000),
    });
  }
  return tickets;
}
