import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { elasticsearchHealthStep, ES_FORMED_SETTING } from "./health";
import type { EsClusterLayout } from "./node-config";

const layout: EsClusterLayout = {
  clusterName: "prod-logs",
  nodes: [
    { name: "m1", role: "master", privateIp: "10.0.1.11", instanceType: "t3.medium" },
    { name: "m2", role: "master", privateIp: "10.0.2.12", instanceType: "t3.medium" },
    { name: "m3", role: "master", privateIp: "10.0.3.13", instanceType: "t3.medium" },
    { name: "d1", role: "data", privateIp: "10.0.1.21", instanceType: "m5.2xlarge" },
  ],
};

/** A local stand-in for the node's HTTP API: answers like Elasticsearch in the state the test sets. */
describe("node health gate against a local server that answers like Elasticsearch", () => {
  let server: http.Server;
  let base: string;
  let state: { master: boolean; formed: boolean; greenAfter: number; password: string; nodes?: string[] };
  let healthCalls: string[];
  let dir: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const pw = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString().split(/:(.*)/s)[1];
      const send = (code: number, body: unknown) => { res.writeHead(code, { "content-type": "application/json" }); res.end(JSON.stringify(body)); };
      if (pw !== state.password) return send(401, { error: "unable to authenticate user [elastic]" });
      if (!state.master) return send(503, { error: { type: "master_not_discovered_exception" } });
      if (req.url!.startsWith("/_cluster/settings")) return send(200, state.formed ? { persistent: { [ES_FORMED_SETTING]: "true" } } : {});
      if (req.url!.startsWith("/_cat/nodes")) { res.writeHead(200, { "content-type": "text/plain" }); return res.end((state.nodes ?? ["m1", "m2", "m3", "d1"]).join("\n") + "\n"); }
      if (req.url!.startsWith("/_cluster/health")) {
        healthCalls.push(req.url!);
        const green = !req.url!.includes("wait_for_status=green") || healthCalls.length > state.greenAfter;
        return send(green ? 200 : 408, { status: green ? "green" : "yellow", timed_out: !green });
      }
      send(404, {});
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    healthCalls = [];
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-esh-"));
    fs.mkdirSync(path.join(dir, "opsfleet"));
    fs.writeFileSync(path.join(dir, "opsfleet", "elastic.curlrc"), `user = "elastic:elastic-Pa55word"\n`);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (o = { masterWaitSeconds: 2, greenTimeoutSeconds: 60 }) => {
    const script = elasticsearchHealthStep(layout, "d1", o).script.split("https://10.0.1.21:9200").join(base);
    const child = spawn("bash", ["-c", `set -euo pipefail\n${script}`], { env: { ...process.env, OPSFLEET_ES_CONF: dir } });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
  };
  const last = (s: string) => s.trim().split("\n").pop();

  test("first creation, no elected master yet: passes (the next node must be created for the cluster to form)", async () => {
    state = { master: false, formed: false, greenAfter: 0, password: "elastic-Pa55word" };
    const r = await run();
    expect(r.status).toBe(0);
    expect(last(r.stdout)).toBe("opsfleet-es-health: not-formed");
  }, 30_000);

  test("first creation, a master but the cluster never completed: passes without waiting for green", async () => {
    state = { master: true, formed: false, greenAfter: 1000, password: "elastic-Pa55word" };
    const r = await run();
    expect(r.status).toBe(0);
    expect(last(r.stdout)).toBe("opsfleet-es-health: not-formed");
    expect(healthCalls.filter((u) => u.includes("green"))).toEqual([]);
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
    expect(r.stderr).toContain("cluster prod-logs not green with d1 joined after 3 s");
  }, 30_000);

  test("a formed cluster that stays yellow: fails after the timeout (the next node is not touched)", async () => {
    state = { master: true, formed: true, greenAfter: 1000, password: "elastic-Pa55word" };
    const r = await run({ masterWaitSeconds: 2, greenTimeoutSeconds: 3 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("cluster prod-logs not green with d1 joined after 3 s");
  }, 30_000);

  test("refused credentials fail at once (never taken for a cluster still forming)", async () => {
    state = { master: true, formed: true, greenAfter: 0, password: "another-password" };
    const r = await run();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("the elastic credentials were refused (HTTP 401)");
  }, 30_000);
});
