import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "@elastic/elasticsearch";
import { dataNodesStep, drainRequests, EXCLUDE_NAME, RECORD_SETTING } from "./data-nodes";
import { requestUrlPath } from "./es-requests";
import type { EsClusterLayout } from "./node-config";

const layout = (data: string[]): EsClusterLayout => ({
  clusterName: "prod-logs",
  nodes: [
    { name: "m1", role: "master", privateIp: "10.0.1.11", instanceType: "t3.medium" },
    { name: "m2", role: "master", privateIp: "10.0.2.12", instanceType: "t3.medium" },
    { name: "m3", role: "master", privateIp: "10.0.3.13", instanceType: "t3.medium" },
    ...data.map((name, i) => ({ name, role: "data" as const, privateIp: `10.0.${i + 1}.2${i + 1}`, instanceType: "m5.2xlarge" })),
  ],
});

/**
 * A small Elasticsearch stand-in: nodes with roles and shard counts; honours the allocation
 * exclusion by moving one shard per poll off each excluded node (to the emptiest allowed data node).
 */
let server: http.Server;
let base: string;
let nodes: Map<string, { roles: string; shards: number }>;
/** A cluster that acknowledges a settings update without applying it (what a read-back must catch). */
let ignorePuts: boolean;
let persistent: Record<string, string>;
let transient: Record<string, string>;
let frozen: boolean;
/** The exclusion in force (a transient value overrides the persistent one, as in Elasticsearch). */
const exclusionNow = () => transient[EXCLUDE_NAME] ?? persistent[EXCLUDE_NAME] ?? null;
let seen: { method: string; url: string; body: unknown }[];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const url = decodeURIComponent(req.url!);
      seen.push({ method: req.method!, url, body: raw ? JSON.parse(raw) : undefined });
      const text = (body: string) => { res.writeHead(200, { "content-type": "text/plain", "x-elastic-product": "Elasticsearch" }); res.end(body); };
      const json = (body: unknown) => { res.writeHead(200, { "content-type": "application/json", "x-elastic-product": "Elasticsearch" }); res.end(JSON.stringify(body)); };
      const excluded = (n: string) => (exclusionNow() ?? "").split(",").includes(n);
      if (req.method === "GET" && url.startsWith("/_cat/nodes")) return text([...nodes].map(([n, v]) => `${n} ${v.roles}\n`).join(""));
      if (req.method === "PUT" && url === "/_cluster/settings") {
        const body = JSON.parse(raw) as { persistent?: Record<string, string | null> };
        for (const [k, v] of Object.entries(body.persistent ?? {})) {
          if (v === null) delete persistent[k];
          else if (!ignorePuts) persistent[k] = v;
        }
        return json({ acknowledged: true, persistent: body.persistent ?? {}, transient: {} });
      }
      // flat_settings=true: { "persistent": { "a.b.c": "v" }, "transient": {} }
      if (req.method === "GET" && url.startsWith("/_cluster/settings")) return json({ persistent, transient });
      if (req.method === "GET" && url.startsWith("/_cat/allocation")) {
        const targets = [...nodes].filter(([n, v]) => v.roles.includes("d") && !excluded(n));
        for (const [n, v] of nodes) {
          if (frozen || !excluded(n) || v.shards === 0 || targets.length === 0) continue;
          v.shards--;
          targets.sort((a, b) => a[1].shards - b[1].shards)[0][1].shards++;
        }
        return text([...nodes].filter(([, v]) => v.roles.includes("d")).map(([n, v]) => `${v.shards} ${n}\n`).join(""));
      }
      res.writeHead(404, { "x-elastic-product": "Elasticsearch" });
      res.end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

let dir: string;
beforeEach(() => {
  nodes = new Map([["m1", { roles: "m", shards: 0 }], ["m2", { roles: "m", shards: 0 }], ["m3", { roles: "m", shards: 0 }],
    ["d1", { roles: "di", shards: 4 }], ["d2", { roles: "di", shards: 4 }], ["d3", { roles: "di", shards: 4 }]]);
  persistent = {};
  transient = {};
  ignorePuts = false;
  frozen = false;
  seen = [];
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-drain-"));
  fs.writeFileSync(path.join(dir, "curlrc"), 'user = "elastic:s3cret-Pa55word"\n', { mode: 0o600 });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the rendered step's script for real (bash + curl) against the stand-in. */
function runStep(data: string[], env: Record<string, string> = {}) {
  const step = dataNodesStep(layout(data), { timeoutMinutes: 30 });
  const child = spawn("bash", ["-c", `set -euo pipefail\n${step.script}`], {
    env: { ...process.env, ES_URL: base, ES_CURLRC: path.join(dir, "curlrc"), DRAIN_POLL_SECONDS: "0.05", ...env },
  });
  let stdout = "", stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
}

/** What the previous run recorded (its layout's data nodes). */
const recorded = (names: string[]) => { persistent[RECORD_SETTING] = names.join(","); };

test("the step sends exactly the calls the official client's typed API sends for the same drain", async () => {
  const client = new Client({ node: base, auth: { username: "elastic", password: "s3cret-Pa55word" } });
  await client.cluster.getSettings({ flat_settings: true });
  await client.cat.nodes({ h: "name,node.role" });
  await client.cluster.putSettings({ persistent: { [EXCLUDE_NAME]: "d3" } });
  await client.cat.allocation({ h: "shards,node" });
  await client.cluster.putSettings({ persistent: { [RECORD_SETTING]: "d1,d2" } });
  await client.cluster.putSettings({ persistent: { [EXCLUDE_NAME]: null } });
  const typed = seen.map((s) => ({ ...s, url: s.url.replace(/[?&]format=text\b/, "") }));
  // our request data: the same paths and bodies
  const ours = [drainRequests.settings(), drainRequests.nodes(), drainRequests.exclude(["d3"]), drainRequests.allocation(),
    drainRequests.record(["d1", "d2"]), drainRequests.exclude([])];
  expect(ours.map((r) => ({ method: r.method, url: decodeURIComponent(requestUrlPath(r)), body: r.body }))).toEqual(typed);
  await client.close();

  // and the rendered bash sends them too (the scale-in run, then the run after the host is gone)
  persistent = {};
  recorded(["d1", "d2", "d3"]);
  nodes.set("d3", { roles: "di", shards: 0 });
  seen = [];
  expect((await runStep(["d1", "d2"])).status).toBe(0);
  nodes.delete("d3");
  expect((await runStep(["d1", "d2"])).status).toBe(0);
  expect(seen).toEqual([typed[0], typed[1], typed[2], typed[0], typed[3], typed[4], typed[0], typed[1], typed[5], typed[4]]);
});

test("scale-in: the node the layout no longer lists is excluded (read back), and the step returns only once it holds no shard", async () => {
  recorded(["d1", "d2", "d3"]);
  const r = await runStep(["d1", "d2"]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(persistent[EXCLUDE_NAME]).toBe("d3");
  expect(persistent[RECORD_SETTING]).toBe("d1,d2");
  expect(nodes.get("d3")!.shards).toBe(0);
  expect(nodes.get("d1")!.shards + nodes.get("d2")!.shards).toBe(12);
  expect(r.stdout).toMatch(/data nodes leaving: d3; excluding them[\s\S]*waiting for the shards to move off: d3=\d+[\s\S]*data nodes d3 hold no shard/);
  expect(seen.filter((s) => s.url.startsWith("/_cat/allocation")).length).toBeGreaterThan(1);
  expect(r.stdout).not.toContain("s3cret");
});

test("a leaving node absent from the cluster (restarting, partitioned) is not taken as drained: the step fails, nothing is excluded or recorded", async () => {
  recorded(["d1", "d2", "d3"]);
  nodes.delete("d3"); // not in the node list right now, its disk still holding 4 shards
  const r = await runStep(["d1", "d2"]);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/data nodes leaving but absent from the cluster: d3\. An absent node cannot be shown to hold no shard .* nothing is deleted/);
  expect(persistent[EXCLUDE_NAME]).toBeUndefined();
  expect(persistent[RECORD_SETTING]).toBe("d1,d2,d3"); // the next run still knows d3 leaves
  // it comes back: the next run drains it
  nodes.set("d3", { roles: "di", shards: 4 });
  expect((await runStep(["d1", "d2"])).status).toBe(0);
  expect(nodes.get("d3")!.shards).toBe(0);
});

test("a leaving node that drops out of the cluster during the drain is not empty: the step fails at its timeout, naming it absent", async () => {
  recorded(["d1", "d2", "d3"]);
  frozen = true;
  const run = runStep(["d1", "d2"], { DRAIN_TIMEOUT_SECONDS: "2" });
  await new Promise((res) => setTimeout(res, 500));
  nodes.delete("d3");
  const r = await run;
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/data nodes not shown empty after 2 s: d3=absent .*nothing is deleted/);
  expect(persistent[RECORD_SETTING]).toBe("d1,d2,d3");
});

test("the exclusion is read back: acknowledged but not applied, or overridden by a transient value, fails at once", async () => {
  recorded(["d1", "d2", "d3"]);
  ignorePuts = true;
  let r = await runStep(["d1", "d2"], { DRAIN_TIMEOUT_SECONDS: "30" });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/the allocation exclusion did not apply: persistent cluster\.routing\.allocation\.exclude\._name='', transient '', wanted 'd3'/);
  ignorePuts = false;
  transient[EXCLUDE_NAME] = "d9";
  r = await runStep(["d1", "d2"], { DRAIN_TIMEOUT_SECONDS: "30" });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/did not apply: persistent .*='d3', transient 'd9', wanted 'd3' \(a transient value overrides/);
  expect(nodes.get("d3")!.shards).toBe(4);
});

test("two nodes leave at once; nothing else is excluded; a re-run after they are gone clears the exclusion", async () => {
  nodes.set("d4", { roles: "di", shards: 2 });
  recorded(["d1", "d2", "d3", "d4"]);
  let r = await runStep(["d1", "d2"]);
  expect(r.status).toBe(0);
  expect(persistent[EXCLUDE_NAME]).toBe("d3,d4");
  expect([nodes.get("d3")!.shards, nodes.get("d4")!.shards]).toEqual([0, 0]);
  nodes.delete("d3"); nodes.delete("d4"); // Pulumi deleted the hosts
  r = await runStep(["d1", "d2"]);
  expect(r.status).toBe(0);
  expect(persistent[EXCLUDE_NAME]).toBeUndefined();
  expect(r.stdout).toContain("no data node leaves: allocation exclusion cleared");
});

test("no record yet (first run of this step): the present data nodes the layout does not list leave", async () => {
  const r = await runStep(["d1", "d2"]);
  expect(r.status).toBe(0);
  expect(persistent[EXCLUDE_NAME]).toBe("d3");
  expect(nodes.get("d3")!.shards).toBe(0);
});

test("scale-out (a new listed node) and an unchanged list exclude nothing; the record follows the layout", async () => {
  recorded(["d1", "d2", "d3"]);
  nodes.set("d4", { roles: "di", shards: 0 });
  persistent[EXCLUDE_NAME] = "d4"; // e.g. left over from an earlier scale-in whose name is re-used
  const r = await runStep(["d1", "d2", "d3", "d4"]);
  expect(r.status).toBe(0);
  expect(persistent[EXCLUDE_NAME]).toBeUndefined();
  expect(persistent[RECORD_SETTING]).toBe("d1,d2,d3,d4");
  expect(seen.map((s) => s.method + " " + s.url.split("?")[0])).toEqual(["GET /_cluster/settings", "GET /_cat/nodes", "PUT /_cluster/settings", "PUT /_cluster/settings"]);
});

test("shards that cannot move (too few nodes, disk watermark): the step fails after its timeout, naming the node, and deletes nothing", async () => {
  recorded(["d1", "d2", "d3"]);
  frozen = true;
  const r = await runStep(["d1", "d2"], { DRAIN_TIMEOUT_SECONDS: "1" });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/data nodes not shown empty after 1 s: d3=4 .*nothing is deleted/);
  expect(persistent[RECORD_SETTING]).toBe("d1,d2,d3");
});

test("an HTTP error stops the step with the response", async () => {
  const r = await runStep(["d1", "d2"], { ES_URL: `${base}/nope` });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain("HTTP 404");
});

test("only data-role nodes leave (a master or a coordinating node is never excluded); the script is valid bash", async () => {
  nodes.set("c1", { roles: "-", shards: 0 });
  nodes.set("m4", { roles: "m", shards: 0 });
  expect((await runStep(["d1", "d2", "d3"])).status).toBe(0);
  expect(persistent[EXCLUDE_NAME]).toBeUndefined();
  const s = dataNodesStep(layout(["d1", "d2"]), { timeoutMinutes: 5 });
  expect(s.script).toContain("KEEP='d1 d2'");
  expect(s.script).toContain('ES_URL="${ES_URL:-https://10.0.1.11:9200}"');
  expect(spawnSync("bash", ["-n"], { input: s.script }).status).toBe(0);
  expect(() => dataNodesStep(layout(["d1"]), { timeoutMinutes: 0 })).toThrow(/timeoutMinutes: got 0/);
});
