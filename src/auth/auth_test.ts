import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { jwtVerify, SignJWT } from "jose";
import { ContextTokens, createUserVerifier, DevIssuer } from "./mod.ts";
import { OmniError } from "../errors.ts";

const ISS = "https://dev-issuer.test";

async function setup() {
  const issuer = await DevIssuer.fromSecret("test-secret", ISS, "omnisql");
  const verify = createUserVerifier({
    issuer: ISS,
    audience: "omnisql",
    keys: { jwks: issuer.jwks() },
  });
  return { issuer, verify };
}

async function rejects(p: Promise<unknown>, code: string, pattern: RegExp) {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof OmniError, `expected OmniError, got ${err}`);
  assert.equal(err.code, code);
  assert.match(err.message, pattern);
}

Deno.test("dev issuer derives the same key from the same secret, so another process's tokens verify", async () => {
  const a = await DevIssuer.fromSecret("test-secret", ISS, "omnisql");
  const { verify } = await setup();
  const claims = await verify(await a.mint({ sub: "dev@acme", tenant: "acme", role: "developer" }));
  assert.equal(claims.sub, "dev@acme");
  assert.equal(claims.tenant, "acme");
  assert.equal(claims.role, "developer");
});

Deno.test("a token from an issuer with another secret is refused", async () => {
  const { verify } = await setup();
  const other = await DevIssuer.fromSecret("other-secret", ISS, "omnisql");
  await rejects(
    verify(await other.mint({ sub: "x", tenant: "acme" })),
    "UNAUTHENTICATED",
    /key|signature/,
  );
});

Deno.test("missing, garbage, expired and wrong-audience tokens are UNAUTHENTICATED", async () => {
  const { issuer, verify } = await setup();
  await rejects(verify(undefined), "UNAUTHENTICATED", /missing/);
  await rejects(verify("not.a.jwt"), "UNAUTHENTICATED", /malformed/);
  await rejects(
    verify(await issuer.mint({ sub: "x", tenant: "acme" }, { ttlSeconds: -10 })),
    "UNAUTHENTICATED",
    /expired/,
  );
  const wrongAud = await DevIssuer.fromSecret("test-secret", ISS, "someone-else");
  await rejects(
    verify(await wrongAud.mint({ sub: "x", tenant: "acme" })),
    "UNAUTHENTICATED",
    /aud/,
  );
});

Deno.test("a token without a tenant claim is refused", async () => {
  const { verify } = await setup();
  const hs = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("x").sign(
    new Uint8Array(32),
  );
  await rejects(verify(hs), "UNAUTHENTICATED", /.+/);
});

Deno.test("context tokens are accepted only by the zone they were signed for", async () => {
  const tokens = new ContextTokens("a-long-enough-internal-secret");
  const request = { method: "POST", path: "/internal/v1/query", body: '{"sql":"SELECT 1"}' };
  const jwt = await tokens.sign({
    user: { sub: "dev@globex", tenant: "globex" },
    zone: "eu",
    traceId: "t1",
  }, request);
  const ctx = await tokens.verify(jwt, "eu", request);
  assert.equal(ctx.user.tenant, "globex");
  assert.equal(ctx.traceId, "t1");
  await rejects(tokens.verify(jwt, "us", request), "UNAUTHENTICATED", /zone us/);
  const forged = new ContextTokens("another-internal-secret-value");
  await rejects(forged.verify(jwt, "eu", request), "UNAUTHENTICATED", /rejected/);
});

Deno.test("a context token carries the caller's budget to the zone, or none", async () => {
  const tokens = new ContextTokens("a-long-enough-internal-secret");
  const request = { method: "POST", path: "/internal/v1/query", body: '{"sql":"SELECT 1"}' };
  const user = { sub: "dev@acme", tenant: "acme" };
  const budget = { remaining: 41, reset_ms: 12_000, level: "user" };
  const signed = await tokens.sign({ user, zone: "us", traceId: "t", budget }, request);
  assert.deepEqual((await tokens.verify(signed, "us", request)).budget, budget);
  const without = await tokens.sign({ user, zone: "us", traceId: "t" }, request);
  assert.equal((await tokens.verify(without, "us", request)).budget, undefined);
});

Deno.test("a context token carries only the request it was signed for", async () => {
  const tokens = new ContextTokens("a-long-enough-internal-secret");
  const user = { sub: "dev@acme", tenant: "acme" };
  const request = { method: "POST", path: "/internal/v1/query", body: '{"sql":"SELECT 1"}' };
  const jwt = await tokens.sign({ user, zone: "us", traceId: "t" }, request);
  const other = /signed for another request/;
  // Other SQL, another route, another method: refused, whatever the signature.
  await rejects(
    tokens.verify(jwt, "us", { ...request, body: '{"sql":"SELECT 2"}' }),
    "UNAUTHENTICATED",
    other,
  );
  await rejects(
    tokens.verify(jwt, "us", { ...request, path: "/internal/v1/jobs" }),
    "UNAUTHENTICATED",
    other,
  );
  await rejects(tokens.verify(jwt, "us", { ...request, method: "PUT" }), "UNAUTHENTICATED", other);
  // The body as bytes, read only once the signature holds.
  let read = 0;
  const body = () => (read++, Promise.resolve(new TextEncoder().encode(request.body)));
  assert.equal((await tokens.verify(jwt, "us", { ...request, body })).user.sub, "dev@acme");
  await rejects(
    tokens.verify(jwt.slice(0, -2) + "xx", "us", { ...request, body }),
    "UNAUTHENTICATED",
    /rejected/,
  );
  assert.equal(read, 1);
});

Deno.test("a context token is a standard HS256 JWT, both ways", async () => {
  const secret = "a-long-enough-internal-secret";
  const tokens = new ContextTokens(secret);
  const key = new TextEncoder().encode(secret);
  const request = { method: "POST", path: "/internal/v1/query", body: '{"sql":"SELECT 1"}' };
  const user = { sub: "dev@acme", tenant: "acme" };
  const jwt = await tokens.sign({ user, zone: "us", traceId: "t" }, request);
  const { payload, protectedHeader } = await jwtVerify(jwt, key, {
    issuer: "omnisql-edge",
    audience: "omnisql-zone:us",
  });
  assert.deepEqual(protectedHeader, { alg: "HS256" });
  assert.equal(payload.exp! - payload.iat!, 60);
  // A token jose signs with the same claims is read back the same.
  const { iss: _iss, aud: _aud, iat: _iat, exp: _exp, ...claims } = payload;
  const byJose = await new SignJWT(claims).setProtectedHeader({ alg: "HS256" })
    .setIssuer("omnisql-edge").setAudience("omnisql-zone:us").setIssuedAt()
    .setExpirationTime("60s").sign(key);
  assert.deepEqual((await tokens.verify(byJose, "us", request)).user, user);
});

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The signature with its last character's unused low bits set: other text, the same bytes. */
function sameBytes(signature: string): string {
  const last = BASE64URL.indexOf(signature.at(-1)!);
  const other = signature.slice(0, -1) + BASE64URL[last + 1];
  assert.deepEqual(Buffer.from(other, "base64url"), Buffer.from(signature, "base64url"));
  return other;
}

Deno.test("a context token that expired, is unsigned or was altered is refused", async () => {
  const secret = "a-long-enough-internal-secret";
  const tokens = new ContextTokens(secret);
  const key = new TextEncoder().encode(secret);
  const request = { method: "POST", path: "/internal/v1/query", body: "{}" };
  const claims = { user: { sub: "dev@acme", tenant: "acme" }, trace_id: "t" };
  const signed = (exp: number) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuer("omnisql-edge")
      .setAudience("omnisql-zone:us").setIssuedAt().setExpirationTime(exp).sign(key);
  const now = Math.floor(Date.now() / 1000);
  await rejects(tokens.verify(await signed(now - 1), "us", request), "UNAUTHENTICATED", /rejected/);
  const jwt = await tokens.sign({ ...claims, zone: "us", traceId: "t" }, request);
  const [header, payload] = jwt.split(".");
  const b64 = (v: unknown) => btoa(JSON.stringify(v)).replaceAll("=", "");
  // `alg: none` with the signature dropped.
  await rejects(
    tokens.verify(`${b64({ alg: "none" })}.${payload}.`, "us", request),
    "UNAUTHENTICATED",
    /rejected/,
  );
  // Another tenant in the payload, the signature kept.
  const other = b64({
    ...JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))),
    user: { sub: "dev@globex", tenant: "globex" },
  });
  await rejects(
    tokens.verify(`${header}.${other}.${jwt.split(".")[2]}`, "us", request),
    "UNAUTHENTICATED",
    /rejected/,
  );
  // The signature in another spelling of the same bytes: padding, standard base64, stray text.
  const signature = jwt.split(".")[2];
  for (
    const spelling of [
      `${signature}=`,
      `${signature}!`,
      signature.replaceAll("-", "+").replaceAll("_", "/") + (signature.match(/[-_]/) ? "" : "="),
      sameBytes(signature),
    ]
  ) {
    assert.equal((await tokens.verify(jwt, "us", request)).user.tenant, "acme");
    await rejects(
      tokens.verify(`${header}.${payload}.${spelling}`, "us", request),
      "UNAUTHENTICATED",
      /rejected/,
    );
  }
  await rejects(tokens.verify("not.a.token", "us", request), "UNAUTHENTICATED", /rejected/);
  await rejects(tokens.verify("x", "us", request), "UNAUTHENTICATED", /rejected/);
});

Deno.test("a context token is good once where its uses are recorded", async () => {
  const used = new Map<string, number>();
  const tokens = new ContextTokens("a-long-enough-internal-secret", {
    firstUse: ({ zone, tenant, id, ttlMs }) => {
      const key = `${zone}/${tenant}/${id}`;
      const first = !used.has(key);
      used.set(key, ttlMs);
      return Promise.resolve(first);
    },
  });
  const request = { method: "POST", path: "/internal/v1/query", body: '{"sql":"SELECT 1"}' };
  const user = { sub: "dev@acme", tenant: "acme" };
  const jwt = await tokens.sign({ user, zone: "us", traceId: "t" }, request);
  assert.equal((await tokens.verify(jwt, "us", request)).user.sub, "dev@acme");
  await rejects(tokens.verify(jwt, "us", request), "UNAUTHENTICATED", /already used/);
  // Kept for the token's life, no longer.
  const [ttlMs] = used.values();
  assert.ok(ttlMs > 55_000 && ttlMs <= 60_000, `kept ${ttlMs} ms`);
  // A refused request does not use the token up.
  const other = await tokens.sign({ user, zone: "us", traceId: "t" }, request);
  await rejects(
    tokens.verify(other, "us", { ...request, body: '{"sql":"SELECT 2"}' }),
    "UNAUTHENTICATED",
    /another request/,
  );
  assert.equal((await tokens.verify(other, "us", request)).user.sub, "dev@acme");
  // A token without an id (signed elsewhere with the secret) cannot be counted: refused.
  const { payload } = await jwtVerify(
    jwt,
    new TextEncoder().encode("a-long-enough-internal-secret"),
  );
  const { jti: _jti, iat: _iat, exp: _exp, ...claims } = payload;
  const withoutId = await new SignJWT(claims).setProtectedHeader({ alg: "HS256" })
    .setIssuedAt().setExpirationTime("60s")
    .sign(new TextEncoder().encode("a-long-enough-internal-secret"));
  await rejects(tokens.verify(withoutId, "us", request), "UNAUTHENTICATED", /already used/);
});

Deno.test("a user's passthrough token travels sealed in the context token", async () => {
  const tokens = new ContextTokens("a-long-enough-internal-secret");
  const user = { sub: "dev@acme", tenant: "acme", passthrough_token: "ghp_SECRET123" };
  const request = { method: "POST", path: "/internal/v1/query", body: "{}" };
  const jwt = await tokens.sign({ user, zone: "us", traceId: "t" }, request);
  const payload = new TextDecoder().decode(
    Uint8Array.from(
      atob(jwt.split(".")[1].replaceAll("-", "+").replaceAll("_", "/")),
      (c) => c.charCodeAt(0),
    ),
  );
  assert.ok(!payload.includes("ghp_SECRET123"));
  assert.equal((await tokens.verify(jwt, "us", request)).user.passthrough_token, "ghp_SECRET123");
});
