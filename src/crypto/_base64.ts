// Base64 helpers shared by the crypto module (private). Node's Buffer codec is native: encrypted
// cache entries of thousands of rows are encoded on every write, so this is a hot path.
import { Buffer } from "node:buffer";

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toBytes(buffer: Buffer): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(buffer.byteLength);
  out.set(buffer);
  return out;
}

/** Standard base64 of bytes. */
export function toBase64(bytes: Uint8Array): string {
  return bufferOf(bytes).toString("base64");
}

/** Bytes of a standard base64 string; throws on invalid input. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  if (!BASE64.test(text)) throw new TypeError("invalid base64");
  return toBytes(Buffer.from(text, "base64"));
}

/** Unpadded base64url of bytes (safe in tokens, URLs and file names). */
export function toBase64Url(bytes: Uint8Array): string {
  return bufferOf(bytes).toString("base64url");
}

/** Bytes of an unpadded base64url string; throws on invalid input. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!BASE64URL.test(text) || text.length % 4 === 1) throw new TypeError("invalid base64url");
  return toBytes(Buffer.from(text, "base64url"));
}
