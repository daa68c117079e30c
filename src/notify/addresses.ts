/**
 * Which IP addresses OmniSQL may send notifications to: public unicast only. Refused: loopback,
 * private (RFC 1918), CGNAT (100.64/10), link-local, "this network", benchmarking, documentation,
 * multicast and reserved IPv4 ranges; and for IPv6 anything outside global unicast (2000::/3) —
 * so loopback, unspecified, ULA (fc00::/7), link-local, multicast and IPv4-mapped (::ffff:0:0/96)
 * addresses — plus NAT64, 6to4, Teredo and documentation prefixes, which can reach IPv4 ranges
 * indirectly.
 *
 * @module
 */

/** Refused IPv4 ranges as [first octets value, prefix length]. */
const V4_BLOCKED: [number, number][] = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
].map(([ip, bits]) => [v4ToInt(ip as string)!, bits as number]);

function v4ToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** The 8 16-bit groups of an IPv6 address, or undefined when it is not one. */
function v6Groups(ip: string): number[] | undefined {
  let text = ip.replace(/^\[|\]$/g, "").toLowerCase();
  if (text.includes("%")) return undefined; // zone ids: link-scoped
  const tail = /(\d{1,3}(\.\d{1,3}){3})$/.exec(text);
  if (tail) {
    const v4 = v4ToInt(tail[1]);
    if (v4 === undefined) return undefined;
    text = text.slice(0, -tail[1].length) +
      `${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string) => s === "" ? [] : s.split(":");
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => parseInt(g, 16));
}

/**
 * The IP version of a literal address, or 0 when it is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipVersion } from "./addresses.ts";
 * assert.deepEqual([ipVersion("1.2.3.4"), ipVersion("[::1]"), ipVersion("example.com")], [4, 6, 0]);
 * ```
 */
export function ipVersion(ip: string): 0 | 4 | 6 {
  if (v4ToInt(ip) !== undefined) return 4;
  return v6Groups(ip) ? 6 : 0;
}

/**
 * Whether an IP address literal is a public unicast address notifications may go to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPublicAddress } from "./addresses.ts";
 * assert.ok(isPublicAddress("93.184.215.14"));
 * assert.ok(!isPublicAddress("10.1.2.3") && !isPublicAddress("100.64.0.1"));
 * assert.ok(!isPublicAddress("::ffff:127.0.0.1") && !isPublicAddress("fd00::1"));
 * ```
 */
export function isPublicAddress(ip: string): boolean {
  const v4 = v4ToInt(ip);
  if (v4 !== undefined) {
    return !V4_BLOCKED.some(([net, bits]) => (v4 >>> (32 - bits)) === (net >>> (32 - bits)));
  }
  const g = v6Groups(ip);
  if (!g) return false;
  if ((g[0] & 0xe000) !== 0x2000) return false; // outside 2000::/3
  if (g[0] === 0x2001 && g[1] === 0x0db8) return false; // documentation
  if (g[0] === 0x2001 && g[1] === 0) return false; // Teredo
  if (g[0] === 0x2002) return false; // 6to4
  return true;
}
