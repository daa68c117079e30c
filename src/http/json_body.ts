/**
 * Reading a JSON body safely: size-limited and never a 500 on malformed input.
 *
 * @module
 */
import type { Context } from "hono";
import { OmniError } from "../errors.ts";

/**
 * Reads and decodes a JSON request body of at most `maxBytes`.
 *
 * @example
 * ```ts ignore
 * const body = await readJsonBody(c, 1_000_000);
 * ```
 */
export async function readJsonBody(c: Context, maxBytes: number): Promise<unknown> {
  const declared = Number(c.req.header("content-length") ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  let text: string;
  try {
    const buf = await c.req.arrayBuffer();
    if (buf.byteLength > maxBytes) throw tooLarge(maxBytes);
    text = new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch (err) {
    if (err instanceof OmniError) throw err;
    throw new OmniError("INVALID_REQUEST", "the body is not valid UTF-8 text");
  }
  if (text.trim() === "") throw new OmniError("INVALID_REQUEST", "the body is empty; send JSON");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new OmniError("INVALID_REQUEST", `the body is not valid JSON: ${(err as Error).message}`);
  }
}

function tooLarge(maxBytes: number): OmniError {
  return new OmniError("INVALID_REQUEST", `the body exceeds ${maxBytes} bytes`, {
    details: { max_bytes: maxBytes },
  });
}
