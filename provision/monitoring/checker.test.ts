/**
 * The real checker script, run by bash on this machine with the real Debian AWS CLI, against a
 * local Elasticsearch stand-in (green, yellow, red) and the CloudWatch stand-in. (Redis and the
 * database are checked on test hosts: test/hosts/monitoring.test.ts, provision/monitoring/database.hosts.test.ts.)
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startCloudWatchStandIn, type CloudWatchStandIn } from "../../test/hosts/cloudwatch-standin";
import { HEALTH_CHECKER_SCRIPT } from "./checker-script";
import { HOST_METRICS, type HostMetricName } from "./metrics";
import { renderHealthConf, type HealthCheckParams } from "./steps";
import { hostMetricsNamespace } from "./namespace";

const AWS_ENV = {
  PATH: "/usr/sbin:/usr/bin:/sbin:/bin", AWS_ACCESS_KEY_ID: "AKIDSTANDIN", AWS_SECRET_ACCESS_KEY: "standin",
  AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null", AWS_EC2_METADATA_DISABLED: "true",
};

function runChecker(conf: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", [path.join(dir, "check"), conf], { env: AWS_ENV, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }));
  });
}

let dir: string;
let cw: CloudWatchStandIn;
let es: http.Server;
let esState = { status: "green", unassigned_shards: 0 };
const esAuth: string[] = [];

beforeAll(async () => {
  if (!existsSync("/usr/bin/aws")) throw new Error("the checker publishes with Debian's awscli: apt-get install awscli (CI installs it in .ci/run)");
  dir = mkdtempSync(path.join(tmpdir(), "opsfleet-health-"));
  writeFileSync(path.join(dir, "check"), HEALTH_CHECKER_SCRIPT, { mode: 0o700 });
  cw = await startCloudWatchStandIn();
  es = http.createServer((req, res) => {
    esAuth.push(String(req.headers.authorization ?? ""));
    res.setHeader("Content-Type", "application/json");
    if (req.url?.startsWith("/_cluster/health")) res.end(JSON.stringify({ cluster_name: "dev-logs", ...esState, number_of_nodes: 3 }));
    else if (req.url?.startsWith("/_nodes/_local/stats/jvm,fs")) {
      res.end(JSON.stringify({ nodes: { abc: { jvm: { mem: { heap_used_percent: 42 } }, fs: { total: { total_in_bytes: 1000, free_in_bytes: 300, available_in_bytes: 250 } } } } }));
    } else res.writeHead(404).end("{}");
  });
  await new Promise<void>((r) => es.listen(0, "127.0.0.1", () => r()));
  writeFileSync(path.join(dir, "elastic.curlrc"), 'user = "elastic:s3cret pa\\"ss"\n', { mode: 0o600 });
}, 30_000);

afterAll(async () => {
  await cw?.close();
  await new Promise((r) => es?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const params = (over: Partial<HealthCheckParams> = {}): HealthCheckParams => ({
  group: "elasticsearch", stack: "dev", host: "dev-es-data-1", region: "eu-west-1", endpointUrl: cw.url, diskMounts: ["/", dir],
  elasticsearch: { cluster: "dev-es", url: `http://127.0.0.1:${(es.address() as AddressInfo).port}`, curlrc: path.join(dir, "elastic.curlrc") },
  ...over,
});

async function check(p: HealthCheckParams) {
  const conf = path.join(dir, "health.conf");
  writeFileSync(conf, renderHealthConf(p), { mode: 0o600 });
  const since = Date.now();
  const r = await runChecker(conf);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const latest = (name: HostMetricName, dims: Record<string, string> = {}) => cw.find(name, dims, since).map((d) => d.value);
  return { r, latest };
}

test("Elasticsearch green, yellow, red: status as 0/1/2, unassigned shards, heap and disk use, published through the AWS CLI", async () => {
  const cluster = { Stack: "dev", Cluster: "dev-es" };
  esState = { status: "green", unassigned_shards: 0 };
  const green = await check(params());
  expect(green.latest("EsNodeUp", { Stack: "dev", Host: "dev-es-data-1" })).toEqual([1]);
  expect(green.latest("EsClusterStatus", cluster)).toEqual([0]);
  expect(green.latest("EsUnassignedShards", cluster)).toEqual([0]);
  expect(green.latest("EsHeapUsedPercent", { Host: "dev-es-data-1" })).toEqual([42]);
  expect(green.latest("EsDiskUsedPercent", { Host: "dev-es-data-1" })).toEqual([75]);

  esState = { status: "yellow", unassigned_shards: 5 };
  const yellow = await check(params());
  expect(yellow.latest("EsClusterStatus", cluster)).toEqual([1]);
  expect(yellow.latest("EsUnassignedShards", cluster)).toEqual([5]);

  esState = { status: "red", unassigned_shards: 12 };
  const red = await check(params());
  expect(red.latest("EsClusterStatus", cluster)).toEqual([2]);
  expect(red.latest("EsUnassignedShards", cluster)).toEqual([12]);

  // credentials came from the curl config file (basic auth), never from the command line
  expect(new Set(esAuth)).toEqual(new Set([`Basic ${Buffer.from('elastic:s3cret pa"ss').toString("base64")}`]));
  expect(cw.rejected).toEqual([]);
  // every datum is in our namespace, with the unit and dimensions of the metric table
  for (const d of cw.data) {
    const m = HOST_METRICS[d.name as HostMetricName];
    expect(m).toBeDefined();
    expect(d.namespace).toBe(hostMetricsNamespace("dev"));
    expect(d.unit).toBe(m.unit);
    expect(Object.keys(d.dimensions)).toEqual([...m.dimensions]);
  }
}, 120_000);

test("an unreachable node: EsNodeUp 0 and no cluster view from this host (the others report it)", async () => {
  const { latest } = await check(params({ elasticsearch: { cluster: "dev-es", url: "http://127.0.0.1:9", curlrc: path.join(dir, "elastic.curlrc") } }));
  expect(latest("EsNodeUp")).toEqual([0]);
  expect(latest("EsClusterStatus")).toEqual([]);
}, 60_000);

test("disk use of every configured mount, as df reports it", async () => {
  const { latest, r } = await check(params());
  const df = Number(/(\d+)%/.exec(await new Promise<string>((res) => execFile("df", ["-P", dir], (_e, out) => res(out.split("\n")[1])))!)![1]);
  expect(latest("DiskUsedPercent", { MountPoint: dir })).toEqual([df]);
  expect(latest("DiskUsedPercent", { MountPoint: "/" })).toHaveLength(1);
  expect(r.stdout).toContain(`DiskUsedPercent ${df} MountPoint=${dir}`);
  // the heartbeat the "checker silent" alarm watches
  expect(latest("HostCheckerUp")).toEqual([1]);
}, 60_000);

test("a slow system cannot make the run outlive its unit: the budget cuts the query, the rest is published, the cut query is not", async () => {
  // an Elasticsearch that accepts the connection and never answers
  const slow = http.createServer(() => undefined);
  await new Promise<void>((r) => slow.listen(0, "127.0.0.1", () => r()));
  try {
    const conf = path.join(dir, "slow.conf");
    const p = params({ elasticsearch: { cluster: "dev-es", url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`, curlrc: path.join(dir, "elastic.curlrc") } });
    writeFileSync(conf, `${renderHealthConf(p)}\nCHECK_BUDGET_SECONDS=2\n`, { mode: 0o600 });
    const since = Date.now();
    const r = await runChecker(conf);
    expect(r.code).toBe(0);
    expect(Date.now() - since).toBeLessThan(15_000);
    const latest = (name: HostMetricName) => cw.find(name, {}, since).map((d) => d.value);
    expect(latest("HostCheckerUp")).toEqual([1]);
    expect(latest("DiskUsedPercent").length).toBeGreaterThan(0);
    // the query did not fail, it ran out of time: no EsNodeUp 0 for a node that may be fine
    expect(latest("EsNodeUp")).toEqual([]);
    expect(r.stderr).toContain("EsNodeUp: skipped (out of time)");
  } finally {
    slow.closeAllConnections();
    await new Promise((r) => slow.close(r));
  }
}, 60_000);
