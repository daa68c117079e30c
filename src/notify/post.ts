/**
 * One HTTP/1.1 POST to a pinned address: the TCP connection goes to the address the target check
 * approved, and TLS verifies the certificate against the URL's host name (SNI included), so the
 * name cannot be re-resolved elsewhere between check and send. Redirects are not followed; only
 * the status line of the answer is read.
 *
 * @module
 */
import type { NotifyTarget } from "./target.ts";

const encoder = new TextEncoder();

/**
 * Posts `body` and returns the answer's HTTP status.
 *
 * @example
 * ```ts ignore
 * const status = await postPinned(await targets.check(url), body, headers, AbortSignal.timeout(10_000));
 * ```
 */
export async function postPinned(
  target: NotifyTarget,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  caCerts?: string[],
): Promise<number> {
  const { url } = target;
  const tcp = await Deno.connect({ hostname: target.connectTo, port: target.port });
  let conn: Deno.Conn = tcp;
  const abort = () => conn.close();
  signal.addEventListener("abort", abort, { once: true });
  try {
    if (url.protocol === "https:") {
      conn = await Deno.startTls(tcp, { hostname: url.hostname, caCerts });
    }
    const payload = encoder.encode(body);
    const head = [
      `POST ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      "Connection: close",
      "User-Agent: OmniSQL-Notifier",
      `Content-Length: ${payload.byteLength}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      "",
      "",
    ].join("\r\n");
    await writeAll(conn, encoder.encode(head));
    await writeAll(conn, payload);
    return await readStatus(conn);
  } finally {
    signal.removeEventListener("abort", abort);
    try {
      conn.close();
    } catch {
      // already closed (aborted)
    }
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}

async function readStatus(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(1024);
  let text = "";
  while (!text.includes("\r\n") && text.length < 4096) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (!m) throw new Error("the receiver did not answer HTTP");
  return Number(m[1]);
}
