/**
 * The deploy artifacts (Dockerfile, compose.yaml, deploy/k8s/*.yaml) checked against the code:
 * every variable they set is one the code reads, every command is a role's entry point, ports
 * and probes are the ones the programs listen and answer on, and the Kubernetes objects fit
 * together (each zone's own Redis and database, autoscaling on metrics the code exports, only
 * the edge reaching the zones, disruption budgets).
 */
import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { redisHttpOptionsFromEnv } from "../bridge/redis_http.ts";
import { loadConfig } from "../src/config.ts";

type Obj = Record<string, unknown> & {
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  // deno-lint-ignore no-explicit-any
  spec?: any;
};

const root = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, root));
/** Where the image keeps the audit journals (the default `.omnisql/audit` under its WORKDIR). */
const JOURNAL_DIR = "/app/.omnisql/audit";

/** The variables a reader of `env` reads, recorded through a proxy. */
function variablesRead(reader: (env: Record<string, string | undefined>) => unknown): Set<string> {
  const seen = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, {
    get(_t, key) {
      if (typeof key === "string") seen.add(key);
      return key === "REDIS_HTTP_TOKEN" ? "t" : undefined;
    },
  });
  reader(env);
  return seen;
}

/** What each role reads: the config (edge, zone; `ZONE` in regions/main.ts) and the bridge. */
const READ = {
  app: new Set([...variablesRead(loadConfig), "ZONE"]),
  bridge: variablesRead(redisHttpOptionsFromEnv),
};
/** Read by Deno itself (trace export), not by our code. */
const DENO_VARIABLES = new Set(["OTEL_DENO", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"]);
const ROLE_OF: Record<string, "edge" | "zone" | "bridge"> = {
  "edge/main.ts": "edge",
  "regions/main.ts": "zone",
  "bridge/main.ts": "bridge",
};

function assertKnown(names: string[], role: "edge" | "zone" | "bridge", where: string) {
  const known = role === "bridge" ? READ.bridge : READ.app;
  for (const name of names) {
    assert.ok(
      known.has(name) || DENO_VARIABLES.has(name),
      `${where} sets ${name}, which no code reads`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(new URL(path, root)).then(() => true, () => false);
}

Deno.test("the code reads what the checks below rely on", () => {
  for (
    const name of [
      "DATABASE_URL",
      "ZONE_US_URLS",
      "UPSTASH_REDIS_REST_URL",
      "OMNISQL_GLOBAL_PER_MINUTE",
    ]
  ) {
    assert.ok(READ.app.has(name), name);
  }
  assert.ok(READ.bridge.has("REDIS_URL") && READ.bridge.has("REDIS_HTTP_TOKEN"));
  assert.equal(loadConfig({}).port, 8000, "the edge's default port moved");
});

Deno.test("Dockerfile: one image, the role chosen by the command", async () => {
  const text = await read("Dockerfile");
  assert.match(text, /^ENTRYPOINT \["deno", "run", "-A"\]$/m);
  const cmd = text.match(/^CMD \["([^"]+)"\]$/m)?.[1];
  assert.equal(cmd, "edge/main.ts");
  const cached = text.match(/deno cache ([^\n\\&]+)/)?.[1].trim().split(/\s+/) ?? [];
  for (const entry of Object.keys(ROLE_OF)) {
    assert.ok(cached.includes(entry), `the image does not cache ${entry}`);
    assert.ok(await exists(entry), entry);
  }
  assert.equal(text.match(/^WORKDIR (.+)$/m)?.[1], JOURNAL_DIR.replace("/.omnisql/audit", ""));
  // A new named volume copies the owner of the directory it is mounted on.
  assert.match(text, new RegExp(`mkdir -p ${JOURNAL_DIR} && chown -R deno:deno /app`));
});

Deno.test("compose.yaml: roles, variables, ports and health checks match the code", async () => {
  const compose = parse(await read("compose.yaml"), { merge: true }) as {
    services: Record<
      string,
      {
        command?: string[];
        environment?: Record<string, string>;
        healthcheck?: { test: string[] };
        hostname?: string;
        volumes?: string[];
      }
    >;
  };
  const byRole: Record<string, string[]> = { edge: [], zone: [], bridge: [] };
  for (const [name, service] of Object.entries(compose.services)) {
    if (!service.command) continue;
    const role = ROLE_OF[service.command[0]];
    assert.ok(role, `${name} runs ${service.command[0]}, not a role's entry point`);
    byRole[role].push(name);
    const env = service.environment ?? {};
    assertKnown(Object.keys(env), role, `compose service ${name}`);
    assert.ok(env.PORT, `${name} sets no PORT`);
    assert.ok(
      service.healthcheck?.test.join(" ").includes(`127.0.0.1:${env.PORT}/healthz`),
      `${name}'s health check does not ask /healthz on its PORT`,
    );
    if (role === "zone") {
      const zone = env.ZONE;
      assert.ok(env[`UPSTASH_REDIS_REST_URL_${zone.toUpperCase()}`], `${name} has no Redis`);
    }
    if (role !== "bridge") {
      // A journal is named by host name and port: a recreated container must keep both.
      assert.equal(service.hostname, name, `${name} has no stable hostname`);
      assert.ok(
        service.volumes?.some((v) => v.endsWith(`:${JOURNAL_DIR}`)),
        `${name} keeps its audit journal in the container`,
      );
    }
  }
  assert.equal(byRole.edge.length, 2);
  assert.equal(byRole.bridge.length, 1);
  // Each zone's instances, as the edges list them, are services of that zone on their port.
  const edgeEnv = compose.services[byRole.edge[0]].environment!;
  for (const zone of ["us", "eu"]) {
    for (const url of edgeEnv[`ZONE_${zone.toUpperCase()}_URLS`].split(",")) {
      const { hostname, port } = new URL(url);
      const service = compose.services[hostname];
      assert.equal(service?.environment?.ZONE, zone, `${url} is not a ${zone} instance`);
      assert.equal(service.environment.PORT, port);
    }
  }
  assert.equal(edgeEnv.ZONE_US_URLS.split(",").length, 2, "zone us runs on two instances");
});

async function manifests(): Promise<Obj[]> {
  const objects: Obj[] = [];
  for await (const entry of Deno.readDir(new URL("deploy/k8s/", root))) {
    if (!entry.name.endsWith(".yaml")) continue;
    for (const doc of parseAllDocuments(await read(`deploy/k8s/${entry.name}`))) {
      assert.deepEqual(doc.errors, [], entry.name);
      objects.push(doc.toJS() as Obj);
    }
  }
  return objects;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

Deno.test("Kubernetes: deployments, probes, autoscaling, network policies, disruption budgets", async () => {
  const objects = await manifests();
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  const deployments = of("Deployment");
  const metricsSource = await read("src/telemetry/metrics.ts");
  const edge = deployments.find((d) =>
    d.metadata?.labels?.["app.kubernetes.io/component"] === "edge"
  );
  assert.ok(edge, "no edge Deployment");
  const edgeLabels = edge.spec.template.metadata.labels as Record<string, string>;
  const zones = new Set<string>();

  for (const d of deployments) {
    const name = d.metadata!.name!;
    const labels = d.spec.template.metadata.labels as Record<string, string>;
    assert.ok(matches(d.spec.selector.matchLabels, labels), `${name}: selector misses its pods`);
    const [container] = d.spec.template.spec.containers;
    const role = ROLE_OF[container.args[0]];
    assert.ok(role, `${name} runs ${container.args[0]}`);
    const env = Object.fromEntries(
      (container.env as { name: string; value?: string }[]).map((
        e,
      ) => [e.name, e.value ?? "(secret)"]),
    );
    assertKnown(Object.keys(env), role, `Deployment ${name}`);
    const port = Number(env.PORT);
    assert.equal(container.ports[0].containerPort, port, `${name}: containerPort is not PORT`);
    if (role !== "bridge") {
      const mount = (container.volumeMounts as { name: string; mountPath: string }[] | undefined)
        ?.find((m) => m.mountPath === JOURNAL_DIR);
      const volume = (d.spec.template.spec.volumes as { name: string; emptyDir?: object }[])
        ?.find((v) => v.name === mount?.name);
      assert.ok(volume?.emptyDir, `${name}: the audit journal does not outlive the container`);
    }
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      assert.deepEqual(probe.httpGet, { path: "/healthz", port }, `${name}: probe`);
    }
    // Every Service in front of these pods sends to the port they listen on.
    for (const svc of of("Service").filter((s) => matches(s.spec.selector, labels))) {
      for (const p of svc.spec.ports) {
        assert.equal(p.targetPort, port, `Service ${svc.metadata?.name}`);
      }
    }
    const pdb = of("PodDisruptionBudget").find((p) => matches(p.spec.selector.matchLabels, labels));
    assert.ok(pdb, `${name} has no PodDisruptionBudget`);

    if (role !== "zone") continue;
    const zone = env.ZONE;
    zones.add(zone);
    assert.equal(labels["omnisql.dev/zone"], zone, `${name} is labelled for another zone`);
    const Z = zone.toUpperCase();
    for (
      const own of [
        `UPSTASH_REDIS_REST_URL_${Z}`,
        `UPSTASH_REDIS_REST_TOKEN_${Z}`,
        `ZONE_${Z}_DATABASE_URL`,
      ]
    ) {
      assert.ok(env[own], `${name} lacks its zone's own ${own}`);
    }
    for (const other of Object.keys(env).filter((n) => /_(US|EU)(_|$)/.test(n))) {
      assert.ok(
        !/UPSTASH|DATABASE/.test(other) || other.includes(Z),
        `${name} reaches another zone's store: ${other}`,
      );
    }
    const hpa = of("HorizontalPodAutoscaler").find((h) => h.spec.scaleTargetRef.name === name);
    assert.ok(hpa, `${name} has no HorizontalPodAutoscaler`);
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas >= 8);
    const metrics = hpa.spec.metrics as {
      type: string;
      resource?: { name: string };
      pods?: { metric: { name: string } };
    }[];
    assert.ok(
      metrics.some((m) => m.type === "Resource" && m.resource?.name === "cpu"),
      `${name}: no CPU target`,
    );
    const queues = metrics.filter((m) => m.type === "Pods").map((m) => m.pods!.metric.name);
    assert.ok(queues.length > 0, `${name}: no queue-depth target`);
    for (const metric of queues) {
      assert.ok(
        metricsSource.includes(`"${metric}"`),
        `${name} scales on ${metric}, which no code exports`,
      );
    }
    const policies = of("NetworkPolicy").filter((p) =>
      matches(p.spec.podSelector.matchLabels, labels)
    );
    assert.equal(policies.length, 1, `${name}: one NetworkPolicy must select its pods`);
    const ingress = policies[0].spec.ingress as {
      from: { podSelector: { matchLabels: Record<string, string> } }[];
      ports: { port: number }[];
    }[];
    for (const rule of ingress) {
      for (const from of rule.from) {
        assert.deepEqual(
          Object.keys(from),
          ["podSelector"],
          `${name}: traffic admitted from outside the edge`,
        );
        assert.ok(
          matches(from.podSelector.matchLabels, edgeLabels),
          `${name}: admits pods other than the edge`,
        );
        assert.ok(from.podSelector.matchLabels["app.kubernetes.io/component"] === "edge");
      }
      assert.deepEqual(rule.ports.map((p) => p.port), [port]);
    }
  }
  assert.deepEqual([...zones].sort(), ["eu", "us"]);
  // The edge reaches each zone through a Service that exists, on that Service's port.
  const edgeEnv = Object.fromEntries(
    (edge.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((
      e,
    ) => [e.name, e.value]),
  );
  for (const zone of zones) {
    for (const url of edgeEnv[`ZONE_${zone.toUpperCase()}_URLS`]!.split(",")) {
      const { hostname, port } = new URL(url);
      const svc = of("Service").find((s) => s.metadata?.name === hostname);
      assert.ok(svc, `the edge forwards to ${hostname}, which no Service is`);
      assert.ok(svc.spec.ports.some((p: { port: number }) => p.port === Number(port)));
      assert.equal(svc.spec.selector["omnisql.dev/zone"], zone);
    }
  }
});
