import assert from "node:assert/strict";
import { OmniError } from "../errors.ts";
import { isPublicAddress } from "./addresses.ts";
import { NotifyTargets, type Resolver } from "./target.ts";

const reasonOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof OmniError);
    assert.equal(err.code, "INVALID_REQUEST");
    return err.details?.reason;
  }
  return "accepted";
};

Deno.test("isPublicAddress() refuses every private, reserved and tunnelled range", () => {
  const refused = [
    "0.0.0.0",
    "10.0.0.1",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:8.8.8.8",
    "64:ff9b::a00:1",
    "2001:db8::1",
    "2002:a00:1::1",
    "2001:0:4136:e378::1",
    "[::1]",
    "fe80::1%eth0",
    "1.2.3",
    "999.1.1.1",
  ];
  for (const ip of refused) assert.equal(isPublicAddress(ip), false, ip);
  for (const ip of ["8.8.8.8", "1.1.1.1", "100.128.0.1", "172.32.0.1", "2606:4700::1111"]) {
    assert.equal(isPublicAddress(ip), true, ip);
  }
});

Deno.test("check() resolves the name and refuses it when any answer is private (no rebinding via mixed answers)", async () => {
  const answers: Record<string, string[]> = {
    "public.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "mixed.example": ["93.184.215.14", "127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
    "cgnat.example": ["100.64.3.4"],
    "ula.example": ["fd00::7"],
  };
  const resolve: Resolver = (host) => Promise.resolve(answers[host] ?? []);
  const targets = new NotifyTargets({ resolve });
  const ok = await targets.check("https://public.example/hook?x=1");
  assert.equal(ok.connectTo, "93.184.215.14", "pinned to the approved address");
  assert.equal(ok.port, 443);
  assert.equal(await reasonOf(targets.check("https://mixed.example/h")), "private_address");
  assert.equal(await reasonOf(targets.check("https://metadata.example/h")), "private_address");
  assert.equal(await reasonOf(targets.check("https://cgnat.example/h")), "private_address");
  assert.equal(await reasonOf(targets.check("https://ula.example/h")), "private_address");
  assert.equal(await reasonOf(targets.check("https://nowhere.example/h")), "unresolvable");
  assert.equal(await reasonOf(targets.check("https://127.0.0.1/h")), "private_address");
  assert.equal(await reasonOf(targets.check("https://[::ffff:7f00:1]/h")), "private_address");
  assert.equal(await reasonOf(targets.check("http://public.example/h")), "not_https");
  assert.equal(await reasonOf(targets.check("ftp://public.example/h")), "not_https");
  assert.equal(await reasonOf(targets.check("https://u:p@public.example/h")), "credentials_in_url");
  assert.equal(
    await reasonOf(targets.check(`https://public.example/${"a".repeat(3000)}`)),
    "bad_url",
  );
});

Deno.test("check() lets an allow-listed host through over http or to a private address, and only that host", async () => {
  const targets = new NotifyTargets({
    allowHosts: ["127.0.0.1", "hooks.internal:8443"],
    resolve: () => Promise.resolve(["10.0.0.9"]),
  });
  assert.equal((await targets.check("http://127.0.0.1:9999/x")).connectTo, "127.0.0.1");
  // Still pinned to the address it resolved to, though any address is allowed.
  assert.equal((await targets.check("https://hooks.internal:8443/x")).connectTo, "10.0.0.9");
  assert.equal(await reasonOf(targets.check("https://hooks.internal/x")), "private_address");
  assert.equal(await reasonOf(targets.check("http://localhost:9999/x")), "not_https");
});
