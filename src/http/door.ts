/**
 * Which door a query came in by — `http` (`POST /v1/query`), `pg` (the Postgres wire protocol) or
 * `mcp` (the MCP endpoint) — for its audit record. The Postgres and MCP doors call the app
 * in-process with a request built by {@link doorRequest}; the door is remembered for that very
 * `Request` object, so no header or body field a client sends can claim another door.
 *
 * @module
 */
import type { Door } from "../pipeline/context.ts";

export type { Door };

const doors = new WeakMap<Request, Door>();

/**
 * Builds a request to the app, marked as coming in by `door`; only code in this process can.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { doorOf, doorRequest } from "./door.ts";
 * const req = doorRequest("pg", "http://omnisql.internal/v1/query", { method: "POST" });
 * assert.equal(doorOf(req), "pg");
 * assert.equal(doorOf(new Request(req)), "http");
 * ```
 */
export function doorRequest(door: Door, url: string, init?: RequestInit): Request {
  const request = new Request(url, init);
  doors.set(request, door);
  return request;
}

/**
 * The door of a request: what {@link doorRequest} recorded, else `http`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { doorOf } from "./door.ts";
 * assert.equal(doorOf(new Request("http://x/v1/query", { headers: { "x-door": "pg" } })), "http");
 * ```
 */
export function doorOf(request: Request): Door {
  return doors.get(request) ?? "http";
}
