/**
 * `GET /v1/usage[?since=YYYY-MM-DD]`: the caller's tenant's API usage per connection and day, with
 * each cost budget's use — what `deno task admin usage` prints, for the web console. Tenant
 * admins only (`role: admin`); counts of calls, never source data.
 *
 * @module
 */
import type { Handler } from "hono";
import type { Catalog } from "../catalog/store.ts";
import { usageReport } from "../cost/report.ts";
import { OmniError } from "../errors.ts";
import type { AppEnv } from "./env.ts";

/**
 * The usage route (after `authenticate`).
 *
 * @example
 * ```ts ignore
 * app.get("/v1/usage", usageRoute(catalog));
 * ```
 */
export function usageRoute(catalog: Catalog): Handler<AppEnv> {
  return async function usage(c) {
    const user = c.get("user");
    if (user.role !== "admin") {
      throw new OmniError("ENTITLEMENT_DENIED", "API usage is shown to the tenant's admins only");
    }
    return c.json(await usageReport(catalog, user.tenant, c.req.query("since") || undefined));
  };
}
