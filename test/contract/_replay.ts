/**
 * A small replay server for contract tests: vendors' published examples served as their APIs
 * serve them — pages addressed by `Link`, ETags answered with a bare 304 (no `Link`, as GitHub is
 * reported to send), rate-limit headers, the vendors' error bodies — and GraphQL executed on the
 * vendor's own published schema, so every field and filter a connector sends is checked against
 * the real API's types.
 *
 * @module
 */
import { buildSchema, graphql, type GraphQLSchema } from "graphql";

/** One answer a route gives. */
export interface Replayed {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** A request as the replay saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  search: string;
  headers: Headers;
  body?: unknown;
}

/** A running replay. */
export interface Replay {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * Serves `route` on an ephemeral local port. A 200 with a body gets an ETag; a request whose
 * `If-None-Match` matches it is answered 304 with the route's headers minus `Link`.
 */
export function startReplay(
  route: (req: SeenRequest, url: URL) => Replayed | Promise<Replayed>,
): Replay {
  const seen: SeenRequest[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const text = req.method === "GET" ? "" : await req.text();
    const request: SeenRequest = {
      method: req.method,
      path: url.pathname,
      search: url.search,
      headers: req.headers,
      // JSON bodies parsed; a form (an OAuth token request) kept as its fields.
      ...(text
        ? {
          body: req.headers.get("content-type")?.includes("json")
            ? JSON.parse(text)
            : Object.fromEntries(new URLSearchParams(text)),
        }
        : {}),
    };
    seen.push(request);
    const answer = await route(request, url);
    const body = answer.body === undefined ? null : JSON.stringify(answer.body);
    const headers = new Headers({ "content-type": "application/json; charset=utf-8" });
    for (const [k, v] of Object.entries(answer.headers ?? {})) headers.set(k, v);
    const status = answer.status ?? 200;
    if (status === 200 && body !== null && req.method === "GET") {
      const etag = `"${await digest(body)}"`;
      headers.set("etag", etag);
      if (req.headers.get("if-none-match") === etag) {
        headers.delete("link");
        headers.delete("content-type");
        return new Response(null, { status: 304, headers });
      }
    }
    return new Response(body, { status, headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    close: () => server.shutdown(),
  };
}

/** A vendor's published GraphQL schema, stored gzipped beside the fixtures. */
export async function vendorSchema(app: string): Promise<GraphQLSchema> {
  const gz = await Deno.readFile(new URL(`./fixtures/${app}/schema.graphql.gz`, import.meta.url));
  const sdl = await new Response(
    new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).text();
  // GitHub's published SDL defines two fields twice; its types are still what the API serves.
  return buildSchema(sdl, { assumeValidSDL: true });
}

/**
 * Executes a GraphQL request body on a schema with the given root resolvers; GraphQL's own
 * validation and variable coercion decide whether the request is one the API would accept.
 */
export async function executeOn(
  schema: GraphQLSchema,
  rootValue: Record<string, unknown>,
  body: unknown,
): Promise<{ data?: unknown; errors?: { message: string }[] }> {
  const { query, variables } = body as { query: string; variables?: Record<string, unknown> };
  const result = await graphql({ schema, source: query, rootValue, variableValues: variables });
  return {
    ...(result.data ? { data: result.data } : {}),
    ...(result.errors ? { errors: result.errors.map((e) => ({ message: e.message })) } : {}),
  };
}

/** Reads a JSON fixture. */
export async function fixture<T>(app: string, name: string): Promise<T> {
  return JSON.parse(
    await Deno.readTextFile(new URL(`./fixtures/${app}/${name}`, import.meta.url)),
  ) as T;
}

async function digest(text: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(hash)].slice(0, 8).map((b) => b.toString(16).padStart(2, "0")).join("");
}
