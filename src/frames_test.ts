import assert from "node:assert/strict";
import { encodeFrame, FrameReader } from "./frames.ts";

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
