import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  clusterSecurityFiles, clusterSecurityScript, clusterSecurityStep, forgetBootstrapStep, logstashWriterRole, serviceUserRequests,
} from "./cluster-steps";
import type { EsClusterLayout } from "./node-config";
import { esTestLayout } from "./test-layout";

const layout: EsClusterLayout = esTestLayout();
const users = { logstash: { username: "logstash_internal", password: "ls-Pa55word-derived", indexPattern: "logstash-*" }, kibanaSystemPassword: "kb-Pa55word-derived" };

describe("service users", () => {
  test("logstash_writer may write its own indices only", () => {
    expect(logstashWriterRole("logstash-*")).toEqual({
      cluster: ["monitor", "manage_index_templates", "manage_ilm"],
      indices: [{ names: ["logstash-*"], privileges: ["write", "create", "create_index", "manage", "auto_configure"] }],
    });
  });
  test("requests: role, user with that role, kibana_system password", () => {
    expect(serviceUserRequests(users).map((r) => [r.method, r.path, r.body])).toEqual([
      ["PUT", "/_security/role/logstash_writer", logstashWriterRole("logstash-*")],
      ["PUT", "/_security/user/logstash_internal", { password: "ls-Pa55word-derived", roles: ["logstash_writer"], full_name: "Logstash (opsfleet)" }],
      ["POST", "/_security/user/kibana_system/_password", { password: "kb-Pa55word-derived" }],
    ]);
    expect(serviceUserRequests({})).toEqual([]);
  });
  test("passwords only in root-only files; the script is the same whatever the passwords are", () => {
    const step = clusterSecurityStep(layout, "elastic-Pa55word!!", users);
    for (const f of step.files) expect(f).toMatchObject({ mode: "0600", owner: "root", group: "root" });
    expect(step.files.map((f) => f.path)).toEqual([
      "/etc/elasticsearch/opsfleet/elastic-password.json",
      "/etc/elasticsearch/opsfleet/requests/users/01.json",
      "/etc/elasticsearch/opsfleet/requests/users/02.json",
      "/etc/elasticsearch/opsfleet/requests/users/03.json",
    ]);
    for (const secret of ["elastic-Pa55word", "ls-Pa55word", "kb-Pa55word"]) expect(step.script).not.toContain(secret);
    const other = { ...users, logstash: { ...users.logstash, password: "x" }, kibanaSystemPassword: "y" };
    expect(clusterSecurityScript(layout, other)).toBe(step.script);
    expect(step.script).toContain("wait_for_nodes=%3E%3D5&wait_for_status=yellow");
    expect(spawnSync("bash", ["-n"], { input: step.script }).status).toBe(0);
  });
  test("forget-bootstrap script is valid bash and restarts nothing", () => {
    const s = forgetBootstrapStep().script;
    expect(spawnSync("bash", ["-n"], { input: s }).status).toBe(0);
    expect(s).not.toMatch(/systemctl|\bkill\b|runuser|elasticsearch -d/);
  });
});

describe("security script against a local server that authenticates like Elasticsearch", () => {
  let server: http.Server;
  let base: string;
  let current: string; // the elastic password the "cluster" accepts
  let seen: { method: string; url: string; body: unknown; user: string }[];
  let dir: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let raw = "";
      req.on("data", (c) => (raw += c));
      req.on("end", () => {
        const [user, pw] = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString().split(/:(.*)/s);
        seen.push({ method: req.method!, url: req.url!, body: raw ? JSON.parse(raw) : undefined, user });
        const send = (code: number, body: unknown) => { res.writeHead(code, { "content-type": "application/json", "x-elastic-product": "Elasticsearch" }); res.end(JSON.stringify(body)); };
        if (user !== "elastic" || pw !== current) return send(401, { error: "unable to authenticate user [elastic]" });
        if (req.url === "/_security/user/elastic/_password") current = JSON.parse(raw).password;
        send(200, req.url!.startsWith("/_cluster/health") ? { status: "green", timed_out: false } : { acknowledged: true });
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => { seen = []; dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-sec-")); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs the real step (files + script), relocated from /etc/elasticsearch to a scratch dir and from the first master to the local server. */
  const runStep = (password: string, appliedPassword?: string) => {
    const conf = path.join(dir, "etc");
    const relocate = (s: string) => s.split("/etc/elasticsearch").join(conf).split("https://10.0.1.11:9200").join(base);
    for (const f of clusterSecurityFiles(password, users)) {
      fs.mkdirSync(path.dirname(relocate(f.path)), { recursive: true });
      fs.writeFileSync(relocate(f.path), f.content);
    }
    fs.writeFileSync(path.join(conf, "opsfleet", "elastic.curlrc"), `user = "elastic:${password}"\n`);
    if (appliedPassword) fs.writeFileSync(path.join(conf, "opsfleet", "elastic-applied.curlrc"), `user = "elastic:${appliedPassword}"\n`);
    const child = spawn("bash", ["-c", `set -euo pipefail\n${relocate(clusterSecurityScript(layout, users))}`]);
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    return new Promise<{ status: number | null; stdout: string; stderr: string; applied: string }>((resolve) =>
      child.on("close", (status) => resolve({ status, stdout, stderr, applied: fs.readFileSync(path.join(conf, "opsfleet", "elastic-applied.curlrc"), "utf8") })));
  };

  test("first formation: waits for all nodes, verifies the password, creates the service users, remembers the working password", async () => {
    current = "elastic-Pa55word!!";
    const r = await runStep("elastic-Pa55word!!");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /_cluster/health?wait_for_nodes=%3E%3D5&wait_for_status=yellow&timeout=10s",
      "PUT /_security/role/logstash_writer",
      "PUT /_security/user/logstash_internal",
      "POST /_security/user/kibana_system/_password",
      "PUT /_cluster/settings", // the mark the node health gates look for
    ]);
    expect(seen[seen.length - 1].body).toEqual({ persistent: { "cluster.metadata.opsfleet_formed": "true" } });
    expect(seen[2].body).toEqual({ password: "ls-Pa55word-derived", roles: ["logstash_writer"], full_name: "Logstash (opsfleet)" });
    expect(r.applied).toBe('user = "elastic:elastic-Pa55word!!"\n');
    expect(r.stdout).not.toMatch(/Pa55word/);
  });

  test("password rotation: the new password is refused, the last working one authorises the change", async () => {
    current = "old-elastic-Pa55word";
    const r = await runStep("new-elastic-Pa55word", "old-elastic-Pa55word");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(current).toBe("new-elastic-Pa55word");
    const change = seen.find((s) => s.url === "/_security/user/elastic/_password")!;
    expect(change).toMatchObject({ method: "POST", user: "elastic", body: { password: "new-elastic-Pa55word" } });
    expect(r.stdout).toContain("elastic password changed in config: applying it");
    expect(r.applied).toBe('user = "elastic:new-elastic-Pa55word"\n');
  });
});
