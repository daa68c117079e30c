/**
 * The sandbox's issue-search query language: the qualifiers GitHub documents for pull requests
 * (`is:`, `type:`, `state:`, `repo:`, `org:`, `user:`, `author:`, `head:` (a prefix match),
 * `base:`, `label:`, `created:`/`updated:`/`closed:`/`merged:` date ranges) and free words
 * matched against titles.
 *
 * @module
 */
import type { SbPull, SbRepo } from "./_data.ts";

/** A parsed search query. */
export interface SearchQuery {
  /** Repositories named by `repo:` (`owner/name`), or owners by `org:`/`user:`. */
  repos: string[];
  owners: string[];
  test(p: SbPull): boolean;
}

/** Splits a query into terms, keeping `"quoted phrases"` (and `qualifier:"quoted"`) whole. */
function terms(q: string): string[] {
  const out: string[] = [];
  for (const m of q.matchAll(/(?:[^\s"]+)?"[^"]*"?|[^\s"]+/g)) out.push(m[0].replaceAll('"', ""));
  return out.filter((t) => t !== "");
}

function dateTest(spec: string): ((value: string | null) => boolean) | undefined {
  const range = spec.match(/^([^.]+)\.\.([^.]+)$/);
  if (range) {
    const [, a, b] = range;
    return (v) =>
      v !== null && (a === "*" || v.slice(0, a.length) >= a) &&
      (b === "*" || v.slice(0, b.length) <= b);
  }
  const m = spec.match(/^(>=|<=|>|<)?(\d{4}(?:-\d{2}(?:-\d{2}(?:T[\d:]+Z?)?)?)?)$/);
  if (!m) return undefined;
  const [, op = "=", d] = m;
  return (v) => {
    if (v === null) return false;
    const x = v.slice(0, d.length);
    return op === ">="
      ? x >= d
      : op === "<="
      ? x <= d
      : op === ">"
      ? x > d
      : op === "<"
      ? x < d
      : x === d;
  };
}

/** Parses `q`; returns an error message for what GitHub would refuse. */
export function parseSearch(q: string): SearchQuery | { error: string } {
  const tests: ((p: SbPull) => boolean)[] = [];
  const repos: string[] = [];
  const owners: string[] = [];
  const lower = (s: string) => s.toLowerCase();
  for (const term of terms(q)) {
    const negate = term.startsWith("-") && term.includes(":");
    const colon = term.indexOf(":");
    const [key, value] = colon > 0
      ? [lower(term.slice(negate ? 1 : 0, colon)), term.slice(colon + 1)]
      : ["", term];
    let t: ((p: SbPull) => boolean) | undefined;
    switch (key) {
      case "is":
      case "type":
      case "state": {
        const v = lower(value);
        if (v === "pr" || v === "pull-request") t = () => true;
        else if (v === "issue") t = () => false;
        else if (v === "open" || v === "closed") t = (p) => p.pull.state === v;
        else if (v === "merged") t = (p) => p.pull.mergedAt !== null;
        else if (v === "unmerged") t = (p) => p.pull.mergedAt === null;
        else if (v === "draft") t = (p) => p.pull.draft;
        else if (v === "private") t = () => true; // every demo repository is private
        else t = () => false;
        break;
      }
      case "draft":
        t = (p) => String(p.pull.draft) === lower(value);
        break;
      case "repo":
        if (negate) return { error: "invalid" };
        repos.push(lower(value));
        continue;
      case "org":
      case "user":
        if (negate) return { error: "invalid" };
        owners.push(lower(value));
        continue;
      case "author":
        t = (p) => lower(p.pull.author) === lower(value);
        break;
      case "head":
        t = (p) => p.pull.head.startsWith(value);
        break;
      case "base":
        t = (p) => p.pull.base === value;
        break;
      case "label":
        t = (p) => p.pull.labels.some((l) => lower(l) === lower(value));
        break;
      case "created":
      case "updated":
      case "closed":
      case "merged": {
        const test = dateTest(value);
        if (!test) return { error: `invalid ${key} date` };
        const field = ({
          created: "createdAt",
          updated: "updatedAt",
          closed: "closedAt",
          merged: "mergedAt",
        } as const)[key];
        t = (p) => test(p.pull[field]);
        break;
      }
      default: {
        const word = lower(term);
        t = (p) => lower(p.pull.title).includes(word);
      }
    }
    tests.push(negate ? (p) => !t!(p) : t);
  }
  return { repos, owners, test: (p) => tests.every((t) => t(p)) };
}

/** Whether a repository is in the query's scope (all readable repos when none is named). */
export function inScope(query: SearchQuery, repo: SbRepo): boolean {
  if (query.repos.length === 0 && query.owners.length === 0) return true;
  return query.repos.includes(`${repo.owner}/${repo.name}`.toLowerCase()) ||
    query.owners.includes(repo.owner.toLowerCase());
}
