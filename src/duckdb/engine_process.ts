/**
 * The engine process: one DuckDB-WASM instance in an OS process of its own, serving one query at
 * a time over its stdin and stdout (frames of `../frames.ts`). An engine pool (`pool.ts`) starts it
 * and may kill it at any moment (deadline, memory cap): nothing here is ever waited for by
 * anyone but the query it runs.
 *
 * Frames in: a query's `load`s (some of its tables, while its other sources are still fetched)
 * and `warm`s (while it waits for them), then its `query`, or a `drop` of what was loaded.
 *
 * Frames out, in order: `ready` once; `loaded` for each load and `warmed` for each warm; then per
 * query its `result` (or `error`), then `idle` once the query's database (its tables) is detached;
 * a failed load and a drop are followed by `idle` alike. When the database cannot be proven gone
 * the process exits instead of saying `idle`, and the pool replaces it.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import {
  DuckInstance,
  type InstanceLoad,
  type InstanceQuery,
  type InstanceWarm,
} from "./_instance.ts";
import { encodeFrame, SyncFrameReader } from "../frames.ts";

/** A frame an engine process reads. */
export type EngineRequest =
  | ({ type: "load" } & InstanceLoad)
  | ({ type: "query" } & InstanceQuery)
  | ({ type: "warm" } & InstanceWarm)
  | { type: "drop" };

/** A frame an engine process sends. */
export type EngineReply =
  | { type: "ready" }
  | { type: "loaded"; ingest_ms: number }
  | { type: "warmed" }
  | { type: "result"; ingest_ms: number; query_ms: number }
  | { type: "error"; code: string; message: string; details?: Record<string, unknown> }
  | { type: "idle" };

/** The environment variable carrying an engine's DuckDB `memory_limit`, in MiB. */
export const MEMORY_LIMIT_ENV = "OMNISQL_ENGINE_MEMORY_MB";

/**
 * The wasm heap an engine may grow to for a DuckDB `memory_limit`: room for what DuckDB
 * allocates outside its buffer manager (expression results, the result's Arrow copy).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heapLimitMb } from "./engine_process.ts";
 * assert.deepEqual(heapLimitMb(512), 704);
 * ```
 */
export function heapLimitMb(memoryLimitMb: number): number {
  return Math.ceil(memoryLimitMb * 1.25 + 64);
}

async function serve(): Promise<void> {
  const memoryLimitMb = Number(Deno.env.get(MEMORY_LIMIT_ENV) ?? 512);
  const instance = await DuckInstance.open({
    memoryLimitMb,
    heapLimitMb: heapLimitMb(memoryLimitMb),
  });
  // Blocking reads and writes: the process has nothing else to do between queries, and a thread
  // blocked in `read` wakes straight into the next query (see `SyncFrameReader`).
  const send = (reply: EngineReply, blobs: Uint8Array[] = []) => {
    const bytes = encodeFrame(reply, blobs);
    let written = 0;
    while (written < bytes.byteLength) written += Deno.stdout.writeSync(bytes.subarray(written));
  };
  send({ type: "ready" });
  const requests = new SyncFrameReader<EngineRequest>(Deno.stdin);
  for (;;) {
    const frame = requests.next();
    if (!frame) return; // the pool closed our stdin: leave quietly
    const request = frame.header;
    if (request.type === "warm") {
      try {
        instance.warm(request, frame.blobs[0]);
      } catch {
        // A warm-up changes nothing the query relies on: its own frames say what fails.
      }
      send({ type: "warmed" });
      continue;
    }
    try {
      if (request.type === "load") {
        send({ type: "loaded", ...instance.load(request, frame.blobs) });
        continue;
      }
      if (request.type === "query") {
        const result = instance.run(request, frame.blobs);
        send({ type: "result", ingest_ms: result.ingest_ms, query_ms: result.query_ms }, [
          result.ipc,
        ]);
      }
    } catch (err) {
      const known = err instanceof OmniError
        ? err
        : new OmniError("INTERNAL", "the engine failed", { cause: err });
      send({
        type: "error",
        code: known.code,
        message: known.message,
        ...(known.details ? { details: known.details } : {}),
      });
    }
    if (!instance.cleanUp()) Deno.exit(3);
    send({ type: "idle" });
  }
}

if (import.meta.main) await serve();
