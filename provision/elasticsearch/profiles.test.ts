/**
 * The tuning profiles' REST calls, captured on the wire: the real @elastic/elasticsearch client
 * (what `npm run es:profile` uses) and the rendered curl script (what `pulumi up` runs on the first
 * master) both talk to a local HTTP server that answers like Elasticsearch.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "@elastic/elasticsearch";
import { profileRequests, type ProfileOptions } from "./profiles";
import { applyRequests } from "./apply-requests";
import { renderCurlScript } from "./es-requests";
import { indexProfileStep } from "./cluster-steps";
import { renderCurlConfig } from "./node-config";

interface Captured { method: string; url: string; body: unknown; auth?: string; contentType?: string }

const OPTS: ProfileOptions = { indexPattern: "logstash-*", templateName: "opsfleet-logstash", shards: 2, replicas: 1, greenTimeoutMinutes: 30 };
const AUTH = `Basic ${Buffer.from("elastic:s3cret-Pa55word!!").toString("base64")}`;

// What Elastic's docs prescribe (hosts.md §3.6), written out by hand.
const BULK_INGEST: Captured[] = [
  {
    method: "PUT", url: "/_index_template/opsfleet-logstash",
    body: {
      index_patterns: ["logstash-*"], priority: 200,
      template: { settings: { index: { number_of_shards: 2, number_of_replicas: 0, refresh_interval: "300s", translog: { durability: "async" } } } },
      _meta: { managed_by: "opsfleet", profile: "bulk-ingest" },
    },
  },
  { method: "PUT", url: "/logstash-*/_settings?allow_no_indices=true", body: { index: { number_of_replicas: 0, refresh_interval: "300s", translog: { durability: "async" } } } },
];
const NORMAL: Captured[] = [
  {
    method: "PUT", url: "/_index_template/opsfleet-logstash",
    body: {
      index_patterns: ["logstash-*"], priority: 200,
      template: { settings: { index: { number_of_shards: 2, number_of_replicas: 1 } } },
      _meta: { managed_by: "opsfleet", profile: "normal" },
    },
  },
  // restore: request durability, configured replicas, refresh back to the default (null)
  { method: "PUT", url: "/logstash-*/_settings?allow_no_indices=true", body: { index: { number_of_replicas: 1, refresh_interval: null, translog: { durability: "request" } } } },
  { method: "POST", url: "/logstash-*/_refresh", body: undefined },
  { method: "GET", url: "/_cluster/health/logstash-*?wait_for_status=green&timeout=30m", body: undefined },
];

let server: http.Server;
let base: string;
let captured: Captured[] = [];
let health: { status: string; timed_out: boolean; code: number } = { status: "green", timed_out: false, code: 200 };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      captured.push({
        method: req.method!, url: decodeURIComponent(req.url!), body: raw ? JSON.parse(raw) : undefined,
        auth: req.headers.authorization, contentType: req.headers["content-type"],
      });
      const isHealth = req.url!.startsWith("/_cluster/health");
      const body = isHealth
        ? { cluster_name: "test", status: health.status, timed_out: health.timed_out, number_of_nodes: 5 }
        : req.url!.includes("_refresh") ? { _shards: { total: 4, successful: 4, failed: 0 } } : { acknowledged: true };
      // The client refuses servers that do not identify as Elasticsearch.
      res.writeHead(isHealth ? health.code : 200, { "content-type": "application/json", "x-elastic-product": "Elasticsearch" });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  captured = [];
  health = { status: "green", timed_out: false, code: 200 };
});

const client = () => new Client({ node: base, auth: { username: "elastic", password: "s3cret-Pa55word!!" }, maxRetries: 0 });
const strip = (c: Captured[]) => c.map(({ method, url, body }) => ({ method, url, body }));

describe("the real @elastic/elasticsearch client", () => {
  test("bulk-ingest: template for new indices + async translog, 0 replicas, refresh 300s on existing ones", async () => {
    const c = client();
    await applyRequests(c, profileRequests("bulk-ingest", OPTS));
    await c.close();
    expect(strip(captured)).toEqual(BULK_INGEST);
    expect(captured.every((r) => r.auth === AUTH)).toBe(true);
    expect(captured.filter((r) => r.body !== undefined).every((r) => r.contentType?.startsWith("application/vnd.elasticsearch+json"))).toBe(true);
  });

  test("normal (the restore path): template, durability request + replicas + default refresh, refresh, wait for green", async () => {
    const c = client();
    const log: string[] = [];
    await applyRequests(c, profileRequests("normal", OPTS), (l) => log.push(l));
    await c.close();
    expect(strip(captured)).toEqual(NORMAL);
    expect(log[3]).toBe("GET /_cluster/health/logstash-*?wait_for_status=green&timeout=30m  (wait up to 30 min for green (replicas allocated))");
  });

  test("normal fails when the cluster does not turn green in time (timed out yellow)", async () => {
    health = { status: "yellow", timed_out: true, code: 200 };
    const c = client();
    await expect(applyRequests(c, profileRequests("normal", OPTS))).rejects.toThrow("cluster not green (status yellow, timed_out true)");
    await c.close();
  });

  test("normal fails on Elasticsearch's 408 for a wait that timed out", async () => {
    health = { status: "red", timed_out: true, code: 408 };
    const c = client();
    await expect(applyRequests(c, profileRequests("normal", OPTS))).rejects.toThrow();
    await c.close();
    expect(captured.map((r) => r.method)).toEqual(["PUT", "PUT", "POST", "GET"]);
  });

  test("custom settings flow through: prefix, shards, replicas, timeout", async () => {
    const c = client();
    await applyRequests(c, profileRequests("normal", { indexPattern: "app-*", templateName: "opsfleet-app", shards: 4, replicas: 2, greenTimeoutMinutes: 5 }));
    await c.close();
    expect(captured.map((r) => r.url)).toEqual(["/_index_template/opsfleet-app", "/app-*/_settings?allow_no_indices=true", "/app-*/_refresh", "/_cluster/health/app-*?wait_for_status=green&timeout=5m"]);
    expect((captured[0].body as any).template.settings.index).toEqual({ number_of_shards: 4, number_of_replicas: 2 });
    expect((captured[1].body as any).index.number_of_replicas).toBe(2);
  });
});

describe("the rendered curl script (what pulumi up runs) sends the same calls", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-curl-"));
    fs.writeFileSync(path.join(dir, "curlrc"), 'user = "elastic:s3cret-Pa55word!!"\n', { mode: 0o600 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const runScript = (profile: "bulk-ingest" | "normal") => {
    const s = renderCurlScript(profileRequests(profile, OPTS), { bodyDir: dir, esUrl: "https://unused:9200", curlrc: "/unused" });
    for (const f of s.files) fs.writeFileSync(f.path, f.content);
    // async: the fake Elasticsearch lives in this process, a sync spawn would block it
    const child = spawn("bash", ["-c", `set -euo pipefail\n${s.script}`], { env: { ...process.env, ES_URL: base, ES_CURLRC: path.join(dir, "curlrc") } });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
  };

  test.each([["bulk-ingest", BULK_INGEST], ["normal", NORMAL]] as const)("%s", async (profile, expected) => {
    const r = await runScript(profile);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(strip(captured)).toEqual(expected);
    expect(captured.every((c) => c.auth === AUTH)).toBe(true);
    expect(r.stdout).not.toContain("s3cret");
  });

  test("the script stops with the response when the cluster stays yellow", async () => {
    health = { status: "yellow", timed_out: true, code: 200 };
    const r = await runScript("normal");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('not green: {"cluster_name":"test","status":"yellow"');
  });

  test("the script stops at the first HTTP error", async () => {
    health = { status: "red", timed_out: true, code: 408 };
    const r = await runScript("normal");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("HTTP 408");
  });

  test("the host step carries the same bodies as the client sends", () => {
    const step = indexProfileStep({ clusterName: "c", nodes: [
      { name: "m1", role: "master", privateIp: "10.0.1.11", instanceType: "t3.medium" },
      { name: "d1", role: "data", privateIp: "10.0.1.21", instanceType: "m5.2xlarge" },
      { name: "d2", role: "data", privateIp: "10.0.2.22", instanceType: "m5.2xlarge" },
    ] }, "normal", OPTS);
    expect(step.files.map((f) => JSON.parse(f.content))).toEqual(NORMAL.filter((c) => c.body !== undefined).map((c) => c.body));
    expect(step.script).toContain('ES_URL="${ES_URL:-https://10.0.1.11:9200}"; ES_CURLRC="${ES_CURLRC:-/etc/elasticsearch/opsfleet/elastic.curlrc}"');
  });
});

test("the rendered curl config delivers every password character the stack allows, verbatim", async () => {
  // every special character opsfleet:elasticPassword may contain (stacks/config/schema.ts PASSWORD), plus quote/backslash
  const password = '!%*+,-./:;=?@^_~<>[]{}Aa0"\\';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-curlrc-"));
  try {
    fs.writeFileSync(path.join(dir, "curlrc"), renderCurlConfig("elastic", password).replace(/^cacert.*\n/m, ""));
    captured = [];
    const child = spawn("curl", ["-sS", "-K", path.join(dir, "curlrc"), `${base}/_cluster/health`]);
    await new Promise((r) => child.on("close", r));
    expect(captured[0].auth).toBe(`Basic ${Buffer.from(`elastic:${password}`).toString("base64")}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("options are validated", () => {
  expect(() => profileRequests("normal", { ...OPTS, shards: 0 })).toThrow("shards: 0 (allowed: 1..1024)");
  expect(() => profileRequests("normal", { ...OPTS, indexPattern: "Logs" })).toThrow(/indexPattern "Logs"/);
  expect(() => profileRequests("normal", { ...OPTS, replicas: -1 })).toThrow(/replicas/);
});
