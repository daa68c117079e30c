/**
 * The web console the edge serves at `/`: sign in with a token, browse the catalog, write SQL
 * (the seed queries as templates), and read the answer — rows, each source's pushdown, a timing
 * waterfall, freshness, the budget left, and errors with their code and advice. Plain HTML, CSS
 * and JavaScript, no build step; it talks to the same public API as any client.
 *
 * With the dev issuer on (local use only) it also offers `GET /dev/users` and
 * `POST /dev/token` so a demo user can be picked instead of pasting a token.
 *
 * @module
 */
import { Hono } from "hono";
import type { DevIssuer } from "../../src/auth/dev_issuer.ts";
import type { Catalog } from "../../src/catalog/store.ts";
import { OmniError } from "../../src/errors.ts";
import type { AppEnv } from "../../src/http/env.ts";
import { readJsonBody } from "../../src/http/json_body.ts";
import { TEMPLATES } from "./templates.ts";

/** Options of {@link webConsole}. */
export interface WebConsoleOptions {
  catalog: Catalog;
  /** Enables the demo-user picker (never set in production). */
  devIssuer?: DevIssuer;
}

const asset = (name: string) => Deno.readTextFileSync(new URL(`./${name}`, import.meta.url));

// Read once at start-up: the console is a handful of small static files.
const PAGE = asset("index.html");
const SCRIPT = asset("app.js");
const STYLE = asset("style.css");

/**
 * The console's routes, to mount at the edge's root.
 *
 * @example
 * ```ts ignore
 * app.route("/", webConsole({ catalog, devIssuer }));
 * ```
 */
export function webConsole(options: WebConsoleOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const page = PAGE.replace(
    "/*CONFIG*/",
    `window.OMNISQL = ${
      JSON.stringify({ templates: TEMPLATES, devIssuer: Boolean(options.devIssuer) }).replaceAll(
        "<",
        "\\u003c",
      )
    };`,
  );
  const headers = {
    "cache-control": "no-store",
    // The console only ever talks to its own origin.
    "content-security-policy":
      "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
  };
  app.get("/", (c) => c.html(page, 200, headers));
  app.get(
    "/console/app.js",
    (c) => c.body(SCRIPT, 200, { ...headers, "content-type": "text/javascript; charset=utf-8" }),
  );
  app.get(
    "/console/style.css",
    (c) => c.body(STYLE, 200, { ...headers, "content-type": "text/css; charset=utf-8" }),
  );

  const issuer = options.devIssuer;
  if (issuer) {
    // A page elsewhere must not mint tokens through the developer's browser: only a loopback
    // Host (no DNS rebinding) and a JSON body (no form or text/plain cross-site POST).
    app.use("/dev/*", async (c, next) => {
      const host = (c.req.header("host") ?? "").replace(/:\d+$/, "").toLowerCase();
      if (!["127.0.0.1", "localhost", "[::1]"].includes(host)) {
        throw new OmniError("ENTITLEMENT_DENIED", "the dev issuer answers loopback hosts only");
      }
      if (
        c.req.method === "POST" && !c.req.header("content-type")?.startsWith("application/json")
      ) {
        throw new OmniError("INVALID_REQUEST", "send the body as application/json");
      }
      await next();
    });
    app.get("/dev/users", async (c) => {
      const tenants = await options.catalog.listTenants();
      const users = await Promise.all(tenants.map((t) => options.catalog.listUsers(t.id)));
      return c.json(
        users.flat().map((u) => ({
          tenant: u.tenantId,
          email: u.email,
          role: u.role,
          team_id: u.teamId,
        })),
      );
    });
    app.post("/dev/token", async (c) => {
      const body = await readJsonBody(c, 10_000) as { tenant?: unknown; user?: unknown };
      if (typeof body?.tenant !== "string" || typeof body.user !== "string") {
        throw new OmniError("INVALID_REQUEST", 'send {"tenant": string, "user": string}');
      }
      const user = await options.catalog.getUser(body.tenant, body.user);
      if (!user) throw new OmniError("NOT_FOUND", `no user ${body.user} in tenant ${body.tenant}`);
      const token = await issuer.mint({
        sub: user.email,
        tenant: user.tenantId,
        role: user.role,
        team_id: user.teamId,
      });
      return c.json({ token });
    });
  }
  return app;
}
