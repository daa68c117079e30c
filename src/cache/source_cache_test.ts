import assert from "node:assert/strict";
import { github } from "../../connectors/github/mod.ts";
import { acmeConnection, demoSandbox } from "../../connectors/github/_testing.ts";
import { findTable, type ScanOffer } from "../../connectors/sdk/mod.ts";
import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
import type { SourcePlan } from "../sql/plan.ts";
import { composeSourceFetch, type SourceFetchContext } from "../query/source_fetch.ts";
import type { QueryMetadata } from "../query/request.ts";
import { MemoryKvStore } from "./memory_store.ts";
import { sourceCache } from "./source_cache.ts";
import { TenantCache } from "./tenant_cache.ts";

const table = findTable(github, "pull_requests");

function cachedFetcher() {
  const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
  const cache = new TenantCache({ store: new MemoryKvStore(), keyRing, zone: "us" });
  return composeSourceFetch([
    sourceCache({ cache, settings: () => Promise.resolve(undefined) }),
  ]);
}

function source(baseUrl: string, offer: ScanOffer): SourcePlan {
  const connection = acmeConnection(baseUrl);
  return {
    key: "github.pull_requests",
    schema: "github",
    connection,
    connector: github,
    table,
    offer,
    plan: table.plan(offer, connection),
  };
}

function context(metadata: QueryMetadata): SourceFetchContext {
  return {
    tenantId: "acme",
    user: { sub: "dev@acme.test", tenant: "acme" },
    traceId: "t",
    zone: "us",
    metadata,
    signal: new AbortController().signal,
  };
}

Deno.test("sourceCache: validators stored by one column set revalidate another's fetch", async () => {
  const gh = await demoSandbox();
  try {
    const fetcher = cachedFetcher();
    const narrow = source(gh.url, { predicates: [], columns: ["pr_id"] });
    const wide = source(gh.url, { predicates: [], columns: ["pr_id", "title", "author"] });
    const first = await fetcher(narrow, context({ max_staleness_ms: 0 }));
    assert.ok(first.calls > 0);
    assert.equal(first.revalidated ?? 0, 0);
    const requests = gh.requests.length;
    const second = await fetcher(wide, context({ max_staleness_ms: 0 }));
    assert.equal(second.fromCache, false);
    assert.equal(second.calls, 0, "the other column set paid full price");
    assert.equal(second.revalidated, first.calls);
    assert.equal(second.rows.length, first.rows.length);
    assert.equal(gh.requests.length - requests, first.calls, "every URL was asked again, once");
  } finally {
    await gh.close();
  }
});
