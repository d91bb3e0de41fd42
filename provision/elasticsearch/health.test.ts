import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { elasticsearchHealthStep, ES_FORMED_SETTING } from "./health";
import type { EsClusterLayout } from "./node-config";
import { esTestLayout } from "./test-layout";

const layout: EsClusterLayout = esTestLayout({ dataNodes: 1 });

// Answers as Elasticsearch 8 gives them (status codes, headers, bodies).
const MASTER_NOT_DISCOVERED = {
  error: { root_cause: [{ type: "master_not_discovered_exception", reason: null }], type: "master_not_discovered_exception", reason: null },
  status: 503,
};
const unauthenticated = (path: string) => ({
  error: {
    root_cause: [{ type: "security_exception", reason: `unable to authenticate user [elastic] for REST request [${path}]`, header: { "WWW-Authenticate": ["Basic realm=\"security\" charset=\"UTF-8\"", "ApiKey"] } }],
    type: "security_exception", reason: `unable to authenticate user [elastic] for REST request [${path}]`,
    header: { "WWW-Authenticate": ["Basic realm=\"security\" charset=\"UTF-8\"", "ApiKey"] },
  },
  status: 401,
});
const health = (status: string, timedOut: boolean) => ({
  cluster_name: "prod-logs", status, timed_out: timedOut, number_of_nodes: 4, number_of_data_nodes: 1, active_primary_shards: 3,
  active_shards: status === "green" ? 6 : 3, relocating_shards: 0, initializing_shards: 0, unassigned_shards: status === "green" ? 0 : 3,
  delayed_unassigned_shards: 0, number_of_pending_tasks: 0, number_of_in_flight_fetch: 0, task_max_waiting_in_queue_millis: 0,
  active_shards_percent_as_number: status === "green" ? 100.0 : 50.0,
});

/** A local stand-in for the node's HTTP API: answers like Elasticsearch in the state the test sets. */
describe("node health gate against a local server that answers like Elasticsearch", () => {
  let server: http.Server;
  let base: string;
  let closedPort: number;
  let state: { master: boolean; formed: boolean; greenAfter: number; password: string; nodes?: string[]; settingsErrors?: number };
  let healthCalls: string[];
  let settingsCalls: number;
  let dir: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const pw = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString().split(/:(.*)/s)[1];
      const path = req.url!.split("?")[0];
      const send = (code: number, body: unknown) => {
        res.writeHead(code, { "content-type": "application/json", "x-elastic-product": "Elasticsearch" });
        res.end(JSON.stringify(body));
      };
      if (pw !== state.password) return send(401, unauthenticated(path));
      if (!state.master) return send(503, MASTER_NOT_DISCOVERED);
      if (path === "/_cluster/settings") {
        // e.g. the elected master was lost between the two calls
        if (settingsCalls++ < (state.settingsErrors ?? 0)) return send(503, MASTER_NOT_DISCOVERED);
        return send(200, state.formed ? { persistent: { [ES_FORMED_SETTING]: "true" } } : {});
      }
      if (path === "/_cat/nodes") {
        res.writeHead(200, { "content-type": "text/plain; charset=UTF-8", "x-elastic-product": "Elasticsearch" });
        return res.end((state.nodes ?? ["m1", "m2", "m3", "d1"]).join("\n") + "\n");
      }
      if (path === "/_cluster/health") {
        healthCalls.push(req.url!);
        const green = !req.url!.includes("wait_for_status=green") || healthCalls.length > state.greenAfter;
        return send(green ? 200 : 408, health(green ? "green" : "yellow", !green));
      }
      send(404, {});
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // a port nothing listens on: what a node that is down (or not started) answers
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    healthCalls = [];
    settingsCalls = 0;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-esh-"));
    fs.mkdirSync(path.join(dir, "opsfleet"));
    fs.mkdirSync(path.join(dir, "data"));
    fs.writeFileSync(path.join(dir, "opsfleet", "elastic.curlrc"), `user = "elastic:elastic-Pa55word"\n`);
    fs.writeFileSync(path.join(dir, "elasticsearch.yml"), "cluster.name: prod-logs\nnode.name: d1\n");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A master's config as its config step leaves it on the first formation (no cluster answered). */
  const bootstrappingMaster = () =>
    fs.writeFileSync(path.join(dir, "elasticsearch.yml"), "cluster.name: prod-logs\nnode.name: m1\ncluster.initial_master_nodes:\n  - m1\n  - m2\n  - m3\n");

  const run = (o = { masterWaitSeconds: 2, greenTimeoutSeconds: 60 }, nodeName = "d1", url = base) => {
    const ip = layout.nodes.find((n) => n.name === nodeName)!.privateIp;
    const script = elasticsearchHealthStep(layout, nodeName, o).script.split(`https://${ip}:9200`).join(url);
    const child = spawn("bash", ["-c", `set -euo pipefail\n${script}`], { env: { ...process.env, OPSFLEET_ES_CONF: dir, OPSFLEET_ES_DATA: path.join(dir, "data") } });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
  };
  const last = (s: string) => s.trim().split("\n").pop();
  const short = { masterWaitSeconds: 2, greenTimeoutSeconds: 3 };

  test("first creation, a master bootstrapping the first formation and no elected master yet: passes (the next master is needed)", async () => {
    state = { master: false, formed: false, greenAfter: 0, password: "elastic-Pa55word" };
    bootstrappingMaster();
    const r = await run(undefined, "m1");
    expect(r.status).toBe(0);
    expect(last(r.stdout)).toBe("opsfleet-es-health: not-formed");
    expect(r.stdout).toContain("bootstrapping the first formation");
  }, 30_000);

  test("no elected master on a data node (never bootstrapping): not taken for a first creation, fails after the timeout", async () => {
    state = { master: false, formed: false, greenAfter: 0, password: "elastic-Pa55word" };
    const r = await run(short);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain("opsfleet-es-health");
    expect(r.stderr).toContain("no elected master on d1 after 3 s; last answer: HTTP 503: {\"error\":{\"root_cause\":[{\"type\":\"master_not_discovered_exception\"");
  }, 30_000);

  /** A replaced master as it really is: a new root volume (no marker there, the package's yml), its old data volume (state + marker). */
  const replacedMaster = (yml: string) => {
    fs.writeFileSync(path.join(dir, "elasticsearch.yml"), yml);
    fs.mkdirSync(path.join(dir, "data", "_state"));
    fs.writeFileSync(path.join(dir, "data", "opsfleet-cluster-formed"), "");
  };

  test.each([
    // what the config step leaves on it: no initial masters (its data holds cluster state)
    ["no elected master on a replaced master of a formed cluster (data volume moved, root volume new): fails", "cluster.name: prod-logs\nnode.name: m1\n"],
    ["no elected master on a replaced master that carries initial masters (config of earlier releases): the data volume's marker still fails it",
      "cluster.name: prod-logs\nnode.name: m1\ncluster.initial_master_nodes:\n  - m1\n  - m2\n  - m3\n"],
  ])("%s", async (_title, yml) => {
    state = { master: false, formed: true, greenAfter: 0, password: "elastic-Pa55word" };
    replacedMaster(yml);
    const r = await run(short, "m1");
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain("opsfleet-es-health");
    expect(r.stderr).toContain("no elected master on m1 after 3 s; last answer: HTTP 503");
  }, 30_000);

  test("the node does not answer at all: retried until the timeout, then fails (even a bootstrapping master)", async () => {
    state = { master: true, formed: true, greenAfter: 0, password: "elastic-Pa55word" };
    bootstrappingMaster();
    const r = await run(short, "m1", `http://127.0.0.1:${closedPort}`);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain("opsfleet-es-health");
    expect(r.stderr).toContain("no elected master on m1 after 3 s; last answer: HTTP 000 (no answer)");
  }, 30_000);

  test("first creation, a master but the cluster never completed: passes without waiting for green", async () => {
    state = { master: true, formed: false, greenAfter: 1000, password: "elastic-Pa55word" };
    const r = await run();
    expect(r.status).toBe(0);
    expect(last(r.stdout)).toBe("opsfleet-es-health: not-formed");
    expect(healthCalls.filter((u) => u.includes("green"))).toEqual([]);
  }, 30_000);

  test("the settings read keeps failing: never taken for a cluster that was not formed, fails after the timeout", async () => {
    state = { master: true, formed: true, greenAfter: 0, password: "elastic-Pa55word", settingsErrors: 1000 };
    const r = await run(short);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain("opsfleet-es-health");
    expect(r.stderr).toContain("cannot read the persistent cluster settings after 3 s; last answer: HTTP 503");
    expect(settingsCalls).toBeGreaterThan(1);
  }, 30_000);

  test("the settings read fails, then answers: retried, and a formed cluster waits for green", async () => {
    state = { master: true, formed: true, greenAfter: 1, password: "elastic-Pa55word", settingsErrors: 2 };
    const r = await run();
    expect(r.status).toBe(0);
    expect(last(r.stdout)).toBe("opsfleet-es-health: green");
    expect(settingsCalls).toBe(3);
  }, 30_000);

  test("a formed cluster (replacement): waits until green, then passes", async () => {
    state = { master: true, formed: true, greenAfter: 3, password: "elastic-Pa55word" };
    const r = await run();
    expect(r.status).toBe(0);
    expect(last(r.stdout)).toBe("opsfleet-es-health: green");
    expect(healthCalls.filter((u) => u.includes("wait_for_status=green&timeout=50s")).length).toBe(3);
  }, 30_000);

  test("green, but this node has not joined (yet): keeps waiting", async () => {
    state = { master: true, formed: true, greenAfter: 0, password: "elastic-Pa55word", nodes: ["m1", "m2", "m3"] };
    const r = await run({ masterWaitSeconds: 2, greenTimeoutSeconds: 3 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("cluster prod-logs not green with d1 joined after 3 s (d1 not in _cat/nodes");
  }, 30_000);

  test("a formed cluster that stays yellow: fails after the timeout (the next node is not touched)", async () => {
    state = { master: true, formed: true, greenAfter: 1000, password: "elastic-Pa55word" };
    const r = await run({ masterWaitSeconds: 2, greenTimeoutSeconds: 3 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("cluster prod-logs not green with d1 joined after 3 s (d1 joined; last health answer: HTTP 408: {\"cluster_name\":\"prod-logs\",\"status\":\"yellow\",\"timed_out\":true");
  }, 30_000);

  test("refused credentials fail at once (never taken for a cluster still forming)", async () => {
    state = { master: true, formed: true, greenAfter: 0, password: "another-password" };
    const r = await run();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("the elastic credentials were refused (HTTP 401)");
  }, 30_000);
});
