import assert from "node:assert/strict";
import { ConnectionSlots } from "./slots.ts";

Deno.test("connections that never sign in cannot lock the door", () => {
  const slots = new ConnectionSlots({ total: 3, perTenant: 3, perUser: 3 });
  const closed: number[] = [];
  const silent = [0, 1, 2].map((i) => slots.connect(() => closed.push(i))!);
  // Full: each newcomer closes the oldest connection still signing in.
  const user = slots.connect(() => closed.push(3))!;
  assert.deepEqual(closed, [0]);
  assert.equal(user.signIn("acme", "dev@acme"), undefined);
  slots.connect(() => closed.push(4));
  assert.deepEqual(closed, [0, 1]);
  assert.equal(slots.open, 3);
  // Releasing an evicted slot again (its socket's close) changes nothing.
  silent[0].release();
  assert.equal(slots.open, 3);
});

Deno.test("a flood of connections from one address closes its own, not another's", () => {
  const slots = new ConnectionSlots({ total: 4, perTenant: 4, perUser: 4 });
  const closed: string[] = [];
  // A client from another address, slow to send its password.
  const slow = slots.connect(() => closed.push("slow"), "10.0.0.2")!;
  for (let i = 0; i < 50; i++) slots.connect(() => closed.push(`flood ${i}`), "10.0.0.66");
  assert.ok(!closed.includes("slow"));
  assert.equal(closed.length, 47);
  assert.equal(slow.signIn("acme", "dev@acme"), undefined);
  // Two addresses with one each: the older goes first.
  const fair = new ConnectionSlots({ total: 2, perTenant: 2, perUser: 2 });
  const order: string[] = [];
  fair.connect(() => order.push("a"), "10.0.0.1");
  fair.connect(() => order.push("b"), "10.0.0.2");
  fair.connect(() => order.push("c"), "10.0.0.3");
  assert.deepEqual(order, ["a"]);
});

Deno.test("signed-in sessions keep their slots: a full door refuses newcomers", () => {
  const slots = new ConnectionSlots({ total: 2, perTenant: 2, perUser: 2 });
  const closed: string[] = [];
  const a = slots.connect(() => closed.push("a"))!;
  const b = slots.connect(() => closed.push("b"))!;
  assert.equal(a.signIn("acme", "dev@acme"), undefined);
  assert.equal(b.signIn("globex", "dev@globex"), undefined);
  assert.equal(slots.connect(() => closed.push("c")), undefined);
  assert.equal(closed.length, 0);
  b.release();
  assert.ok(slots.connect(() => closed.push("d")));
});

Deno.test("a tenant and a user hold at most their share of signed-in sessions", () => {
  const slots = new ConnectionSlots({ total: 10, perTenant: 3, perUser: 2 });
  const signIn = (tenant: string, user: string) => slots.connect(() => {})!.signIn(tenant, user);
  assert.equal(signIn("acme", "dev@acme"), undefined);
  assert.equal(signIn("acme", "DEV@acme"), undefined);
  assert.equal(signIn("acme", "dev@acme"), 'too many connections for role "dev@acme"');
  assert.equal(signIn("acme", "qa@acme"), undefined);
  assert.equal(signIn("acme", "ops@acme"), 'too many connections for tenant "acme"');
  // Another tenant's users are untouched by acme's share.
  assert.equal(signIn("globex", "dev@globex"), undefined);
});

Deno.test("a released session frees its tenant's and its user's share", () => {
  const slots = new ConnectionSlots({ total: 10, perTenant: 1, perUser: 1 });
  const first = slots.connect(() => {})!;
  assert.equal(first.signIn("acme", "dev@acme"), undefined);
  const refused = slots.connect(() => {})!;
  assert.match(refused.signIn("acme", "dev@acme")!, /too many connections/);
  refused.release();
  first.release();
  assert.equal(slots.open, 0);
  assert.equal(slots.connect(() => {})!.signIn("acme", "dev@acme"), undefined);
});
