/**
 * The GitHub sandbox's webhooks: repository hooks as GitHub's API creates them
 * (`POST /repos/{owner}/{repo}/hooks` with `config.url`, `config.secret` and `events`), and the
 * sandbox's own data-change endpoint, `POST /_sandbox/repos/{owner}/{repo}/pulls/{number}` with
 * `{state?, merged?, title?}`, which changes a pull request and delivers the `pull_request`
 * event to the repository's hooks, signed as GitHub signs it — before answering, so a caller
 * knows the receivers have it.
 *
 * @module
 */
import { sendWebhooks, type WebhookSubscription } from "../../sandbox/webhooks.ts";
import type { SbWorld } from "./_data.ts";
import { DOCS } from "./_routes.ts";

/** Hooks per `owner/repo`. */
export type RepoHooks = Map<string, (WebhookSubscription & { id: number })[]>;

let nextHookId = 1;

/** Answers a hooks or data-change request; `undefined` for any other request. */
export async function handleSandboxChange(
  req: Request,
  path: string,
  world: SbWorld,
  owners: readonly string[],
  hooks: RepoHooks,
): Promise<{ status: number; body: unknown } | undefined> {
  if (req.method !== "POST") return undefined;
  const hook = /^\/repos\/([^/]+)\/([^/]+)\/hooks$/.exec(path);
  const change = /^\/_sandbox\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/.exec(path);
  const m = hook ?? change;
  if (!m) return undefined;
  const [owner, repo] = [m[1].toLowerCase(), m[2].toLowerCase()];
  const notFound = { status: 404, body: { message: "Not Found", documentation_url: DOCS } };
  if (!owners.includes(owner) || !world.repos.some((r) => r.owner === owner && r.name === repo)) {
    return notFound;
  }
  const body = await req.json().catch(() => null) as Record<string, unknown> | null;
  const key = `${owner}/${repo}`;
  if (hook) {
    const config = body?.config as { url?: unknown; secret?: unknown } | undefined;
    if (typeof config?.url !== "string") {
      return { status: 422, body: { message: "Validation Failed", documentation_url: DOCS } };
    }
    const events = Array.isArray(body?.events) ? body.events.map(String) : ["push"];
    const created = {
      id: nextHookId++,
      url: config.url,
      secret: typeof config.secret === "string" ? config.secret : "",
      events,
    };
    hooks.set(key, [...hooks.get(key) ?? [], created]);
    return {
      status: 201,
      body: {
        type: "Repository",
        id: created.id,
        name: "web",
        active: true,
        events,
        config: { url: created.url, content_type: "json", insecure_ssl: "0", secret: "********" },
      },
    };
  }
  const number = Number(m[3]);
  const sb = world.pulls.find((p) =>
    p.repo.owner === owner && p.repo.name === repo && p.pull.number === number
  );
  if (!sb) return notFound;
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const pull = sb.pull;
  let action = "edited";
  if (typeof body?.title === "string") pull.title = body.title;
  if (body?.merged === true && !pull.mergedAt) {
    Object.assign(pull, { state: "closed", closedAt: now, mergedAt: now });
    action = "closed";
  } else if (body?.state === "closed" && pull.state === "open") {
    Object.assign(pull, { state: "closed", closedAt: now });
    action = "closed";
  } else if (body?.state === "open" && pull.state === "closed" && !pull.mergedAt) {
    Object.assign(pull, { state: "open", closedAt: null });
    action = "reopened";
  }
  pull.updatedAt = now;
  const deliveries = await sendWebhooks("github", hooks.get(key) ?? [], "pull_request", {
    action,
    number,
    pull_request: {
      id: sb.id,
      number,
      state: pull.state,
      title: pull.title,
      merged: pull.mergedAt !== null,
      merged_at: pull.mergedAt,
      updated_at: pull.updatedAt,
    },
    repository: { id: sb.repo.id, name: repo, full_name: key, owner: { login: owner } },
  });
  return { status: 200, body: { number, action, deliveries } };
}
