/**
 * A tiny status-page API on localhost for the REST manifest example: `GET
 * /v1/pages/{page_id}/incidents` with every pagination style a manifest can name (offset/limit,
 * page/per_page, cursor, `Link` header), API-key (header or query) or bearer auth, filters, rate-limit
 * headers and injected faults.
 *
 * @module
 */
import { faultAnswer, FaultQueue, type SandboxFault, serveSandbox } from "../../sandbox/mod.ts";
import { sandboxHandle } from "../../sandbox/serve.ts";

/** An incident. */
export interface Incident {
  id: string;
  name: string;
  status: "investigating" | "identified" | "monitoring" | "resolved" | "postmortem";
  impact: "none" | "minor" | "major" | "critical";
  created_at: string;
  resolved_at: string | null;
  started_at: number;
  shortlink: string;
  components: { name: string }[];
}

/**
 * The page's incidents, deterministic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { statuspageIncidents } from "./statuspage_sandbox.ts";
 * assert.ok(statuspageIncidents().length === 57);
 * ```
 */
export function statuspageIncidents(): Incident[] {
  const statuses: Incident["status"][] = [
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "postmortem",
  ];
  const impacts: Incident["impact"][] = ["none", "minor", "major", "critical"];
  const components = ["API", "Web app", "Mobile push", "Search", "Billing"];
  const out: Incident[] = [];
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < 57; i++) {
    const created = t0 - i * 37 * 3_600_000 - (i % 7) * 60_000;
    const status = statuses[(i * 7) % statuses.length];
    out.push({
      id: `inc${String(1000 + i)}`,
      name: `${components[i % components.length]} ${i % 3 ? "degraded" : "outage"} #${i}`,
      status,
      impact: impacts[(i * 3) % impacts.length],
      created_at: new Date(created).toISOString(),
      resolved_at: status === "resolved" || status === "postmortem"
        ? new Date(created + 5_400_000).toISOString()
        : null,
      started_at: Math.floor(created / 1000) - 300,
      shortlink: `https://stspg.io/${(i * 7919).toString(36)}`,
      components: components.filter((_, n) => (i + n) % 3 === 0).map((name) => ({ name })),
    });
  }
  return out;
}

/** A fault the next requests get. */
export type StatuspageFault = SandboxFault;

/** A running sandbox. */
export interface StatuspageSandbox {
  url: string;
  requests: string[];
  inject(fault: StatuspageFault): void;
  reset(): void;
  close(): Promise<void>;
}

/**
 * Starts the sandbox.
 *
 * @example
 * ```ts ignore
 * const sp = await startStatuspageSandbox({ pageId: "p1", apiKey: "k" });
 * await sp.close();
 * ```
 */
export function startStatuspageSandbox(options: {
  pageId: string;
  apiKey: string;
  accessToken?: string;
  port?: number;
}): Promise<StatuspageSandbox> {
  const incidents = statuspageIncidents();
  const requests: string[] = [];
  const faults = new FaultQueue<StatuspageFault, Request>(() => true);
  let used = 0;
  const limit = 10_000;
  const rateHeaders = () => ({
    "content-type": "application/json",
    "x-ratelimit-limit": String(limit),
    "x-ratelimit-remaining": String(limit - used),
    "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
  });
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(typeof body === "string" ? body : JSON.stringify(body), {
      status,
      headers: {
        ...rateHeaders(),
        ...headers,
      },
    });

  const handler = async (req: Request): Promise<Response> => {
    const u = new URL(req.url);
    requests.push(u.pathname + u.search);
    const faulted = await faultAnswer(faults.take(req), {
      headers: rateHeaders(),
      errorBody: () => ({ error: "Injected fault" }),
    });
    if (faulted) return faulted;
    const key = req.headers.get("x-api-key") ?? u.searchParams.get("api_key");
    const bearer = req.headers.get("authorization");
    const authed = key === options.apiKey ||
      (options.accessToken !== undefined && bearer === `Bearer ${options.accessToken}`);
    if (!authed) return json(401, { error: "Could not authenticate" });
    used++;
    const m = u.pathname.match(/^\/v1\/pages\/([^/]+)\/incidents$/);
    if (!m || decodeURIComponent(m[1]) !== options.pageId) return json(404, { error: "Not found" });
    const q = u.searchParams;
    let list = incidents;
    const status = q.get("status");
    if (status) {
      const wanted = new Set(status.split(","));
      list = list.filter((i) => wanted.has(i.status));
    }
    const impact = q.get("impact");
    if (impact) list = list.filter((i) => i.impact === impact);
    const since = q.get("created_since");
    if (since) {
      const at = Date.parse(since);
      if (Number.isNaN(at)) return json(400, { error: "created_since must be a date" });
      list = list.filter((i) => Date.parse(i.created_at) >= at);
    }
    const size = Number(q.get("limit") ?? q.get("per_page") ?? 25);
    if (!Number.isInteger(size) || size < 1 || size > 100) {
      return json(400, { error: "limit must be between 1 and 100" });
    }
    let start = 0;
    if (q.has("offset")) start = Number(q.get("offset"));
    else if (q.has("page")) start = (Number(q.get("page")) - 1) * size;
    else if (q.has("cursor")) {
      const at = list.findIndex((i) => i.id === q.get("cursor"));
      if (at < 0) return json(400, { error: "bad cursor" });
      start = at + 1;
    }
    const slice = list.slice(start, start + size);
    const more = start + size < list.length;
    const headers: Record<string, string> = {};
    if (more) {
      const next = new URL(u);
      next.searchParams.delete("cursor");
      next.searchParams.delete("offset");
      next.searchParams.set("page", String(Math.floor(start / size) + 2));
      next.searchParams.set("per_page", String(size));
      next.searchParams.delete("limit");
      headers.link = `<${next}>; rel="next"`;
    }
    return json(200, {
      incidents: slice,
      meta: { next_cursor: more ? slice.at(-1)!.id : null, total: list.length },
    }, headers);
  };
  const server = serveSandbox(handler, { port: options.port });
  return Promise.resolve(
    sandboxHandle(server, requests, faults, () => {
      used = 0;
    }),
  );
}
