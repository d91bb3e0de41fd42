import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "@elastic/elasticsearch";
import { applyRequests } from "../elasticsearch/apply-requests";
import { ES_BACKUP_PATHS, ES_REPOSITORY, ES_SLM_POLICY, renderEsSnapshotStep, restoreRequests, snapshotNowRequests, snapshotSetupRequests, type EsSnapshotOptions } from "./elasticsearch";

const opts: EsSnapshotOptions = {
  bucket: "dev-backups-a1b2", basePath: "elasticsearch/dev-es", schedule: { intervalHours: 24, startTime: "01:30" }, expireAfterDays: 14, minCount: 5, maxCount: 50,
};

describe("Elasticsearch snapshots: the REST calls, through the official client and as the rendered curl step", () => {
  let server: http.Server;
  let base: string;
  let seen: { method: string; url: string; body: any; user: string }[];
  // GET _slm/policy/<id> as Elasticsearch 8 answers it (SnapshotLifecyclePolicyMetadata)
  let slmAnswer: unknown;
  const slm = (lastSuccessMs?: number, lastFailureMs?: number) => ({
    [ES_SLM_POLICY]: {
      version: 1, modified_date_millis: 1764460000000, policy: { name: "<opsfleet-{now/d}>", schedule: "0 30 1/24 * * ?", repository: ES_REPOSITORY },
      ...(lastSuccessMs ? { last_success: { snapshot_name: "opsfleet-2026.11.30-01.30-ok", start_time: lastSuccessMs - 4000, time: lastSuccessMs } } : {}),
      ...(lastFailureMs ? { last_failure: { snapshot_name: "opsfleet-2026.11.29-01.30-x", time: lastFailureMs, details: '{"type":"repository_exception","reason":"[opsfleet-s3] {boom}"}' } } : {}),
      next_execution_millis: 1764552600000, stats: { policy: ES_SLM_POLICY, snapshots_taken: 3, snapshots_failed: 1 },
    },
  });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let raw = "";
      req.on("data", (c) => (raw += c));
      req.on("end", () => {
        const user = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString().split(":")[0];
        seen.push({ method: req.method!, url: req.url!, body: raw ? JSON.parse(raw) : undefined, user });
        const send = (code: number, body: unknown) => { res.writeHead(code, { "content-type": "application/json", "x-elastic-product": "Elasticsearch" }); res.end(JSON.stringify(body)); };
        if (req.url!.startsWith("/_cluster/health")) return send(200, { status: "green", timed_out: false });
        if (req.url!.endsWith("/_verify")) return send(200, { nodes: { a: { name: "es-0" } } });
        if (req.url!.includes("/_restore")) return send(200, { snapshot: { snapshot: "s", indices: ["app-1"], shards: { total: 1, failed: 0, successful: 1 } } });
        if (req.url!.endsWith("/_execute")) return send(200, { snapshot_name: "opsfleet-2026.11.30-06.30" });
        if (req.url!.endsWith("/_all")) return send(200, { snapshots: [] });
        if (req.method === "GET" && req.url === `/_slm/policy/${ES_SLM_POLICY}`) return send(200, slmAnswer);
        send(200, { acknowledged: true });
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => { seen = []; });

  test("setup: the repository in the bucket under its prefix, verified, then the SLM policy with schedule and retention", async () => {
    const client = new Client({ node: base, auth: { username: "elastic", password: "pw" } });
    await applyRequests(client, snapshotSetupRequests(opts));
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      `PUT /_snapshot/${ES_REPOSITORY}`, `POST /_snapshot/${ES_REPOSITORY}/_verify`, `PUT /_slm/policy/${ES_SLM_POLICY}`,
    ]);
    expect(seen[0].body).toEqual({ type: "s3", settings: { bucket: "dev-backups-a1b2", base_path: "elasticsearch/dev-es", compress: true } });
    expect(seen[2].body).toMatchObject({
      schedule: "0 30 1/24 * * ?", repository: ES_REPOSITORY, config: { indices: ["*"], include_global_state: true },
      retention: { expire_after: "14d", min_count: 5, max_count: 50 },
    });
    await client.close();
  });

  test("snapshot now, list, restore (wait for completion, then green)", async () => {
    const client = new Client({ node: base, auth: { username: "elastic", password: "pw" } });
    await applyRequests(client, [...snapshotNowRequests(), ...restoreRequests("opsfleet-2026.11.30-06.30", { indices: "app-*" })]);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      `POST /_slm/policy/${ES_SLM_POLICY}/_execute`, `GET /_snapshot/${ES_REPOSITORY}/_all`,
      `POST /_snapshot/${ES_REPOSITORY}/opsfleet-2026.11.30-06.30/_restore?wait_for_completion=true`, "GET /_cluster/health?wait_for_status=green&timeout=30m",
    ]);
    expect(seen[2].body).toEqual({ indices: "app-*", include_global_state: false, include_aliases: true });
    await client.close();
  });

  test("the provisioning step sends the same calls with curl, authenticated from the root-only curlrc", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-es-snap-"));
    try {
      const step = renderEsSnapshotStep(opts, "https://10.0.1.11:9200");
      const relocate = (s: string) => s.split("/etc/elasticsearch").join(dir);
      for (const f of step.files) {
        fs.mkdirSync(path.dirname(relocate(f.path)), { recursive: true });
        fs.writeFileSync(relocate(f.path), f.content, { mode: 0o600 });
      }
      fs.writeFileSync(path.join(dir, "curlrc"), 'user = "elastic:pw"\n', { mode: 0o600 });
      const child = spawn("bash", ["-c", `set -euo pipefail\n${relocate(step.script)}`], { env: { ...process.env, ES_URL: base, ES_CURLRC: path.join(dir, "curlrc") } });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const status = await new Promise<number | null>((r) => child.on("close", r));
      expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
      expect(seen.map((s) => `${s.method} ${s.url} ${s.user}`)).toEqual([
        `PUT /_snapshot/${ES_REPOSITORY} elastic`, `POST /_snapshot/${ES_REPOSITORY}/_verify elastic`, `PUT /_slm/policy/${ES_SLM_POLICY} elastic`,
      ]);
      expect(seen[2].body).toEqual(snapshotSetupRequests(opts)[2].body);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    ["a good last snapshot", 3600, 7200, 1, 3600],
    ["a failed last snapshot", 7200, 600, 0, 7200],
    ["a first snapshot that failed", undefined, 600, 0, undefined],
  ] as const)("the status job publishes the SLM outcome like every backup job: %s", async (_what, okAgo, failAgo, success, age) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-es-slm-"));
    try {
      const now = Date.now();
      slmAnswer = slm(okAgo && now - okAgo * 1000, failAgo && now - failAgo * 1000);
      const step = renderEsSnapshotStep({ ...opts, status: { region: "eu-west-1", hostLabel: "dev-es-master-0", metricNamespace: "Opsfleet/Hosts/dev" } }, base);
      const relocate = (s: string) => s.split("/etc/elasticsearch").join(dir);
      for (const f of step.files) {
        fs.mkdirSync(path.dirname(relocate(f.path)), { recursive: true });
        fs.writeFileSync(relocate(f.path), relocate(f.content), { mode: 0o700 });
      }
      fs.writeFileSync(path.join(dir, "opsfleet/elastic.curlrc"), 'user = "elastic:pw"\n', { mode: 0o600 });
      // the AWS CLI stood in for: records the put-metric-data call
      fs.mkdirSync(path.join(dir, "bin"));
      fs.writeFileSync(path.join(dir, "bin/aws"), `#!/bin/sh\nprintf '%s\\n' "$@" > ${dir}/aws.args\n`, { mode: 0o755 });
      const child = spawn("bash", [relocate(ES_BACKUP_PATHS.slmStatus)], { env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` } });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      await new Promise<number | null>((r) => child.on("close", r));
      expect({ stderr, calls: seen.map((x) => `${x.method} ${x.url} ${x.user}`) }).toEqual({ stderr: expect.any(String), calls: [`GET /_slm/policy/${ES_SLM_POLICY} elastic`] });
      expect({ stderr, aws: fs.existsSync(path.join(dir, "aws.args")) }).toEqual({ stderr: expect.any(String), aws: true });
      const args = fs.readFileSync(path.join(dir, "aws.args"), "utf8").split("\n");
      expect(args.slice(0, 4)).toEqual(["cloudwatch", "put-metric-data", "--namespace", "Opsfleet/Hosts/dev"]);
      const data = JSON.parse(args[5]) as { MetricName: string; Value: number; Dimensions: { Name: string; Value: string }[] }[];
      expect(data[0].Dimensions).toEqual([{ Name: "System", Value: "elasticsearch" }, { Name: "Job", Value: "slm" }, { Name: "Host", Value: "dev-es-master-0" }]);
      expect(data.find((m) => m.MetricName === "BackupSuccess")!.Value).toBe(success);
      const published = data.find((m) => m.MetricName === "LastGoodBackupAgeSeconds")?.Value;
      if (age === undefined) expect(published).toBeUndefined();
      else expect(Math.abs(published! - age)).toBeLessThanOrEqual(5);
      expect(stderr.includes("the last snapshot failed")).toBe(success === 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("no snapshot yet: the overdue clock runs from the policy's creation (age only, no run reported), and one first snapshot starts now", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-es-slm0-"));
    try {
      slmAnswer = slm();
      const step = renderEsSnapshotStep({ ...opts, status: { region: "eu-west-1", hostLabel: "dev-es-master-0", metricNamespace: "Opsfleet/Hosts/dev" } }, base);
      const relocate = (s: string) => s.split("/etc/elasticsearch").join(dir);
      for (const f of step.files) {
        fs.mkdirSync(path.dirname(relocate(f.path)), { recursive: true });
        fs.writeFileSync(relocate(f.path), relocate(f.content), { mode: 0o700 });
      }
      fs.mkdirSync(path.dirname(relocate(ES_BACKUP_PATHS.scheduleDir + "/x")), { recursive: true });
      fs.writeFileSync(path.join(dir, "opsfleet/elastic.curlrc"), 'user = "elastic:pw"\n', { mode: 0o600 });
      fs.mkdirSync(path.join(dir, "bin"));
      fs.writeFileSync(path.join(dir, "bin/aws"), `#!/bin/sh\nprintf '%s\\n' "$@" > ${dir}/aws.args\n`, { mode: 0o755 });
      const run = async () => {
        const child = spawn("bash", [relocate(ES_BACKUP_PATHS.slmStatus)], { env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` } });
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        return { status: await new Promise<number | null>((r) => child.on("close", r)), stderr };
      };
      expect(await run()).toEqual({ status: 0, stderr: "" });
      expect(seen.map((x) => `${x.method} ${x.url}`)).toEqual([`GET /_slm/policy/${ES_SLM_POLICY}`, `POST /_slm/policy/${ES_SLM_POLICY}/_execute`]);
      const data = JSON.parse(fs.readFileSync(path.join(dir, "aws.args"), "utf8").split("\n")[5]) as { MetricName: string; Value: number }[];
      expect(data.map((m) => m.MetricName)).toEqual(["LastGoodBackupAgeSeconds"]);
      expect(Math.abs(data[0].Value - (Date.now() / 1000 - 1764460000))).toBeLessThanOrEqual(5);
      seen = [];
      expect(await run()).toEqual({ status: 0, stderr: "" });
      expect(seen.map((x) => `${x.method} ${x.url}`)).toEqual([`GET /_slm/policy/${ES_SLM_POLICY}`]); // started once only
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [{ minCount: 10, maxCount: 3 }, /backup\.elasticsearch\.minCount: 10 must be a whole number from 1 to maxCount \(3\); SLM rejects it/],
    [{ basePath: "/elasticsearch/" }, /basePath: invalid value/],
    [{ schedule: { intervalHours: 5, startTime: "01:30" } }, /backup\.elasticsearch\.intervalHours: invalid value 5/],
  ])("rejects %j", (bad, msg) => {
    expect(() => snapshotSetupRequests({ ...opts, ...(bad as Partial<EsSnapshotOptions>) })).toThrow(msg);
  });
});
