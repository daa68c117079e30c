/**
 * The frames a parent and its child process exchange over the child's stdin and stdout: an
 * engine process and its pool, a catalog view's process and the Postgres door. A frame is a small
 * JSON header (SQL, table shapes, timings, errors: never row data) followed by binary blobs
 * (Arrow IPC streams, protocol messages) whose lengths the header lists:
 *
 * `u32 LE header length | header JSON | blob 1 | blob 2 | …`
 *
 * @module
 */
import { concatBytes } from "./bytes.ts";

/** A decoded frame: its header and its blobs, in order. */
export interface Frame<H> {
  header: H;
  blobs: Uint8Array[];
}

interface Envelope<H> {
  h: H;
  /** Byte length of each blob that follows the header. */
  b: number[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes a frame into one buffer, so it leaves in a single write.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame, FrameReader } from "./frames.ts";
 * const bytes = encodeFrame({ sql: "SELECT 1" }, [new Uint8Array([1, 2, 3])]);
 * const stream = ReadableStream.from([bytes.subarray(0, 5), bytes.subarray(5)]);
 * const frame = await new FrameReader<{ sql: string }>(stream).next();
 * assert.deepEqual(frame?.header.sql, "SELECT 1");
 * assert.deepEqual([...frame!.blobs[0]], [1, 2, 3]);
 * ```
 */
export function encodeFrame<H>(header: H, blobs: readonly Uint8Array[] = []): Uint8Array {
  const json = encoder.encode(JSON.stringify({ h: header, b: blobs.map((b) => b.byteLength) }));
  let total = 4 + json.byteLength;
  for (const blob of blobs) total += blob.byteLength;
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 4);
  let at = 4 + json.byteLength;
  for (const blob of blobs) {
    out.set(blob, at);
    at += blob.byteLength;
  }
  return out;
}

/**
 * Reads whole frames from a byte stream, whatever the chunking.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame, FrameReader } from "./frames.ts";
 * const reader = new FrameReader<number>(ReadableStream.from([encodeFrame(7)]));
 * assert.deepEqual((await reader.next())?.header, 7);
 * assert.deepEqual(await reader.next(), undefined); // the stream ended
 * ```
 */
export class FrameReader<H> {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer: Uint8Array = new Uint8Array(0);

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** The next frame, or `undefined` when the stream ended cleanly between frames. */
  async next(): Promise<Frame<H> | undefined> {
    const head = await this.#take(4, true);
    if (!head) return undefined;
    const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
    const envelope = JSON.parse(decoder.decode(await this.#take(length))) as Envelope<H>;
    const blobs: Uint8Array[] = [];
    for (const size of envelope.b) blobs.push((await this.#take(size))!);
    return { header: envelope.h, blobs };
  }

  /** Releases the stream (pending reads end). */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }

  async #take(n: number, endOk = false): Promise<Uint8Array | undefined> {
    // Chunks are gathered first and joined once: a large blob arrives in many small reads.
    const chunks: Uint8Array[] = this.#buffer.byteLength > 0 ? [this.#buffer] : [];
    let have = this.#buffer.byteLength;
    while (have < n) {
      const { value, done } = await this.#reader.read();
      if (done) {
        if (endOk && have === 0) return undefined;
        throw new Error("the stream ended inside a frame");
      }
      chunks.push(value);
      have += value.byteLength;
    }
    const joined = chunks.length === 1 ? chunks[0] : concatBytes(chunks);
    this.#buffer = joined.subarray(n);
    const taken = joined.subarray(0, n);
    // A chunk is a view of a 64 KiB read buffer: a small frame kept (a reply waiting to be sent)
    // would pin all of it, so it is copied out.
    return taken.buffer.byteLength > 2 * n + 4096 ? taken.slice() : taken;
  }
}

/** A synchronous byte source: `Deno.stdin`, or a test's own. */
export interface SyncReader {
  /** Reads into `into`; the count read, or `null` at the end. */
  readSync(into: Uint8Array): number | null;
}

/**
 * Reads whole frames from a synchronous source, blocking the thread until each has arrived: for
 * a process that has nothing else to do meanwhile (an engine). A blocked read wakes straight into
 * the frame, without the event loop and promise turns of a stream (about half a millisecond of a
 * round trip after a quiet spell, measured on this machine).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame, SyncFrameReader } from "./frames.ts";
 * const bytes = encodeFrame({ sql: "SELECT 1" }, [new Uint8Array([1, 2])]);
 * let at = 0;
 * const reader = new SyncFrameReader<{ sql: string }>({
 *   readSync(into) {
 *     if (at === bytes.byteLength) return null;
 *     const n = Math.min(into.byteLength, 3, bytes.byteLength - at); // a pipe gives what it has
 *     into.set(bytes.subarray(at, at + n));
 *     at += n;
 *     return n;
 *   },
 * });
 * const frame = reader.next();
 * assert.deepEqual(frame?.header, { sql: "SELECT 1" });
 * assert.deepEqual(frame?.blobs, [new Uint8Array([1, 2])]);
 * assert.deepEqual(reader.next(), undefined); // the source ended
 * ```
 */
export class SyncFrameReader<H> {
  readonly #source: SyncReader;

  constructor(source: SyncReader) {
    this.#source = source;
  }

  /**
   * The next frame, or `undefined` when the source ended cleanly between frames. Each part is
   * read straight into a buffer of its own size.
   */
  next(): Frame<H> | undefined {
    const head = this.#take(4, true);
    if (!head) return undefined;
    const length = new DataView(head.buffer).getUint32(0, true);
    const envelope = JSON.parse(decoder.decode(this.#take(length))) as Envelope<H>;
    return { header: envelope.h, blobs: envelope.b.map((size) => this.#take(size)!) };
  }

  #take(n: number, endOk = false): Uint8Array | undefined {
    const out = new Uint8Array(n);
    for (let have = 0; have < n;) {
      const read = this.#source.readSync(out.subarray(have));
      if (read === null) {
        if (endOk && have === 0) return undefined;
        throw new Error("the stream ended inside a frame");
      }
      have += read;
    }
    return out;
  }
}

const CONFIG = new URL("../deno.json", import.meta.url);

/** A child process speaking frames: what it is sent goes to `input`, what it says to `output`. */
export interface FramedChild<Out> {
  process: Deno.ChildProcess;
  input: WritableStreamDefaultWriter<Uint8Array>;
  output: FrameReader<Out>;
}

/**
 * Starts `entry`, a module of this repository, in a Deno process of its own that may read files
 * and the environment (and no more, bar `flags`), in an environment of only `env`; its stderr is
 * this process's.
 *
 * @example
 * ```ts ignore
 * // Not run: it starts a process.
 * const engine = spawnFramed<{ type: string }>(new URL("./engine.ts", import.meta.url));
 * await engine.input.write(encodeFrame(request));
 * const reply = await engine.output.next();
 * ```
 */
export function spawnFramed<Out>(
  entry: URL,
  options: { flags?: string[]; env?: Record<string, string> } = {},
): FramedChild<Out> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      `--config=${CONFIG.pathname}`,
      "--allow-read",
      "--allow-env",
      ...options.flags ?? [],
      entry.pathname,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1", ...options.env },
    clearEnv: true,
  }).spawn();
  return {
    process,
    input: process.stdin.getWriter(),
    output: new FrameReader<Out>(process.stdout),
  };
}
