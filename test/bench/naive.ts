/**
 * The same four questions answered the way a user would without OmniSQL: a plain script that
 * calls each API page by page (repos one after another, `state=all`, Jira's search with the
 * projects only), filters and joins in a Map, and fetches pull request details in batches of 10
 * with `Promise.all` when it needs `additions`/`deletions`. It counts its calls and the rows it
 * received, and how many rows of each source the question actually needed.
 *
 * @module
 */

/** Where the naive script calls. */
export interface NaiveTarget {
  githubUrl: string;
  githubToken: string;
  owner: string;
  repos: string[];
  jiraUrl: string;
  jiraEmail: string;
  jiraToken: string;
  projects: string[];
  fields: { branch: string; storyPoints: string };
}

/** What one naive run did. */
export interface NaiveRun {
  ms: number;
  calls: number;
  /** Rows (list items, issues) received from the APIs. */
  rowsFetched: number;
  /** Rows of each source passing the question's own filter on that source. */
  rowsNeeded: number;
  resultRows: number;
}

/** The questions (the seed's four queries) by id. */
export type Question = "single_source" | "cross_app_join" | "security_audit" | "effort_mapping";

interface Pull {
  number: number;
  repo: string;
  head: { ref: string };
  merged_at: string | null;
  user: { login: string };
  additions?: number;
  deletions?: number;
  email?: string | null;
}

interface Issue {
  key: string;
  fields: Record<string, unknown> & { status: { name: string } };
}

/** Answers one question naively against the target. */
export async function runNaive(target: NaiveTarget, question: Question): Promise<NaiveRun> {
  const t0 = performance.now();
  const counter = { calls: 0, rows: 0 };
  const gh = (path: string) =>
    call(counter, path.startsWith("http") ? path : `${target.githubUrl}${path}`, {
      headers: {
        authorization: `Bearer ${target.githubToken}`,
        accept: "application/vnd.github+json",
      },
    });

  // Every pull request of every repo, page after page.
  const pulls: Pull[] = [];
  for (const repo of target.repos) {
    let next: string | undefined = `/repos/${target.owner}/${repo}/pulls?state=all&per_page=100`;
    while (next) {
      const res = await gh(next);
      const page = await res.json() as Pull[];
      counter.rows += page.length;
      for (const p of page) pulls.push({ ...p, repo });
      next = res.headers.get("link")?.match(/<([^>]+)>;\s*rel="next"/)?.[1];
    }
  }
  const withDetails = async (list: Pull[]) => {
    for (let i = 0; i < list.length; i += 10) {
      await Promise.all(
        list.slice(i, i + 10).map(async (p) => {
          const d = await (await gh(`/repos/${target.owner}/${p.repo}/pulls/${p.number}`)).json();
          p.additions = d.additions;
          p.deletions = d.deletions;
        }),
      );
    }
  };

  if (question === "single_source") {
    const merged = pulls.filter((p) => p.merged_at);
    await withDetails(merged);
    const emails = new Map<string, string | null>();
    for (const login of new Set(merged.map((p) => p.user.login))) {
      emails.set(login, (await (await gh(`/users/${login}`)).json()).email ?? null);
    }
    for (const p of merged) p.email = emails.get(p.user.login);
    return done(t0, counter, merged.length, merged.length);
  }

  // Every issue of the connection's projects, page after page.
  const issues: Issue[] = [];
  let token: string | undefined;
  const auth = "Basic " + btoa(`${target.jiraEmail}:${target.jiraToken}`);
  do {
    const res = await call(counter, `${target.jiraUrl}/rest/api/3/search/jql`, {
      method: "POST",
      headers: { authorization: auth, "content-type": "application/json" },
      body: JSON.stringify({
        jql: `project in (${target.projects.join(", ")}) ORDER BY key`,
        fields: ["status", target.fields.branch, target.fields.storyPoints],
        maxResults: 100,
        ...(token ? { nextPageToken: token } : {}),
      }),
    });
    const page = await res.json() as { issues: Issue[]; nextPageToken?: string };
    counter.rows += page.issues.length;
    issues.push(...page.issues);
    token = page.nextPageToken;
  } while (token);
  const byBranch = new Map<string, Issue[]>();
  for (const i of issues) {
    const b = i.fields[target.fields.branch];
    if (typeof b !== "string") continue;
    byBranch.set(b, [...byBranch.get(b) ?? [], i]);
  }
  const join = (ps: Pull[], keep: (i: Issue) => boolean) =>
    ps.flatMap((p) => (byBranch.get(p.head.ref) ?? []).filter(keep).map((i) => ({ p, i })));

  if (question === "cross_app_join") {
    const keep = (i: Issue) => i.fields.status.name === "In Progress";
    return done(t0, counter, pulls.length + issues.filter(keep).length, join(pulls, keep).length);
  }
  if (question === "security_audit") {
    const merged = pulls.filter((p) => p.merged_at);
    const keep = (i: Issue) => i.fields.status.name !== "Done";
    return done(t0, counter, merged.length + issues.filter(keep).length, join(merged, keep).length);
  }
  // effort_mapping: details only for the pull requests that join a ticket.
  const joined = join(pulls, () => true);
  await withDetails([...new Set(joined.map((j) => j.p))]);
  const top = joined.map(({ p, i }) => ({
    issue_key: i.key,
    story_points: i.fields[target.fields.storyPoints],
    total_loc: (p.additions ?? 0) + (p.deletions ?? 0),
  })).sort((a, b) => b.total_loc - a.total_loc).slice(0, 10);
  return done(t0, counter, pulls.length + issues.length, top.length);
}

async function call(
  counter: { calls: number },
  url: string,
  init: RequestInit,
): Promise<Response> {
  counter.calls++;
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${url}: ${res.status} ${await res.text()}`);
  return res;
}

function done(
  t0: number,
  counter: { calls: number; rows: number },
  rowsNeeded: number,
  resultRows: number,
): NaiveRun {
  return {
    ms: performance.now() - t0,
    calls: counter.calls,
    rowsFetched: counter.rows,
    rowsNeeded,
    resultRows,
  };
}
