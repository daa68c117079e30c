import assert from "node:assert/strict";
import { OmniError } from "../../src/errors.ts";
import { OAuthTokens } from "./oauth.ts";

const grant = {
  tokenUrl: "https://login.example/token",
  grantType: "client_credentials" as const,
  clientId: "id",
  clientSecret: "very-secret",
};

function fakeEndpoint(answers: (() => Response)[]) {
  const bodies: string[] = [];
  const fetch = (_url: string | URL | Request, init?: RequestInit) => {
    bodies.push(String(init?.body));
    const next = answers.shift() ?? (() => Response.json({ access_token: "again" }));
    return new Promise<Response>((r) => setTimeout(() => r(next()), 5));
  };
  return { fetch: fetch as typeof globalThis.fetch, bodies };
}

Deno.test("OAuthTokens.get() single-flights and caches until expiry", async () => {
  const ep = fakeEndpoint([() => Response.json({ access_token: "a1", expires_in: 3600 })]);
  const tokens = new OAuthTokens({ fetch: ep.fetch });
  const got = await Promise.all([1, 2, 3, 4].map(() => tokens.get("k", grant)));
  assert.ok(got.every((t) => t.accessToken === "a1"));
  assert.equal(ep.bodies.length, 1);
  assert.match(ep.bodies[0], /grant_type=client_credentials/);
  await tokens.get("k", grant);
  assert.equal(ep.bodies.length, 1);
});

Deno.test("OAuthTokens.withToken() refreshes once on an invalid session", async () => {
  const ep = fakeEndpoint([
    () => Response.json({ access_token: "old" }),
    () => Response.json({ access_token: "new" }),
  ]);
  const tokens = new OAuthTokens({ fetch: ep.fetch });
  const seen: string[] = [];
  const invalid = (e: unknown) => e instanceof Error && e.message === "INVALID_SESSION_ID";
  const out = await tokens.withToken("k", grant, (t) => {
    seen.push(t.accessToken);
    if (t.accessToken === "old") throw new Error("INVALID_SESSION_ID");
    return Promise.resolve("ok");
  }, invalid);
  assert.equal(out, "ok");
  assert.deepEqual(seen, ["old", "new"]);
  // Refused twice: the error surfaces, no loop.
  await assert.rejects(
    () =>
      tokens.withToken("k", grant, () => Promise.reject(new Error("INVALID_SESSION_ID")), invalid),
    /INVALID_SESSION_ID/,
  );
  assert.equal(ep.bodies.length, 3);
});

Deno.test("OAuthTokens: invalidate() with a stale token keeps a newer one", async () => {
  const ep = fakeEndpoint([() => Response.json({ access_token: "t1" })]);
  const tokens = new OAuthTokens({ fetch: ep.fetch });
  await tokens.get("k", grant);
  tokens.invalidate("k", "t0");
  assert.equal((await tokens.get("k", grant)).accessToken, "t1");
  assert.equal(ep.bodies.length, 1);
});

Deno.test("OAuthTokens: a refused grant is SOURCE_ERROR without the secret", async () => {
  const ep = fakeEndpoint([
    () =>
      Response.json({ error: "invalid_grant", error_description: "authentication failure" }, {
        status: 400,
      }),
  ]);
  const tokens = new OAuthTokens({ fetch: ep.fetch });
  await assert.rejects(
    () => tokens.get("k", grant),
    (err) =>
      err instanceof OmniError && err.code === "SOURCE_ERROR" &&
      /invalid_grant/.test(err.message) &&
      !err.message.includes("very-secret"),
  );
  // A failed request is not cached: the next call asks again.
  assert.equal((await tokens.get("k", grant)).accessToken, "again");
});
