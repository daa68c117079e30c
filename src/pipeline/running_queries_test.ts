/**
 * A cancel that reaches an instance of the zone other than the one running the query (behind one
 * load-balanced address): two instances, each with its own notice listener on real Redis through
 * the REST bridge, as separate processes would have.
 */
import assert from "node:assert/strict";
import { startRedisHttp } from "../../bridge/redis_http.ts";
import { connectNotices, UpstashNotices } from "../cache/notices.ts";
import { upstashClient } from "../cache/upstash_store.ts";
import { RunningQueries } from "./running_queries.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
/** This file's port (28470, of 28400–28499): the bridge in front of the machine's Redis. */
const BRIDGE_PORT = 28470;

const dev = { sub: "dev@acme.com", tenant: "acme" };

async function twoInstances() {
  const bridge = await startRedisHttp({ token: "running-test", port: BRIDGE_PORT });
  const key = `running-test-${crypto.randomUUID()}:notices`;
  const buses = [0, 1].map(() => new UpstashNotices(upstashClient(bridge), { key, pollMs: 50 }));
  const [a, b] = buses.map((notices) => new RunningQueries({ notices }));
  await Promise.all(buses.map((bus) => bus.ready()));
  return {
    a,
    b,
    buses,
    key,
    redis: upstashClient(bridge),
    async close() {
      for (const bus of buses) bus.close();
      await upstashClient(bridge).del(key);
      await bridge.close();
    },
  };
}

/** Runs `fn` on {@link twoInstances}, closed whatever `fn` does. */
async function withTwoInstances(
  fn: (zone: Awaited<ReturnType<typeof twoInstances>>) => Promise<void>,
): Promise<void> {
  const zone = await twoInstances();
  try {
    await fn(zone);
  } finally {
    await zone.close();
  }
}

function abortedWithin(signal: AbortSignal, ms: number): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

Deno.test(
  "a cancel that reaches another instance stops the query where it runs",
  opts,
  () =>
    withTwoInstances(async (zone) => {
      const query = zone.a.start(dev, "trace-1");
      // Instance b runs nothing of it: it says so, and tells the zone's other instances.
      assert.equal(await zone.b.cancel(dev, "trace-1"), 0);
      assert.equal(await abortedWithin(query.signal, 3_000), true);
      assert.equal((query.signal.reason as { code?: string }).code, "INVALID_REQUEST");
      query.done();
    }),
);

Deno.test(
  "a cancel passed on stops only that caller's query of that trace id",
  opts,
  () =>
    withTwoInstances(async (zone) => {
      const mine = zone.a.start(dev, "trace-2");
      const colleagues = zone.a.start({ ...dev, sub: "qa@acme.com" }, "trace-2");
      const otherTenant = zone.a.start({ ...dev, tenant: "globex" }, "trace-2");
      const otherTrace = zone.a.start(dev, "trace-3");
      await zone.b.cancel(dev, "trace-2");
      assert.equal(await abortedWithin(mine.signal, 3_000), true);
      // Given the time the first one took, and as long again.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(
        [colleagues, otherTenant, otherTrace].map((q) => q.signal.aborted),
        [false, false, false],
      );
    }),
);

Deno.test(
  "a cancel on the shared store names neither the caller nor the trace id",
  opts,
  () =>
    withTwoInstances(async (zone) => {
      await zone.b.cancel(dev, "trace-secret-4");
      const stored = JSON.stringify(await zone.redis.xrange(zone.key, "-", "+"));
      assert.match(stored, /cancelled/);
      assert.doesNotMatch(stored, /dev@acme\.com|trace-secret-4/);
    }),
);

Deno.test(
  "a cancel notice leaves the instances' memos alone",
  opts,
  () =>
    withTwoInstances(async (zone) => {
      const forgotten: string[] = [];
      const disconnect = connectNotices(zone.buses[0], {
        keyRing: {
          forget: (tenant?: string) => void forgotten.push(`key ${tenant}`),
          onChange: () => () => {},
        } as never,
        forgetReads: () => void forgotten.push("reads"),
        onTenantLifecycle: () => () => {},
      });
      await zone.b.cancel(dev, "trace-5");
      await new Promise((resolve) => setTimeout(resolve, 500));
      disconnect();
      assert.deepEqual(forgotten, []);
    }),
);
