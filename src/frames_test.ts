import assert from "node:assert/strict";
import { encodeFrame, FrameReader, SyncFrameReader, type SyncReader } from "./frames.ts";

Deno.test("a small frame read from a large chunk does not pin the chunk", async () => {
  // As a child's stdout delivers it: a few bytes in a view of a 64 KiB read buffer.
  const frame = encodeFrame({ id: 1 }, [new Uint8Array([1, 2, 3])]);
  const chunk = new Uint8Array(64 * 1024);
  chunk.set(frame);
  const reader = new FrameReader<{ id: number }>(
    ReadableStream.from([chunk.subarray(0, frame.length)]),
  );
  const read = await reader.next();
  assert.deepEqual(read?.header, { id: 1 });
  assert.deepEqual([...read!.blobs[0]], [1, 2, 3]);
  assert.equal(read!.blobs[0].buffer.byteLength, 3);
});

Deno.test("a large blob split over many reads arrives whole", async () => {
  const blob = Uint8Array.from({ length: 200_000 }, (_, i) => i % 251);
  const frame = encodeFrame("big", [blob]);
  const parts = Array.from(
    { length: Math.ceil(frame.length / 65_536) },
    (_, i) => frame.subarray(i * 65_536, (i + 1) * 65_536),
  );
  const read = await new FrameReader<string>(ReadableStream.from(parts)).next();
  assert.equal(read?.header, "big");
  assert.deepEqual(read!.blobs[0], blob);
});

/** A source giving `bytes` at most `step` at a time, as a pipe may. */
function trickle(bytes: Uint8Array, step: number): SyncReader {
  let at = 0;
  return {
    readSync(into) {
      if (at === bytes.byteLength) return null;
      const n = Math.min(into.byteLength, step, bytes.byteLength - at);
      into.set(bytes.subarray(at, at + n));
      at += n;
      return n;
    },
  };
}

Deno.test("a synchronous reader takes frames back to back, whatever the chunking", () => {
  const blob = Uint8Array.from({ length: 100_000 }, (_, i) => i % 251);
  const bytes = new Uint8Array([
    ...encodeFrame({ n: 1 }, [blob, new Uint8Array()]),
    ...encodeFrame({ n: 2 }),
  ]);
  const reader = new SyncFrameReader<{ n: number }>(trickle(bytes, 4_093));
  const first = reader.next();
  assert.deepEqual(first?.header, { n: 1 });
  assert.deepEqual(first!.blobs, [blob, new Uint8Array()]);
  assert.deepEqual(reader.next(), { header: { n: 2 }, blobs: [] });
  assert.equal(reader.next(), undefined);
});

Deno.test("a synchronous reader refuses a frame cut short", () => {
  const bytes = encodeFrame({ n: 1 }, [new Uint8Array(10)]);
  const reader = new SyncFrameReader(trickle(bytes.subarray(0, bytes.byteLength - 1), 64));
  assert.throws(() => reader.next(), /ended inside a frame/);
});
