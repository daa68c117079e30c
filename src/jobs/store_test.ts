import assert from "node:assert/strict";
import { withCatalogs } from "../catalog/testing.ts";
import type { UserClaims } from "../auth/user_token.ts";
import type { QueryRequest } from "../query/request.ts";
import { type ClaimedJob, type JobShares, JobStore } from "./store.ts";

// The shares a runner of concurrency 2 claims with (two engines, as in the review).
const SHARES: JobShares = { tenant: 1, user: 1 };
const LEASE_MS = 60_000;

const user = (sub: string, tenant: string): UserClaims => ({ sub, tenant, role: "analyst" });
const request = (sql: string): QueryRequest => ({ sql, metadata: {} }) as QueryRequest;

async function backlog(store: JobStore, who: UserClaims, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(
      await store.enqueue({
        zone: "us",
        tenantId: who.tenant,
        user: who,
        request: request(`SELECT ${i}`),
        traceId: `t-${who.sub}-${i}`,
      }),
    );
  }
  return ids;
}

async function claimed(store: JobStore, runner: string): Promise<ClaimedJob> {
  const job = await store.claim("us", runner, LEASE_MS, SHARES);
  assert.ok(job, "a job is claimed");
  return job;
}

withCatalogs("a user's backlog delays another user's job by one job's run", async ({ catalog }) => {
  const store = new JobStore(catalog);
  const dev = user("dev@acme", "acme");
  const runaway = await backlog(store, dev, 6);
  // Alone in the queue, the backlog gets every free slot.
  const first = await claimed(store, "runner-a");
  const second = await claimed(store, "runner-a");
  assert.deepEqual([first.id, second.id], runaway.slice(0, 2));

  const [trivial] = await backlog(store, user("webdev@acme", "acme"), 1);
  await store.succeed(first, "runner-a", { result: { rows: [] }, entitlements: "open" });
  const next = await claimed(store, "runner-a");
  assert.equal(next.id, trivial, "the other user's job is claimed next, not the backlog's third");
  assert.equal(next.user.sub, "webdev@acme");

  // With the other user served, the backlog resumes in order.
  await store.succeed(second, "runner-a", { result: { rows: [] }, entitlements: "open" });
  assert.equal((await claimed(store, "runner-a")).id, runaway[2]);
});

withCatalogs("a tenant's backlog does not hold back another tenant's job", async ({ catalog }) => {
  const store = new JobStore(catalog);
  const acme = [user("dev@acme", "acme"), user("webdev@acme", "acme")];
  await backlog(store, acme[0], 3);
  await claimed(store, "runner-a");
  await backlog(store, acme[1], 3);
  const [other] = await backlog(store, user("dev@globex", "globex"), 1);
  // acme holds its share (one running job): globex's job, though queued last, goes first.
  const next = await claimed(store, "runner-b");
  assert.equal(next.id, other);
  assert.equal(next.tenantId, "globex");
  // Then, while dev@acme still runs one, webdev@acme before dev@acme's older backlog.
  await store.succeed(next, "runner-b", { result: { rows: [] }, entitlements: "open" });
  assert.equal((await claimed(store, "runner-a")).user.sub, "webdev@acme");
});

withCatalogs(
  "a dead runner's job is taken over once, despite its user's share",
  async ({ catalog }) => {
    const store = new JobStore(catalog);
    const dev = user("dev@acme", "acme");
    const [held] = await backlog(store, dev, 1);
    assert.equal((await store.claim("us", "dead", 100, SHARES))?.id, held);
    await backlog(store, user("webdev@acme", "acme"), 1);
    await new Promise((r) => setTimeout(r, 300));
    // The expired lease no longer counts as acme's running job; the oldest eligible is the dead
    // runner's, taken over exactly once.
    const taken = await claimed(store, "runner-b");
    assert.equal(taken.id, held);
    assert.equal(taken.attempts, 2);
    const rest = await claimed(store, "runner-c");
    assert.notEqual(rest.id, held);
    assert.equal(await store.claim("us", "runner-d", LEASE_MS, SHARES), undefined);
  },
);
